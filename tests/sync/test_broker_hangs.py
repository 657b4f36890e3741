"""A broker that hangs (a Redis paused by SIGSTOP, or one behind a dead network path: the TCP
connection opens, nothing answers) must not hang the save that queues work on it (issue 14 review,
item 2). A real redis-server of the test's own is paused; the save returns within a bound, the
record is committed, and beat pushes it later."""

import signal
import time

import pytest
from django.conf import settings
from django.core.cache import cache

from config.celery import app
from registry import feed
from registry import services as registry_services
from sync.models import Peer
from sync.signals import PUSH_SOON_KEY
from tests.e2e.redis_server import RedisServer
from tests.factories import UseCaseFactory
from webhooks.models import Subscription
from webhooks.signals import DISPATCH_SOON_KEY

pytestmark = pytest.mark.django_db

# Both on-commit hooks publish (sync's push soon and the webhook dispatcher): each may wait one
# broker timeout, and a little more for the connection attempt.
SAVE_BOUND_SECONDS = 4 * settings.CELERY_BROKER_SOCKET_TIMEOUT_SECONDS


@pytest.fixture
def paused_broker(tmp_path):
    """The Celery app publishing to a redis-server of its own that is paused (SIGSTOP)."""
    server = RedisServer(tmp_path / "redis.log").start()
    saved = app.conf.broker_url, app.conf.broker_transport, app.conf.broker_transport_options
    app.conf.broker_url, app.conf.broker_transport = server.url(0), None
    app.conf.broker_transport_options = settings.REDIS_BROKER_TRANSPORT_OPTIONS
    app._pool = app.amqp._producer_pool = None  # connect to the new broker, not a pooled one
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield server
    finally:
        server.process.send_signal(signal.SIGCONT)
        server.stop()
        app.conf.broker_url, app.conf.broker_transport, app.conf.broker_transport_options = saved
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = app.amqp._producer_pool = None


@pytest.fixture
def alarm():
    """On the old code the save hangs for ever: interrupt it after 20 s, then every second."""

    def interrupt(signum, frame):
        raise TimeoutError("the save is still waiting for the broker")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 20, 1)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_save_returns_in_bounded_time_and_commits_when_the_broker_hangs(
    paused_broker, alarm, django_capture_on_commit_callbacks, django_user_model
):
    owner = django_user_model.objects.create_user("watcher", password="unused-password")
    Peer.objects.create(name="hub", url="http://127.0.0.1:9/", token="secret-token")
    Subscription.objects.create(name="Watcher", url="https://receiver.example.eu/hook", owner=owner)
    cache.delete_many([PUSH_SOON_KEY, DISPATCH_SOON_KEY])
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record = registry_services.save_use_case(UseCaseFactory.build(publication_level="network"))
    elapsed = time.monotonic() - started
    assert len(callbacks) == 2, "both hooks published to the paused broker"
    assert elapsed < SAVE_BOUND_SECONDS, f"the save took {elapsed:.1f} s"
    record.refresh_from_db()
    assert feed.FeedEntry.objects.filter(uid=record.uid).exists()
