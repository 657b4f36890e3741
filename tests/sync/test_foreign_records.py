"""Leaked-token clean-up (issue 12): an agency lists what the hub serves under its origin that it
never had, and tombstones it through the normal push, from the admin (an agency admin, not a
superuser) or with `manage.py tombstone_foreign_records`. The hub is faked at the HTTP seam
(tests/sync/fake_peer.py); tests/e2e/test_foreign_records_e2e.py runs the real one."""

import io

import pytest
import responses
from django.core.management import call_command
from django.urls import reverse

from registry import services as registry_services
from registry.models import FeedEntry, UseCase
from sync import foreign, services
from sync.models import Peer, Rejection
from tests.factories import UseCaseFactory, valid_record
from tests.sync.conftest import envelope
from tests.sync.fake_peer import PEER_URL, FakeHub

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-passphrase-for-tests"
FOREIGN = reverse("admin:sync_foreignrecord_changelist")


@pytest.fixture
def hub():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield FakeHub(mocked)


@pytest.fixture
def peer(db):
    return Peer.objects.create(name="hub", url=PEER_URL, token="secret-token", role="hub")


@pytest.fixture
def ema_admin(home_agency):
    user, _ = registry_services.create_agency_admin(
        username="ema-admin", agency_code="EMA", password=PASSWORD
    )
    return user


def sync(peer):
    peer.refresh_from_db()
    return services.sync_peer(peer, force=True)


def forged(version=7, **fields):
    """A record of EMA that someone pushed to the hub with EMA's leaked token."""
    return envelope(origin="EMA", version=version, record=valid_record(title="Forged"), **fields)


def test_the_hub_serving_a_record_of_ours_we_never_had_is_listed_and_nothing_else(
    hub, peer, home_agency
):
    mine = registry_services.save_use_case(UseCaseFactory.build(publication_level="network"))
    stranger = forged()
    hub.feed += [
        stranger,
        forged(uid=mine.uid, version=5),  # we hold it at version 1 (after a restore): not foreign
        envelope(origin="EMA", version=3, deleted=True),  # a deletion: nothing left to clean up
    ]
    sync(peer)
    assert Rejection.objects.count() == 3, "all three are divergences"
    assert [(str(r.uid), r.peer_version) for r in foreign.foreign_records()] == [
        (stranger["uid"], 7)
    ]


def test_an_agency_admin_tombstones_it_through_the_hub_and_it_is_settled(
    client, hub, peer, ema_admin
):
    stranger = forged(version=7)
    hub.feed.append(stranger)
    sync(peer)
    client.force_login(ema_admin)
    assert not ema_admin.is_superuser
    page = client.get(FOREIGN).content.decode()
    assert stranger["uid"] in page

    answer = client.post(
        FOREIGN,
        {"action": "tombstone_action", "_selected_action": [foreign.foreign_records().get().pk]},
        follow=True,
    )
    assert "1 tombstone written" in answer.content.decode()
    sync(peer)
    sent = [(e["version"], e["deleted"]) for e in hub.received if e["uid"] == stranger["uid"]]
    assert sent == [(8, True)], "one above the hub's version, within SYNC_MAX_VERSION_LEAP"
    assert not foreign.foreign_records().exists()
    assert not Rejection.objects.exists()
    assert not UseCase.objects.filter(uid=stranger["uid"]).exists()


def test_another_agencys_admin_sees_none_of_it(client, hub, peer, home_agency, other_agency):
    hub.feed.append(forged())
    sync(peer)
    user, _ = registry_services.create_agency_admin(
        username="bfarm-admin", agency_code=other_agency.code, password=PASSWORD
    )
    client.force_login(user)
    assert client.get(FOREIGN).status_code == 403


def test_the_command_lists_on_a_dry_run_then_tombstones(hub, peer, home_agency):
    stranger = forged(version=12)
    hub.feed.append(stranger)
    sync(peer)
    out = io.StringIO()
    call_command("tombstone_foreign_records", "--dry-run", stdout=out)
    assert out.getvalue().splitlines() == [
        f"{stranger['uid']}: the hub serves version 12; tombstone version 13",
        "1 to tombstone (dry run: nothing written).",
    ]
    assert not FeedEntry.objects.filter(uid=stranger["uid"]).exists()

    out = io.StringIO()
    call_command("tombstone_foreign_records", stdout=out)
    assert out.getvalue().splitlines()[-1].startswith("1 tombstoned;")
    entry = FeedEntry.objects.get(uid=stranger["uid"])
    assert (entry.origin, entry.version, entry.deleted) == ("EMA", 13, True)
    assert not foreign.foreign_records().exists(), "a newer tombstone waits here to be pushed"


def test_a_record_deleted_here_that_the_intruder_pushed_over_is_listed_too(hub, peer, home_agency):
    mine = registry_services.save_use_case(UseCaseFactory.build(publication_level="network"))
    sync(peer)
    registry_services.delete_use_case(UseCase.objects.get(pk=mine.pk))  # a tombstone, version 2
    sync(peer)
    hub.feed.append(forged(uid=mine.uid, version=3))
    sync(peer)
    assert [r.peer_version for r in foreign.foreign_records()] == [3]
    assert [t.version for t in foreign.tombstone_foreign_records()] == [4]


def test_if_the_intruder_pushed_again_the_hub_answers_stale_and_it_is_listed_again(
    hub, peer, home_agency
):
    stranger = forged(version=7)
    hub.feed.append(stranger)
    sync(peer)
    foreign.tombstone_foreign_records()
    hub.status_for = lambda e: "stale"
    hub.stored_version_for = lambda e: 9  # pushed again, at 9, before our tombstone (8) arrived
    sync(peer)
    assert [r.peer_version for r in foreign.foreign_records()] == [9]
    hub.status_for = lambda e: "applied"
    foreign.tombstone_foreign_records()
    sync(peer)
    sent = [(e["version"], e["deleted"]) for e in hub.received if e["uid"] == stranger["uid"]]
    assert sent == [(8, True), (10, True)]
    assert not foreign.foreign_records().exists()
