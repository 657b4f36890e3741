"""Who a peer is comes from this node's configuration, never from the peer's own words (issue 12.1),
what a peer may send is bounded (the version leap), and the faults around it: federation answers
that are never HTML (12.7), runs a killed worker left open (12.8), token rotation with an overlap
and the outbound token never shown in admin."""

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from registry.models import UseCase
from sync import auth, services
from sync.models import Peer, PeerToken, SyncRun
from tests.sync.conftest import AGENCY, HUB, envelope
from tests.sync.fake_peer import PEER_URL, FakeHub

pytestmark = pytest.mark.django_db
MAX_INT = 2147483647


def reconcile_peer(**overrides) -> Peer:
    """The hub's peer row for an agency it pulls from (docs/protocol.md: reconcile)."""
    fields = {"name": "bfarm", "url": PEER_URL, "token": "t", "push": False, "agency": AGENCY}
    return Peer.objects.create(**{**fields, **overrides})


def pull(peer: Peer) -> SyncRun:
    peer.refresh_from_db()
    return services.sync_peer(peer, force=True).runs[-1]


# 12.1: the forged identity


def test_the_hub_refuses_an_agency_peer_that_claims_to_be_a_hub_and_applies_nothing(
    mocked, hub_node
):
    impostor = FakeHub(mocked, agency="EMA", role="hub")
    impostor.feed = [envelope(origin="EMA", version=MAX_INT)]
    run = pull(reconcile_peer())
    assert "IdentityMismatch" in run.error and "EMA (hub)" in run.error
    assert (run.applied, run.pages) == (0, 0)
    assert not UseCase.objects.exists()
    assert impostor.since_seen == [], "nothing was even asked of it"


def test_a_peer_claiming_the_configured_agency_still_sends_only_that_agencys_records(
    mocked, hub_node
):
    peer = FakeHub(mocked, agency=AGENCY, role="agency")
    peer.feed = [envelope(origin="EMA"), envelope(origin=AGENCY)]
    run = pull(reconcile_peer())
    assert (run.applied, run.rejected) == (1, 1)
    assert list(UseCase.objects.values_list("origin_id", flat=True)) == [AGENCY]


def test_an_agency_peer_without_a_configured_agency_is_not_pulled(mocked, hub_node):
    FakeHub(mocked, agency=AGENCY, role="agency").feed = [envelope(origin=AGENCY)]
    run = pull(reconcile_peer(agency=""))
    assert "not configured" in run.error
    assert not UseCase.objects.exists()


def test_the_hub_never_treats_a_peer_as_a_hub_even_if_configured_so(mocked, hub_node):
    FakeHub(mocked, agency="EMA", role="hub").feed = [envelope(origin="FR-ANSM")]
    run = pull(reconcile_peer(agency="", role="hub"))
    assert "no peer of it may act as a hub" in run.error
    assert not UseCase.objects.exists()


def test_an_agency_nodes_hub_peer_that_says_it_is_an_agency_is_refused(mocked):
    FakeHub(mocked, agency="FR-ANSM", role="agency").feed = [envelope(origin="FR-ANSM")]
    peer = Peer.objects.create(name="hub", url=PEER_URL, token="t", push=False)
    run = pull(peer)
    assert "IdentityMismatch" in run.error
    assert not UseCase.objects.exists()


def test_a_configured_hub_agency_must_match_the_hubs_description(mocked):
    FakeHub(mocked, agency="OTHER-HUB", role="hub").feed = [envelope(origin="FR-ANSM")]
    peer = Peer.objects.create(name="hub", url=PEER_URL, token="t", push=False, agency=HUB)
    assert "OTHER-HUB" in pull(peer).error
    assert not UseCase.objects.exists()


def test_pulling_does_not_rewrite_the_configured_identity(mocked, hub_node):
    FakeHub(mocked, agency="EMA", role="hub")
    peer = reconcile_peer()
    pull(peer)
    peer.refresh_from_db()
    assert (peer.agency, peer.role) == (AGENCY, "")


# 12.1: a version far beyond the stored one


def test_a_version_far_beyond_none_stored_is_refused(hub_node, agency_token, push):
    results = push(agency_token, [envelope(version=MAX_INT)]).json()["results"]
    assert results[0]["status"] == "rejected" and "version" in results[0]["errors"]
    assert not UseCase.objects.exists()


def test_a_version_far_beyond_the_stored_one_is_refused_and_the_owner_keeps_editing(
    hub_node, agency_token, push, settings
):
    uid = uuid.uuid4()
    assert push(agency_token, [envelope(uid=uid, version=3)]).json()["results"][0]["status"] == (
        "applied"
    )
    leap = settings.SYNC_MAX_VERSION_LEAP
    far = push(agency_token, [envelope(uid=uid, version=3 + leap + 1)]).json()["results"][0]
    assert far["status"] == "rejected"
    assert UseCase.objects.get(uid=uid).version == 3
    near = push(agency_token, [envelope(uid=uid, version=3 + leap)]).json()["results"][0]
    assert near["status"] == "applied"


# 12.7: never HTML under /federation/


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/federation/v1/node", 405),
        ("put", "/federation/v1/node", 405),
        ("get", "/federation/v1/nothing-here", 404),
        ("post", "/federation/v1/nothing-here", 404),
        ("get", "/federation/v2/changes", 404),
        ("delete", "/federation/", 404),
    ],
)
def test_a_wrong_method_or_an_unknown_path_gets_a_problem_body(client, method, path, status):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_post_node_is_a_405_problem_even_with_csrf_checks_on(hub_node):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/federation/v1/node")
    assert response.status_code == 405
    assert response.json()["title"] == "Method not allowed"


