"""Every agency knows where its records stand: what a peer refused (rejected or stale) on the
agency's side, the hub's ledger per agency, and who may see which of it."""

import datetime as dt

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from registry import services as registry_services
from registry.models import UseCase
from sync import ledger, services
from sync.models import (
    AnsweredRejection,
    Direction,
    Peer,
    PeerExchange,
    PeerToken,
    Rejection,
    SyncRun,
)
from tests.factories import AgencyFactory, UseCaseFactory, UserFactory, valid_record
from tests.sync.conftest import AGENCY, envelope
from tests.sync.fake_peer import PEER_URL, FakeHub

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-passphrase-for-tests"
USE_CASES = reverse("admin:registry_usecase_changelist")


@pytest.fixture
def hub():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield FakeHub(mocked)


@pytest.fixture
def peer(db):
    # Who the hub is comes from this node's configuration, never from its GET node.
    return Peer.objects.create(name="hub", url=PEER_URL, token="secret-token", agency="EMRN-HUB")


def publish(**overrides) -> UseCase:
    return registry_services.save_use_case(
        UseCaseFactory.build(publication_level="network", **overrides)
    )


def sync(peer):
    peer.refresh_from_db()
    return services.sync_peer(peer, force=True)


def agency_admin(code: str, username: str):
    AgencyFactory(code=code) if code != "EMA" else None
    user, _ = registry_services.create_agency_admin(
        username=username, agency_code=code, password=PASSWORD
    )
    return user


@pytest.fixture
def ema_admin(home_agency):
    return agency_admin("EMA", "ema-admin")


@pytest.fixture
def bfarm_admin(other_agency):
    user, _ = registry_services.create_agency_admin(
        username="bfarm-admin", agency_code=other_agency.code, password=PASSWORD
    )
    return user


# --- the agency's side: refusals, remedies, "publish again" --------------------------------------


def test_a_stale_answer_is_remembered_with_the_version_the_hub_holds(hub, peer, home_agency):
    record = publish()
    hub.status_for = lambda e: "stale"
    hub.stored_version_for = lambda e: 7
    sync(peer)
    refusal = Rejection.objects.get()
    assert (refusal.uid, refusal.version, refusal.status, refusal.peer_version) == (
        record.uid,
        1,
        "stale",
        7,
    )
    assert "holds version 7" in refusal.errors["version"][0]


def test_publish_again_passes_the_hubs_version_and_settles_the_refusal(hub, peer, home_agency):
    record = publish()
    hub.status_for = lambda e: "stale"
    hub.stored_version_for = lambda e: 7
    sync(peer)
    registry_services.publish_again(UseCase.objects.get(pk=record.pk), above=7)
    assert UseCase.objects.get(pk=record.pk).version == 8
    hub.status_for = lambda e: "applied"
    sync(peer)
    assert hub.received[-1]["version"] == 8
    assert not Rejection.objects.exists()


def test_the_record_page_says_what_was_refused_and_what_to_do(client, hub, peer, ema_admin):
    record = publish()
    hub.status_for = lambda e: "stale"
    hub.stored_version_for = lambda e: 3
    sync(peer)
    client.force_login(ema_admin)
    page = client.get(reverse("admin:registry_usecase_change", args=[record.pk])).content.decode()
    assert "Refused by EMRN-HUB" in page
    assert "Publish again" in page


def test_the_list_filters_records_needing_attention(client, hub, peer, ema_admin):
    refused, fine = publish(title="Refused one"), publish(title="Fine one")
    hub.status_for = lambda e: "rejected" if e["uid"] == str(refused.uid) else "applied"
    sync(peer)
    client.force_login(ema_admin)
    listed = client.get(f"{USE_CASES}?attention=yes").context["cl"].result_list
    assert [use_case.title for use_case in listed] == ["Refused one"]
    assert fine.title not in {use_case.title for use_case in listed}


def test_the_publish_again_action_numbers_above_the_network(client, hub, peer, ema_admin):
    record = publish()
    hub.status_for = lambda e: "stale"
    hub.stored_version_for = lambda e: 5
    sync(peer)
    client.force_login(ema_admin)
    client.post(
        USE_CASES,
        {"action": "publish_again_action", "_selected_action": [record.pk], "origin": "own"},
    )
    assert UseCase.objects.get(pk=record.pk).version == 6


