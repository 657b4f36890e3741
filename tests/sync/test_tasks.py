"""The Celery entry point, called directly: beat fans out per peer; a peer's task syncs it."""

import pytest
import responses

from sync import tasks
from sync.models import Peer, SyncRun
from tests.sync.fake_peer import PEER_URL, FakeHub

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """What the task would enqueue, instead of a broker."""
    calls = []
    monkeypatch.setattr(tasks.run_sync_cycle, "delay", lambda *a: calls.append(("delay", a)))
    monkeypatch.setattr(
        tasks.run_sync_cycle,
        "apply_async",
        lambda args, countdown: calls.append(("apply_async", args, countdown)),
    )
    return calls


def test_beat_fans_out_one_task_per_due_peer(queued):
    due = Peer.objects.create(name="a", url=PEER_URL, token="t")
    Peer.objects.create(name="b", url=PEER_URL, token="t", auth_failed=True)
    Peer.objects.create(name="c", url=PEER_URL, token="t", enabled=False)
    tasks.run_sync_cycle()
    assert queued == [("delay", ([due.pk],))]


def test_a_peer_task_runs_the_cycle_and_records_it(queued):
    peer = Peer.objects.create(name="hub", url=PEER_URL, token="t")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        FakeHub(mocked)
        tasks.run_sync_cycle([peer.pk])
    assert [run.direction for run in SyncRun.objects.order_by("pk")] == ["push", "pull"]
    assert queued == []


def test_a_failed_peer_is_retried_after_its_backoff(queued, settings):
    settings.SYNC_INTERVAL_SECONDS = 3600
    peer = Peer.objects.create(name="hub", url=PEER_URL, token="t")
    with responses.RequestsMock() as mocked:
        mocked.add(responses.GET, PEER_URL + "federation/v1/node", status=502)
        tasks.run_sync_cycle([peer.pk])
    (call,) = queued
    assert call[0] == "apply_async" and call[1] == [[peer.pk]] and 15 <= call[2] <= 30