# 12.8: runs left open by a killed worker


def test_a_run_left_open_after_its_lease_expired_is_closed_as_failed_by_the_next_cycle():
    peer = Peer.objects.create(name="hub", url=PEER_URL, token="t", enabled=False)
    past = timezone.now() - dt.timedelta(minutes=10)
    Peer.objects.filter(pk=peer.pk).update(lease_owner="dead", lease_expires_at=past)
    run = SyncRun.objects.create(peer=peer, direction="push", started=past)
    services.due_peer_ids()
    run.refresh_from_db()
    assert run.finished is not None and "Abandoned" in run.error
    assert not run.ok


def test_a_run_whose_worker_still_holds_the_lease_stays_open():
    peer = Peer.objects.create(name="hub", url=PEER_URL, token="t")
    services.acquire_lease(peer)
    run = SyncRun.objects.create(peer=peer, direction="pull", started=timezone.now())
    services.due_peer_ids()
    run.refresh_from_db()
    assert run.finished is None


def test_taking_over_an_expired_lease_closes_the_run_its_holder_left(mocked):
    FakeHub(mocked)
    peer = Peer.objects.create(name="hub", url=PEER_URL, token="t")
    past = timezone.now() - dt.timedelta(minutes=10)
    Peer.objects.filter(pk=peer.pk).update(lease_owner="dead", lease_expires_at=past)
    left = SyncRun.objects.create(peer=peer, direction="push", started=past)
    peer.refresh_from_db()
    assert services.sync_peer(peer, force=True).ok
    left.refresh_from_db()
    assert left.finished is not None and "Abandoned" in left.error


# Token rotation with an overlap


def test_a_rotated_token_and_its_predecessor_both_work_until_the_overlap_ends(settings):
    settings.PEER_TOKEN_OVERLAP_HOURS = 2
    _, old = auth.issue_token(agency=AGENCY)
    _, new, expiring = auth.rotate_token(agency=AGENCY)
    assert expiring == 1
    assert auth.authenticate(f"Bearer {old}").agency == AGENCY
    assert auth.authenticate(f"Bearer {new}").agency == AGENCY
    PeerToken.objects.filter(expires_at__isnull=False).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert auth.authenticate(f"Bearer {old}") is None
    assert auth.authenticate(f"Bearer {new}") is not None


def test_rotation_leaves_other_agencies_tokens_alone():
    _, other = auth.issue_token(agency="FR-ANSM")
    auth.rotate_token(agency=AGENCY)
    assert PeerToken.objects.get(agency="FR-ANSM").expires_at is None
    assert auth.authenticate(f"Bearer {other}") is not None


def test_issue_peer_token_rotate_prints_the_new_token_and_the_overlap(capsys, settings):
    settings.PEER_TOKEN_OVERLAP_HOURS = 5
    auth.issue_token(agency=AGENCY)
    call_command("issue_peer_token", AGENCY, "--rotate")
    lines = capsys.readouterr().out.strip().splitlines()
    assert "1 older token(s) of DE-BFARM stay valid for 5 hour(s)." in lines[0]
    assert auth.authenticate(f"Bearer {lines[-1]}").agency == AGENCY


# The outbound token in admin


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.org", "pw"))
    return client


def peer_form(peer: Peer, **changes) -> dict:
    data = {"name": peer.name, "url": peer.url, "agency": peer.agency, "role": peer.role,
            "token": "", "push": "on", "pull": "on", "enabled": "on"}  # fmt: skip
    return {**data, **changes}


def test_the_peer_page_never_shows_the_outbound_token(admin_client):
    peer = Peer.objects.create(name="hub", url=PEER_URL, token="the-secret-token-value")
    page = admin_client.get(f"/admin/sync/peer/{peer.pk}/change/").content.decode()
    assert 'name="token"' in page
    assert "the-secret-token-value" not in page


def test_saving_the_peer_with_a_blank_token_keeps_it_and_a_new_one_replaces_it(admin_client):
    peer = Peer.objects.create(name="hub", url=PEER_URL, token="old-token")
    url = f"/admin/sync/peer/{peer.pk}/change/"
    assert admin_client.post(url, peer_form(peer, name="hub2")).status_code == 302
    peer.refresh_from_db()
    assert (peer.name, peer.token) == ("hub2", "old-token")
    admin_client.post(url, peer_form(peer, token="new-token"))
    peer.refresh_from_db()
    assert peer.token == "new-token"


def test_an_agency_peer_added_on_the_hub_must_name_its_agency(admin_client, hub_node):
    data = {"name": "bfarm", "url": PEER_URL, "agency": "", "role": "", "token": "t",
            "pull": "on", "enabled": "on"}  # fmt: skip
    page = admin_client.post("/admin/sync/peer/add/", data).content.decode()
    assert "Name the agency this peer is." in page
    assert not Peer.objects.exists()


def test_a_peer_added_on_an_agency_node_must_choose_its_role(admin_client):
    data = {"name": "mirror", "url": PEER_URL, "agency": "", "role": "", "token": "t",
            "pull": "on", "enabled": "on"}  # fmt: skip
    page = admin_client.post("/admin/sync/peer/add/", data).content.decode()
    assert "Choose the peer&#x27;s role: hub or agency." in page
    assert not Peer.objects.exists()
    assert admin_client.post("/admin/sync/peer/add/", {**data, "role": "hub"}).status_code == 302


def test_the_peer_made_from_hub_url_is_the_hub_by_configuration(settings):
    settings.HUB_URL, settings.HUB_TOKEN = PEER_URL, "t"
    assert services.hub_peer_from_settings().role == "hub"
