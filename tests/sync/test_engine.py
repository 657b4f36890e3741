"""The sync engine against a peer faked at the HTTP seam."""

import datetime as dt
import json
import uuid

import pytest
import requests
import responses
from django.conf import settings
from django.utils import timezone
from django.utils.http import http_date

from registry import feed
from registry import services as registry_services
from registry.models import FeedEntry, UseCase
from sync import services, serving
from sync.client import parse_retry_after
from sync.models import Checkpoint, Peer, Rejection, SyncRun
from tests.factories import UseCaseFactory, valid_record
from tests.sync.conftest import envelope
from tests.sync.fake_peer import PEER_URL, FakeHub, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_batches(settings):
    settings.SYNC_PUSH_BATCH_SIZE = 2
    settings.SYNC_PULL_PAGE_SIZE = 2


def publish(count: int, **overrides) -> list[UseCase]:
    return [
        registry_services.save_use_case(
            UseCaseFactory.build(publication_level="network", title=f"Use case {n}", **overrides)
        )
        for n in range(count)
    ]


# Push


def test_push_sends_own_shared_changes_page_by_page_and_only_once(hub, peer, small_batches):
    records = publish(5)
    UseCaseFactory(title="A draft never leaves")
    outcome = sync(peer)
    assert outcome.ok
    assert hub.posts == 3
    assert sorted(e["uid"] for e in hub.received) == sorted(str(r.uid) for r in records)
    assert all(e["origin"] == settings.NODE_AGENCY for e in hub.received)
    push_run = outcome.runs[0]
    assert (push_run.direction, push_run.applied, push_run.pages) == ("push", 5, 3)

    sync(peer, force=True)
    assert hub.posts == 3, "nothing new: nothing is sent again"


def test_push_sends_a_withdrawal_as_a_tombstone(hub, peer):
    (record,) = publish(1)
    sync(peer)
    registry_services.withdraw(record)
    sync(peer, force=True)
    last = hub.received[-1]
    assert (last["uid"], last["deleted"], last["record"], last["version"]) == (
        str(record.uid),
        True,
        None,
        2,
    )


def test_push_remembers_rejections_until_a_newer_version_gets_through(hub, peer):
    (record,) = publish(1)
    hub.status_for = lambda e: "rejected"
    sync(peer)
    rejection = Rejection.objects.get()
    assert (rejection.uid, rejection.version) == (record.uid, 1)
    assert rejection.errors == {"summary": ["Too long."]}

    hub.status_for = lambda e: "applied"
    record.summary = "Shorter."
    registry_services.save_use_case(record)
    sync(peer, force=True)
    assert not Rejection.objects.exists()


def test_a_crash_between_push_batches_repeats_the_batch_and_never_skips(hub, peer, small_batches):
    records = publish(4)
    hub.fail_once_for[str(records[2].uid)] = (500, {}, "boom")  # the second page's first record
    assert not sync(peer).ok
    assert sorted(e["uid"] for e in hub.received) == sorted(str(r.uid) for r in records[:2])
    sync(peer, force=True)
    assert sorted({e["uid"] for e in hub.received}) == sorted(str(r.uid) for r in records)
    assert len(hub.received) == 4, "the failed batch was sent again, the acknowledged one not"


def test_a_page_refused_as_too_large_is_sent_in_halves(hub, peer):
    """A proxy in front of the hub may take less than the protocol's 8 MiB per request."""
    records = publish(4)
    hub.post_failures[1] = (413, {}, '{"title": "Payload too large"}')
    outcome = sync(peer)
    assert outcome.ok, outcome.runs[0].error
    assert [len(batch) for batch in hub.batches] == [2, 2]
    assert sorted(e["uid"] for e in hub.received) == sorted(str(r.uid) for r in records)
    assert outcome.runs[0].applied == 4


