"""Faults of the node under the engine (issue 14, items 4-6): a database restored from a backup,
a cache that is down, a host clock hours off. The end-to-end tests drive each with real
processes (tests/e2e/test_restored_hub.py, test_redis_down.py, test_clock_skew.py); these pin
the rules down one by one."""

import datetime as dt
import json

import pytest
from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from federation.processes import free_port
from registry import feed
from registry import services as registry_services
from registry.models import FeedEntry, NodeState, UseCase
from sync import protocol, services, serving, signals, tasks
from sync.models import Checkpoint, Peer
from tests.factories import UseCaseFactory
from tests.sync.fake_peer import FakeHub

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite lives on the node's own host: its clock and its file are the node's",
)


class ForgetfulHub(FakeHub):
    """A hub put back to an older state without a new feed id: it refuses a cursor past the
    end of its feed (sync.serving.changes_page), as the real one does."""

    def _get(self, request):
        since = request.url.partition("since=")[2].partition("&")[0]
        if since and int(since) > len(self.feed):
            problem = {
                "type": protocol.CURSOR_PAST_END_PROBLEM,
                "title": "Cursor refused",
                "status": 400,
                "detail": "past the end",
            }
            return 400, {"Content-Type": "application/problem+json"}, json.dumps(problem)
        return super()._get(request)


@pytest.fixture
def peer(db):
    return Peer.objects.create(name="hub", url="http://127.0.0.1:9/", token="secret-token")


def database_clock() -> dt.datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


@pytest.fixture
def host_clock_hours_ahead(monkeypatch):
    """This process's clock three hours ahead of the database's (the host's clock lies outside
    the system: faking it is faking the edge)."""
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + dt.timedelta(hours=3))


# Item 4: restored from a backup -----------------------------------------------------------------


@on_postgresql
@pytest.mark.django_db(transaction=True)  # a restore writes the row in a transaction of its own
def test_a_database_restored_from_a_dump_serves_a_new_feed_id_without_reset_feed():
    before = serving.served_feed_id()
    assert serving.served_feed_id() == before, "stable while nothing is restored"
    # What pg_restore does to the row: the same values, written again by a new transaction.
    state = NodeState.objects.get()
    values = {f.attname: getattr(state, f.attname) for f in NodeState._meta.fields}
    NodeState.objects.all().delete()
    NodeState.objects.create(**values)
    assert feed.current_feed_id() == state.feed_id
    assert serving.served_feed_id() != before


def test_a_cursor_past_the_end_of_the_feed_is_refused_as_from_before_a_restore():
    _published(3)
    top = serving.read_envelopes(after=feed.START, limit=10, origins=None)[-1].position
    cursor = protocol.encode_cursor(top, serving.served_feed_id())
    assert serving.changes_page(since=cursor, limit=10).count == 0
    FeedEntry.objects.filter(txid=top.txid, seq=top.seq).delete()  # the backup predates it
    with pytest.raises(protocol.InvalidCursor, match="restored from a backup"):
        serving.changes_page(since=cursor, limit=10)


def test_a_hub_that_went_back_under_the_same_feed_id_gets_everything_pushed_again(mocked, peer):
    hub = ForgetfulHub(mocked)
    hub.feed = [json.loads(row.envelope) for row in _published(2)]
    assert services.sync_peer(peer).ok
    assert len(hub.received) == 2
    assert Checkpoint.objects.get(peer=peer, direction="push").cursor

    hub.feed = hub.feed[:1]  # restored: it lost the second record, its feed id unchanged
    assert services.sync_peer(peer, force=True).ok
    assert Checkpoint.objects.get(peer=peer, direction="push").cursor == ""
    services.sync_peer(peer, force=True)
    assert len(hub.received) == 4, "both records pushed again, the lost one among them"


def _published(count: int) -> list[serving.FeedRow]:
    for n in range(count):
        registry_services.save_use_case(
            UseCaseFactory.build(publication_level="network", title=f"Use case {n}")
        )
    return serving.read_envelopes(after=feed.START, limit=count, origins=None)


# Item 5: Redis down -----------------------------------------------------------------------------


def test_with_the_cache_down_a_commit_still_queues_the_push_and_never_raises(
    peer, monkeypatch, settings
):
    # A real Redis client, at a port where nothing listens: every call fails to connect.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    monkeypatch.setattr(signals, "cache", caches["default"])
    queued = []
    monkeypatch.setattr(
        tasks.run_sync_cycle, "apply_async", lambda args, **options: queued.append(args[0])
    )
    signals.queue_push()
    assert queued == [[peer.pk]]


# Item 6: a host clock hours off -----------------------------------------------------------------


@on_postgresql
def test_a_lease_runs_on_the_database_clock_not_the_hosts(peer, host_clock_hours_ahead):
    assert services.acquire_lease(peer)
    peer.refresh_from_db()
    assert peer.lease_expires_at - database_clock() < dt.timedelta(minutes=2)


@on_postgresql
def test_back_off_runs_on_the_database_clock_not_the_hosts(peer, host_clock_hours_ahead):
    # Nothing listens at the peer's address: the cycle fails and backs off.
    Peer.objects.filter(pk=peer.pk).update(url=f"http://127.0.0.1:{free_port()}/")
    peer.refresh_from_db()
    outcome = services.sync_peer(peer)
    assert not outcome.ok
    peer.refresh_from_db()
    wait = peer.next_attempt_at - database_clock()
    assert dt.timedelta(0) < wait < dt.timedelta(minutes=2)
    assert services.due_peer_ids(now=database_clock() + wait + dt.timedelta(seconds=1))


def test_the_catalogue_stamp_changes_when_an_edit_goes_back_in_time(monkeypatch):
    from catalogue.counts import STAMP_KEY, catalogue_stamp

    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + dt.timedelta(hours=3))
    edited, _latest = _published(2)  # saved while the clock ran three hours ahead
    monkeypatch.setattr(timezone, "now", real_now)  # the clock put right
    before = catalogue_stamp()
    use_case = UseCase.objects.get(uid=edited.uid)
    use_case.title = "Edited on the right clock"
    registry_services.save_use_case(use_case)
    caches["default"].delete(STAMP_KEY)
    assert catalogue_stamp() != before, "cached counts would miss the edit"


def test_a_periodic_sync_last_run_in_the_future_runs_again_within_its_interval():
    from config.celery import app
    from sync.schedule import ClockSafeEntry, ensure_schedule

    task = ensure_schedule(interval_seconds=60)
    task.last_run_at = timezone.now() + dt.timedelta(hours=3)  # written by a beat hours ahead
    task.save()
    _, next_check_in = ClockSafeEntry(task, app=app).is_due()
    assert next_check_in <= 60