# --- who sees the agency's ledger ---------------------------------------------------------------


@pytest.mark.parametrize("page", ["sync_syncrun", "sync_rejection"])
def test_an_agency_admin_sees_the_nodes_sync_runs_and_refusals(client, ema_admin, page, peer):
    SyncRun.objects.create(peer=peer, direction=Direction.PUSH)
    Rejection.objects.create(peer=peer, origin="EMA", uid="6f1c0a52-8a4b-4c9e-9d62-1b2c3d4e5f60",
                             version=1, errors={"summary": ["Too long."]})  # fmt: skip
    client.force_login(ema_admin)
    assert client.get(reverse(f"admin:{page}_changelist")).status_code == 200


@pytest.mark.parametrize("page", ["sync_syncrun", "sync_rejection"])
def test_another_agencys_admin_sees_none_of_it(client, bfarm_admin, page):
    client.force_login(bfarm_admin)
    assert client.get(reverse(f"admin:{page}_changelist")).status_code == 403


def test_staff_outside_the_agency_admins_group_see_none_of_it(client, home_agency):
    staff = UserFactory(username="plain-staff", agency=home_agency, is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("admin:sync_syncrun_changelist")).status_code == 403


def test_a_superuser_sees_the_ledger(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:sync_syncrun_changelist")).status_code == 200
    assert client.get(reverse("admin:sync_rejection_changelist")).status_code == 200


def test_create_agency_admin_puts_the_admin_in_the_group(ema_admin):
    assert ema_admin.has_perm("sync.view_rejection")
    assert ema_admin.has_perm("registry.change_usecase")
    assert not ema_admin.has_perm("sync.change_peer")


# --- the hub's ledger per agency -----------------------------------------------------------------


def test_the_hub_records_each_push_with_counts_and_the_refusals_it_answered(
    hub_node, agency_token, push
):
    applied = envelope(version=2)
    push(agency_token, [applied])
    stale = {**applied, "version": 1}
    invalid = envelope(record=valid_record(stage="live"))
    results = push(agency_token, [stale, invalid, envelope()]).json()["results"]
    assert [r["status"] for r in results] == ["stale", "rejected", "applied"]
    assert results[0]["stored_version"] == 2
    latest = PeerExchange.objects.filter(agency=AGENCY).order_by("-at", "-pk").first()
    assert (latest.envelopes, latest.applied, latest.stale, latest.rejected) == (3, 1, 1, 1)
    open_ = {(r.uid.hex, r.status) for r in AnsweredRejection.objects.filter(agency=AGENCY)}
    assert open_ == {
        (applied["uid"].replace("-", ""), "stale"),
        (invalid["uid"].replace("-", ""), "rejected"),
    }
    stored = AnsweredRejection.objects.get(status="stale")
    assert (stored.version, stored.stored_version) == (1, 2)


def test_a_later_push_that_gets_through_settles_the_hubs_refusal(hub_node, agency_token, push):
    first = envelope(version=2)
    push(agency_token, [first])
    push(agency_token, [{**first, "version": 1}])
    assert AnsweredRejection.objects.count() == 1
    record = valid_record(summary="Corrected.")
    push(agency_token, [envelope(uid=first["uid"], version=3, record=record)])
    assert not AnsweredRejection.objects.exists()


def test_a_pull_that_carries_changes_is_in_the_ledger_an_empty_one_is_not(
    hub_node, agency_token, push, pull
):
    push(agency_token, [envelope(), envelope()])
    pull(agency_token)
    pulled = PeerExchange.objects.get(direction=Direction.PULL)
    assert (pulled.agency, pulled.envelopes) == (AGENCY, 2)
    pull(agency_token, since=pull(agency_token).json()["next"])  # a full page, then an empty one
    assert PeerExchange.objects.filter(direction=Direction.PULL).count() == 2  # not 3


def test_health_is_recent_contact_and_no_open_refusal(hub_node, agency_token, push):
    assert ledger.agency_health(AGENCY).status == "never"
    first = envelope(version=2)
    push(agency_token, [first])
    assert ledger.agency_health(AGENCY).status == "healthy"
    push(agency_token, [{**first, "version": 1}])
    assert ledger.agency_health(AGENCY).status == "attention"
    AnsweredRejection.objects.all().delete()
    later = timezone.now() + dt.timedelta(days=1)
    assert ledger.agency_health(AGENCY, now=later).status == "attention"  # out of touch
    PeerToken.objects.all().update(last_used=None)
    assert ledger.agency_health(AGENCY).status == "never"


def test_old_exchanges_are_pruned_open_refusals_kept(hub_node, agency_token, push, settings):
    first = envelope(version=2)
    push(agency_token, [first, {**first, "version": 1}])  # the later answer, stale, decides
    later = timezone.now() + dt.timedelta(days=settings.SYNC_LEDGER_DAYS + 1)
    assert ledger.prune(now=later) == 1
    assert not PeerExchange.objects.exists()
    assert AnsweredRejection.objects.count() == 1


def test_the_hubs_agency_status_page_lists_agencies_not_the_hub(client, hub_node, agency_token):
    AgencyFactory(code="EMRN-HUB")
    AgencyFactory(code=AGENCY)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:sync_agencysyncstatus_changelist"))
    codes = {agency.code for agency in page.context["cl"].result_list}
    assert AGENCY in codes and "EMRN-HUB" not in codes


def test_on_the_hub_an_agencys_admin_sees_only_its_own_rows(client, hub_node, agency_token, push):
    push(agency_token, [envelope()])
    PeerExchange.objects.create(agency="FR-ANSM", direction=Direction.PUSH, envelopes=1)
    AgencyFactory(code=AGENCY)
    user, _ = registry_services.create_agency_admin(
        username="bfarm", agency_code=AGENCY, password=PASSWORD
    )
    client.force_login(user)
    rows = client.get(reverse("admin:sync_peerexchange_changelist")).context["cl"].result_list
    assert {row.agency for row in rows} == {AGENCY}


def test_the_hubs_agency_page_shows_when_the_agency_synced_and_its_health(
    client, hub_node, agency_token, push, settings
):
    settings.CATALOGUE_CACHE_SECONDS = 0
    AgencyFactory(code=AGENCY)
    page_url = reverse("catalogue:agency", args=[AGENCY])
    assert "Never synchronised" in client.get(page_url).content.decode()
    first = envelope(version=2)
    push(agency_token, [first])
    assert "Healthy: in touch within its interval" in client.get(page_url).content.decode()
    push(agency_token, [{**first, "version": 1}])
    assert "1 record refused by the hub" in client.get(page_url).content.decode()


def test_a_push_that_leaves_a_refusal_queues_the_e_mail_digest(
    hub, peer, home_agency, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        "sync.notices.send_rejection_digest.delay", lambda *a, **k: queued.append(1)
    )
    publish()
    hub.status_for = lambda e: "applied"
    with django_capture_on_commit_callbacks(execute=True):
        sync(peer)
    assert queued == []
    publish(title="Refused")
    hub.status_for = lambda e: "rejected"
    with django_capture_on_commit_callbacks(execute=True):
        sync(peer)
    assert queued == [1]


def test_a_record_never_shared_says_so_instead_of_nothing_refused(client, ema_admin):
    draft = UseCaseFactory(publication_level="draft")
    client.force_login(ema_admin)
    page = client.get(reverse("admin:registry_usecase_change", args=[draft.pk])).content.decode()
    assert "Not shared: this level stays at this agency." in page
    assert "Nothing refused" not in page


# --- after a restore: what the network holds and this node lost ---------------------------------


def test_a_record_the_network_holds_and_this_node_lost_is_a_refusal_to_resolve(
    hub, peer, home_agency
):
    lost = envelope(origin="EMA", version=5, record=valid_record(title="Created after backup"))
    hub.feed.append(lost)
    sync(peer)
    refusal = Rejection.objects.get(uid=lost["uid"])
    assert (refusal.status, refusal.version, refusal.peer_version) == ("stale", 0, 5)
    assert "this node holds no such record" in refusal.errors["version"][0]


def test_withdrawing_from_the_network_what_this_node_lost_settles_it(client, hub, peer, ema_admin):
    lost = envelope(origin="EMA", version=5, record=valid_record(title="Created after backup"))
    hub.feed.append(lost)
    sync(peer)
    client.force_login(ema_admin)
    refusal = Rejection.objects.get(uid=lost["uid"])
    page = client.get(reverse("admin:sync_rejection_change", args=[refusal.pk])).content.decode()
    assert "This node does not hold this record" in page
    client.post(
        reverse("admin:sync_rejection_changelist"),
        {"action": "resolve_action", "_selected_action": [refusal.pk]},
    )
    hub.status_for = lambda e: "applied"
    sync(peer)
    sent = [e for e in hub.received if e["uid"] == lost["uid"]]
    assert [(e["version"], e["deleted"]) for e in sent] == [(6, True)]
    assert not Rejection.objects.filter(uid=lost["uid"]).exists()


def test_publish_again_resends_a_withdrawal_the_hub_answered_stale(hub, peer, home_agency):
    record = publish()
    sync(peer)
    registry_services.withdraw(UseCase.objects.get(pk=record.pk))  # v2, a tombstone
    hub.status_for = lambda e: "stale"
    hub.stored_version_for = lambda e: 3
    sync(peer)
    registry_services.publish_again(UseCase.objects.get(pk=record.pk), above=3)
    hub.status_for = lambda e: "applied"
    sync(peer)
    assert (hub.received[-1]["version"], hub.received[-1]["deleted"]) == (4, True)
    assert not Rejection.objects.exists()


def test_a_deletion_answered_stale_is_sent_again_from_the_rejections_page(
    client, hub, peer, ema_admin
):
    record = publish()
    sync(peer)
    uid = record.uid
    registry_services.delete_use_case(UseCase.objects.get(pk=record.pk))
    hub.status_for = lambda e: "stale"
    hub.stored_version_for = lambda e: 3
    sync(peer)
    refusal = Rejection.objects.get(uid=uid)
    client.force_login(ema_admin)
    client.post(
        reverse("admin:sync_rejection_changelist"),
        {"action": "resolve_action", "_selected_action": [refusal.pk]},
    )
    hub.status_for = lambda e: "applied"
    sync(peer)
    assert (hub.received[-1]["version"], hub.received[-1]["deleted"]) == (4, True)


def test_another_agencys_admin_sees_nothing_of_the_refusals_on_a_record(
    client, hub, peer, ema_admin, bfarm_admin
):
    record = publish(title="Refused one")
    hub.status_for = lambda e: "rejected"
    sync(peer)
    client.force_login(bfarm_admin)
    page = client.get(reverse("admin:registry_usecase_change", args=[record.pk]))
    assert page.status_code == 200
    assert "Refused by" not in page.content.decode()
    listed = client.get(USE_CASES, {"origin": "all"}).content.decode()
    assert "attention=yes" not in listed


def test_the_hubs_ledger_pages_are_not_offered_on_an_agency_node(client, ema_admin):
    client.force_login(ema_admin)
    for page in ("sync_peerexchange", "sync_answeredrejection", "sync_agencysyncstatus"):
        assert client.get(reverse(f"admin:{page}_changelist")).status_code == 403


def test_network_status_reads_the_stored_level_when_a_refused_save_is_shown_again(
    client, ema_admin
):
    draft = UseCaseFactory(publication_level="draft", summary="", title="Still a draft")
    client.force_login(ema_admin)
    url = reverse("admin:registry_usecase_change", args=[draft.pk])
    response = client.post(url, {"title": "Still a draft", "language": "en",
                                 "publication_level": "public"})  # fmt: skip
    assert response.status_code == 200  # refused: it lacks what publishing needs
    assert "Not shared: this level stays at this agency." in response.content.decode()


def test_making_an_agency_admin_adds_the_groups_permissions_and_keeps_those_given_by_hand(
    home_agency,
):
    from django.contrib.auth.models import Permission

    group = registry_services.agency_admins_group()
    by_hand = Permission.objects.get(content_type__app_label="sync", codename="view_peer")
    group.permissions.add(by_hand)
    user = agency_admin("EMA", "second-admin")  # seed_demo and create_agency_admin run it again
    held = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert ("sync", "view_peer") in held
    wanted = {tuple(name.split(".")) for name in registry_services.AGENCY_ADMIN_PERMISSIONS}
    assert wanted <= held
    assert user.has_perms(["webhooks.add_subscription", "webhooks.view_delivery", "sync.view_peer"])