def test_a_single_record_too_large_for_the_peer_fails_with_the_peers_words(hub, peer):
    publish(1)
    hub.post_failures = {n: (413, {}, '{"title": "Body too large"}') for n in range(1, 5)}
    outcome = sync(peer)
    assert hub.posts == 1 and outcome.retry_in is not None
    assert "HTTP 413 Body too large" in outcome.runs[0].error
    peer.refresh_from_db()
    assert "HTTP 413 Body too large" in peer.last_error and not peer.auth_failed


def test_a_batch_the_peer_refuses_is_retried_later_and_shows_why(hub, peer):
    publish(1)
    detail = '{"title": "Bad request", "detail": "The body must be an object."}'
    hub.post_failures[1] = (400, {"Content-Type": "application/problem+json"}, detail)
    outcome = sync(peer)
    assert outcome.retry_in is not None and len(outcome.runs) == 1
    peer.refresh_from_db()
    assert "HTTP 400 The body must be an object." in peer.last_error
    assert peer.last_error == outcome.runs[0].error and peer.next_attempt_at is not None
    assert sync(peer, force=True).ok and len(hub.received) == 1


def test_a_new_own_feed_id_pushes_everything_again(hub, peer):
    publish(2)
    sync(peer)
    feed.reset_feed_id()
    sync(peer, force=True)
    assert len(hub.received) == 4


def test_a_new_peer_feed_id_pushes_everything_again(hub, peer):
    """The hub was restored from a backup older than our last push: it lost what we pushed after
    that point, and says so with a new feed id. Everything is pushed again; it answers
    `unchanged` to what it still has."""
    records = publish(2)
    sync(peer)
    hub.feed_id = str(uuid.uuid4())
    sync(peer, force=True)
    assert [e["uid"] for e in hub.received[2:]] == [str(r.uid) for r in records]
    assert Checkpoint.objects.get(peer=peer, direction="push").peer_feed_id == hub.feed_id
    sync(peer, force=True)
    assert len(hub.received) == 4, "the same peer feed id: nothing is sent again"


# Pull


def test_pull_stores_copies_from_the_network_and_ignores_own_records(hub, peer, small_batches):
    (own,) = publish(1)
    own_entry = FeedEntry.objects.get(uid=own.uid)
    foreign = [envelope(origin="FR-ANSM") for _ in range(3)]
    echo = {
        "origin": own.origin_id,
        "uid": str(own.uid),
        "version": own.version,
        "modified": "2026-11-25T10:00:00Z",
        "deleted": False,
        "hash": own_entry.hash,
        "record": own_entry.record,
    }
    hub.feed = [*foreign, echo]
    outcome = sync(peer)
    assert outcome.ok, [r.error for r in outcome.runs]
    pull_run = outcome.runs[1]
    assert (pull_run.applied, pull_run.unchanged, pull_run.pages) == (3, 1, 2)
    copies = UseCase.objects.received()
    assert copies.count() == 3
    assert {c.received_from for c in copies} == {"EMRN-HUB"}
    assert UseCase.objects.get(uid=own.uid).received_at is None
    assert Checkpoint.objects.get(peer=peer, direction="pull").cursor == "4"


def test_pull_resumes_from_its_checkpoint(hub, peer):
    hub.feed = [envelope(origin="FR-ANSM")]
    sync(peer)
    hub.feed.append(envelope(origin="FR-ANSM"))
    sync(peer, force=True)
    assert hub.since_seen == [None, "1"]
    assert UseCase.objects.received().count() == 2


def test_a_new_peer_feed_id_restarts_the_pull_from_the_beginning(hub, peer):
    hub.feed = [envelope(origin="FR-ANSM")]
    sync(peer)
    hub.feed_id = str(uuid.uuid4())
    sync(peer, force=True)
    assert hub.since_seen == [None, None]
    assert Checkpoint.objects.get(peer=peer, direction="pull").feed_id == hub.feed_id


