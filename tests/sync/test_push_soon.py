"""A committed change to this agency's shared records queues a sync with the hub at once; the
broker is faked at Celery's publishing seam (tests/e2e proves the real thing between processes)."""

import uuid

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from registry import feed
from registry import services as registry_services
from sync import signals, tasks
from sync.models import Peer
from sync.signals import PUSH_SOON_KEY
from tests.factories import UseCaseFactory, valid_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """The syncs queued, as the peer-id lists they were queued with."""
    calls = []
    monkeypatch.setattr(
        tasks.run_sync_cycle, "apply_async", lambda args, **options: calls.append(args[0])
    )
    cache.delete(PUSH_SOON_KEY)
    yield calls
    cache.delete(PUSH_SOON_KEY)


@pytest.fixture
def hub_peer(db):
    return Peer.objects.create(name="hub", url="http://127.0.0.1:9/", token="secret-token")


def publish(title="Signal detection"):
    return registry_services.save_use_case(
        UseCaseFactory.build(publication_level="network", title=title)
    )


def test_publishing_queues_a_sync_with_the_hub_when_the_change_commits(
    hub_peer, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish()
        assert queued == [], "nothing is queued before the commit"
    assert queued == [[hub_peer.pk]]


def test_many_changes_in_one_transaction_queue_one_sync(
    hub_peer, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for n in range(5):
            publish(f"Use case {n}")
    assert [callback for callback in callbacks if callback is signals.queue_push] == [
        signals.queue_push
    ]
    assert queued == [[hub_peer.pk]]


def test_a_burst_of_commits_queues_one_sync(hub_peer, queued):
    for _ in range(3):
        signals.queue_push()  # what each commit runs
    assert queued == [[hub_peer.pk]]


def test_drafts_and_received_copies_queue_nothing(
    hub_peer, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        registry_services.save_use_case(UseCaseFactory.build(publication_level="draft"))
        feed.write_entry(
            origin="DE-BFARM",
            uid=uuid.uuid4(),
            version=1,
            record=valid_record(),
            modified=timezone.now(),
            received_from="EMRN-HUB",
        )
    assert signals.queue_push not in callbacks
    assert queued == []


def test_without_a_peer_nothing_is_queued(queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        publish()
    assert queued == []


def test_a_broker_that_is_down_does_not_undo_or_fail_the_change(
    hub_peer, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.run_sync_cycle, "apply_async", broker_down)
    cache.delete(PUSH_SOON_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        record = publish()
    record.refresh_from_db()
    assert record.publication_level == "network"
    assert feed.FeedEntry.objects.filter(uid=record.uid).exists()