def test_the_pull_checkpoint_is_saved_in_the_same_transaction_as_the_batch(hub, peer, monkeypatch):
    hub.feed = [envelope(origin="FR-ANSM")]

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "_save_checkpoint", crash)
    outcome = sync(peer)
    assert "worker killed" in outcome.runs[-1].error
    assert not UseCase.objects.received().exists(), "the batch rolled back with its checkpoint"
    monkeypatch.undo()
    sync(peer, force=True)
    assert UseCase.objects.received().count() == 1


def test_a_pull_from_an_agency_accepts_only_that_agencys_records(mocked, peer):
    Peer.objects.filter(pk=peer.pk).update(agency="FR-ANSM", role="agency")
    agency = FakeHub(mocked, agency="FR-ANSM", role="agency")
    agency.feed = [envelope(origin="FR-ANSM"), envelope(origin="IT-AIFA")]
    run = sync(peer).runs[1]
    assert (run.applied, run.rejected) == (1, 1)
    assert list(UseCase.objects.values_list("origin_id", flat=True)) == ["FR-ANSM"]


# Failures, backoff, lease


def test_a_401_stops_the_sync_and_is_recorded_as_an_authentication_failure(hub, peer):
    hub.post_failures[1] = (401, {}, '{"title": "Authentication required"}')
    publish(1)
    outcome = sync(peer)
    assert outcome.runs[0].auth_failed and "401" in outcome.runs[0].error
    assert len(outcome.runs) == 1, "no pull after the token was refused"
    peer.refresh_from_db()
    assert peer.auth_failed and peer.next_attempt_at is None
    assert outcome.retry_in is None
    assert sync(peer).skipped == "not due"
    assert services.due_peer_ids() == []


def test_a_403_stops_the_sync_like_a_401(hub, peer):
    hub.node_failure = (403, {}, '{"title": "Forbidden"}')
    outcome = sync(peer)
    assert outcome.runs[0].auth_failed and "403" in outcome.runs[0].error
    assert len(outcome.runs) == 1 and outcome.retry_in is None
    peer.refresh_from_db()
    assert peer.auth_failed and peer.next_attempt_at is None and "403" in peer.last_error
    assert services.due_peer_ids() == []


def test_a_new_token_clears_the_authentication_stop(peer):
    Peer.objects.filter(pk=peer.pk).update(auth_failed=True)
    peer.refresh_from_db()
    peer.token = "a-new-token"
    peer.save()
    assert not Peer.objects.get(pk=peer.pk).auth_failed


def test_a_503_with_retry_after_is_honoured(hub, peer):
    hub.node_failure = (503, {"Retry-After": "120"}, "busy")
    before = timezone.now()
    outcome = sync(peer)
    assert outcome.retry_in == 120
    peer.refresh_from_db()
    assert peer.next_attempt_at >= before + dt.timedelta(seconds=120)
    assert not peer.is_due()


def test_a_429_with_retry_after_in_seconds_is_honoured(hub, peer):
    publish(1)
    hub.post_failures[1] = (429, {"Retry-After": "600"}, '{"title": "Too many requests"}')
    outcome = sync(peer)
    assert outcome.retry_in == 600
    assert "429" in outcome.runs[0].error and not outcome.runs[0].auth_failed
    peer.refresh_from_db()
    assert peer.next_attempt_at >= timezone.now() + dt.timedelta(seconds=590)
    assert not peer.auth_failed and not peer.is_due()


def test_a_429_with_retry_after_as_an_http_date_is_honoured(hub, peer):
    when = timezone.now() + dt.timedelta(seconds=900)
    hub.node_failure = (429, {"Retry-After": http_date(when.timestamp())}, "slow down")
    outcome = sync(peer)
    assert 890 <= outcome.retry_in <= 900
    peer.refresh_from_db()
    assert abs((peer.next_attempt_at - when).total_seconds()) <= 2


def test_retry_after_reads_both_forms_and_never_waits_below_zero_or_beyond_a_day():
    now = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after("Wed, 25 Nov 2026 10:05:00 GMT", now=now) == 300
    assert parse_retry_after("Wed, 25 Nov 2026 09:00:00 GMT", now=now) == 0
    assert parse_retry_after("9999999", now=now) == 24 * 3600
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


def test_network_errors_back_off_exponentially_with_jitter(mocked, peer):
    mocked.add(
        responses.GET, PEER_URL + "federation/v1/node", body=requests.ConnectionError("refused")
    )
    waits = []
    for _ in range(4):
        outcome = sync(peer, force=True)
        waits.append(outcome.retry_in)
    peer.refresh_from_db()
    assert peer.consecutive_failures == 4
    for failures, wait in enumerate(waits, start=1):
        ceiling = services.BACKOFF_BASE_SECONDS * 2 ** (failures - 1)
        assert ceiling / 2 <= wait <= ceiling
    assert services.backoff_seconds(3, rand=lambda: 0.0) < services.backoff_seconds(
        3, rand=lambda: 1.0
    )
    assert services.backoff_seconds(50, rand=lambda: 1.0) == services.BACKOFF_CAP_SECONDS


def test_success_resets_the_failure_count(hub, peer):
    Peer.objects.filter(pk=peer.pk).update(consecutive_failures=3)
    sync(peer, force=True)
    peer.refresh_from_db()
    assert (peer.consecutive_failures, peer.next_attempt_at) == (0, None)
    assert peer.last_success_at is not None


def test_a_held_lease_prevents_a_second_concurrent_sync(hub, peer):
    owner = services.acquire_lease(peer)
    assert owner
    outcome = sync(peer, force=True)
    assert outcome.skipped and hub.posts == 0 and not hub.since_seen
    assert not SyncRun.objects.exists()
    services.release_lease(peer, owner)
    assert sync(peer, force=True).ok


def test_an_expired_lease_is_taken_over(peer):
    services.acquire_lease(peer)
    Peer.objects.filter(pk=peer.pk).update(lease_expires_at=timezone.now() - dt.timedelta(1))
    assert services.acquire_lease(peer)


def test_a_no_change_sync_costs_a_constant_handful_of_queries(
    hub, peer, django_assert_max_num_queries
):
    publish(3)
    hub.feed = [envelope(origin="FR-ANSM") for _ in range(3)]
    sync(peer)
    peer.refresh_from_db()
    # On PostgreSQL leases, back-off and run times read the database's clock (a query each).
    with django_assert_max_num_queries(25):
        assert services.sync_peer(peer, force=True).ok


def test_every_run_is_recorded_with_counts(hub, peer):
    publish(2)
    hub.feed = [envelope(origin="FR-ANSM", record=valid_record(stage="live"))]
    sync(peer)
    push, pull = SyncRun.objects.order_by("pk")
    assert (push.direction, push.applied, push.finished is not None) == ("push", 2, True)
    assert (pull.direction, pull.rejected) == ("pull", 1)


def test_a_page_of_long_records_is_split_below_the_body_limit(hub, peer, settings, monkeypatch):
    settings.SYNC_PUSH_BATCH_SIZE = 1000
    publish(3, description="d" * 19_000)
    monkeypatch.setattr(services.protocol, "MAX_BODY_BYTES", 50_000)  # stands in for 8 MiB
    assert sync(peer).ok
    assert hub.posts == 2 and len(hub.received) == 3


def test_renewing_a_lease_says_whether_it_is_still_held(peer):
    owner = services.acquire_lease(peer)
    assert services.renew_lease(peer, owner) is True
    Peer.objects.filter(pk=peer.pk).update(lease_expires_at=timezone.now() - dt.timedelta(1))
    assert services.acquire_lease(peer), "another worker took the expired lease"
    assert services.renew_lease(peer, owner) is False


@pytest.fixture
def lease_lost_after_first_batch(peer, monkeypatch):
    """Another worker takes the lease (it expired) once this one has acknowledged its first
    batch, while it works on the second (a stalled request, a paused process)."""
    count = services._count

    def count_then_lose_the_lease(run, results):
        count(run, results)
        Peer.objects.filter(pk=peer.pk).update(
            lease_owner="another-worker", lease_expires_at=timezone.now() + dt.timedelta(60)
        )

    monkeypatch.setattr(services, "_count", count_then_lose_the_lease)


@pytest.mark.parametrize("direction", ["push", "pull"])
def test_a_sync_that_lost_its_lease_stops_and_never_writes_its_checkpoint_again(
    hub, peer, small_batches, settings, lease_lost_after_first_batch, direction
):
    settings.SYNC_PUSH_CONCURRENCY = 1
    peer.push, peer.pull = direction == "push", direction == "pull"
    peer.save()
    publish(4)
    first_page = serving.read_envelopes(after=feed.START, limit=2, origins=[settings.NODE_AGENCY])
    hub.feed = [envelope(origin="FR-ANSM") for _ in range(4)]
    outcome = sync(peer)
    assert (hub.posts, hub.since_seen) == ((2, []) if direction == "push" else (0, [None, "2"]))
    (run,) = outcome.runs
    assert "lease" in run.error and run.pages == 1 and outcome.retry_in is None
    # The second batch's checkpoint was refused in its own transaction: the new holder's
    # cursor is never overwritten by a worker that lost the lease.
    position = first_page[-1].position
    expected = f"{position.txid}:{position.seq}" if direction == "push" else "2"
    assert Checkpoint.objects.get(peer=peer, direction=direction).cursor == expected
    if direction == "pull":
        assert UseCase.objects.filter(origin_id="FR-ANSM").count() == 2
    peer.refresh_from_db()
    assert peer.lease_owner == "another-worker", "the other worker's lease is left alone"
    assert (peer.consecutive_failures, peer.next_attempt_at, peer.last_error) == (0, None, "")


def test_a_worker_that_lost_its_lease_then_failed_leaves_the_peers_health_to_the_new_holder(
    hub, peer, small_batches, settings, lease_lost_after_first_batch
):
    """Paused past its lease, a worker's next request fails on its deadline: the new holder is
    syncing the peer, so this failure must not put the peer into back-off."""
    settings.SYNC_PUSH_CONCURRENCY = 1
    peer.pull = False
    peer.save()
    publish(4)
    hub.post_failures[2] = (500, {}, "{}")
    outcome = sync(peer)
    assert "HTTP 500" in outcome.runs[0].error
    peer.refresh_from_db()
    assert (peer.consecutive_failures, peer.next_attempt_at, peer.last_error) == (0, None, "")


def test_a_lease_left_by_a_killed_worker_expires_within_about_a_minute(peer, settings):
    settings.SYNC_HTTP_TIMEOUT_SECONDS = 30
    services.acquire_lease(peer)  # and the worker dies without releasing it
    expires = Peer.objects.get(pk=peer.pk).lease_expires_at
    assert expires - timezone.now() <= dt.timedelta(seconds=61)
    Peer.objects.filter(pk=peer.pk).update(lease_expires_at=timezone.now())
    assert services.acquire_lease(peer)


def test_a_peer_that_answers_a_push_with_a_bare_list_of_results_is_understood(hub, peer):
    (record,) = publish(1)
    hub.post_failures[1] = (
        200,
        {},
        json.dumps([{"origin": record.origin_id, "uid": str(record.uid), "status": "applied"}]),
    )
    outcome = sync(peer)
    assert outcome.ok
    assert outcome.runs[0].applied == 1


def test_a_changes_page_that_is_not_an_object_fails_the_pull_with_a_clear_error(mocked, peer):
    hub = FakeHub(mocked)
    mocked.replace(
        responses.GET,
        hub.get_route.url,
        json=[{"changes": []}],
    )
    outcome = sync(peer)
    assert not outcome.ok
    peer.refresh_from_db()
    assert "GET changes: the answer is not a JSON object" in peer.last_error
