import datetime as dt

import pytest
import responses
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from registry import services as registry_services
from sync import auth, schedule, tasks
from sync.models import Peer, PeerToken, Rejection, SyncRun
from tests.factories import UseCaseFactory
from tests.sync.conftest import envelope
from tests.sync.fake_peer import PEER_URL, FakeHub

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.eu", "pw")
    client.force_login(user)
    return client


def test_issue_peer_token_prints_the_token_alone_on_its_last_line(capsys):
    call_command("issue_peer_token", "DE-BFARM")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert auth.authenticate(f"Bearer {token}").agency == "DE-BFARM"


def test_a_periodic_sync_exists_after_migrate_and_keeps_admin_edits(settings):
    task = PeriodicTask.objects.get(name=schedule.TASK_NAME)
    assert task.task == "sync.tasks.run_sync_cycle"
    assert task.interval.every == settings.SYNC_INTERVAL_SECONDS
    task.interval.every = 42
    task.interval.save()
    schedule.ensure_schedule()
    assert PeriodicTask.objects.get(name=schedule.TASK_NAME).interval.every == 42
    call_command("setup_sync_schedule", "--interval", "60")
    assert PeriodicTask.objects.get(name=schedule.TASK_NAME).interval.every == 60


def test_a_new_sync_interval_in_the_environment_applies_at_the_next_migrate(settings):
    task = PeriodicTask.objects.get(name=schedule.TASK_NAME)
    task.enabled = False  # an admin paused the sync: a new interval does not resume it
    task.save()
    settings.SYNC_INTERVAL_SECONDS = 120
    schedule.ensure_schedule()  # what post_migrate runs
    task = PeriodicTask.objects.get(name=schedule.TASK_NAME)
    assert (task.interval.every, task.interval.period, task.enabled) == (120, "seconds", False)
    settings.SYNC_INTERVAL_SECONDS = 600
    schedule.ensure_schedule()
    assert PeriodicTask.objects.get(name=schedule.TASK_NAME).interval.every == 600


def test_an_interval_set_at_run_time_outlasts_a_new_environment_value(settings):
    task = PeriodicTask.objects.get(name=schedule.TASK_NAME)
    task.interval = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.MINUTES)
    task.save()  # as the admin's periodic task form does
    settings.SYNC_INTERVAL_SECONDS = 600
    schedule.ensure_schedule()
    assert PeriodicTask.objects.get(name=schedule.TASK_NAME).interval.every == 2
    call_command("setup_sync_schedule", "--interval", "60")
    settings.SYNC_INTERVAL_SECONDS = 900
    schedule.ensure_schedule()
    assert PeriodicTask.objects.get(name=schedule.TASK_NAME).interval.every == 60


def test_an_interval_set_back_to_the_environments_value_follows_the_environment_again(settings):
    call_command("setup_sync_schedule", "--interval", "60")
    call_command("setup_sync_schedule", "--interval", str(settings.SYNC_INTERVAL_SECONDS))
    settings.SYNC_INTERVAL_SECONDS = 900
    schedule.ensure_schedule()
    assert PeriodicTask.objects.get(name=schedule.TASK_NAME).interval.every == 900


def test_sync_now_without_peers_says_so(capsys):
    call_command("sync_now")
    assert "No peers" in capsys.readouterr().out


def test_sync_now_with_the_hub_configured_prints_the_push_and_pull_counts(settings, capsys):
    settings.HUB_URL, settings.HUB_TOKEN = PEER_URL, "t1"
    registry_services.save_use_case(UseCaseFactory.build(publication_level="network"))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        hub = FakeHub(mocked)
        hub.feed = [envelope(origin="FR-ANSM"), envelope(origin="FR-ANSM")]
        call_command("sync_now")
    lines = capsys.readouterr().out.splitlines()
    assert "hub push: applied=1 unchanged=0 stale=0 rejected=0 pages=1" in lines
    assert "hub pull: applied=2 unchanged=0 stale=0 rejected=0 pages=1" in lines


def test_the_hub_peer_comes_from_the_environment(settings):
    settings.HUB_URL, settings.HUB_TOKEN = PEER_URL, "t1"
    from sync import services

    assert services.hub_peer_from_settings().token == "t1"
    settings.HUB_TOKEN = "t2"
    services.hub_peer_from_settings()
    assert Peer.objects.get().token == "t2"


def test_admin_pages_show_peers_runs_rejections_and_tokens(superuser_client):
    peer = Peer.objects.create(name="hub", url=PEER_URL, token="x", consecutive_failures=2)
    SyncRun.objects.create(peer=peer, direction="push", applied=3)
    Rejection.objects.create(
        peer=peer,
        origin="EMA",
        uid="6f1c0000-0000-4000-8000-000000000000",
        version=2,
        errors={"summary": ["Too long."]},
    )
    auth.issue_token(agency="DE-BFARM")
    for name in ("peer", "syncrun", "rejection", "peertoken", "checkpoint"):
        response = superuser_client.get(f"/admin/sync/{name}/")
        assert response.status_code == 200, name
    assert b"Too long." in superuser_client.get("/admin/sync/rejection/").content
    assert b"failing" in superuser_client.get("/admin/sync/peer/").content


def test_the_revoke_action_revokes_tokens(superuser_client):
    peer_token, token = auth.issue_token(agency="DE-BFARM")
    superuser_client.post(
        "/admin/sync/peertoken/",
        {"action": "revoke", "_selected_action": [peer_token.pk]},
    )
    assert PeerToken.objects.get().revoked_at is not None
    assert auth.authenticate(f"Bearer {token}") is None


def test_the_sync_now_action_clears_the_stop_and_the_wait_and_queues_a_sync(
    superuser_client, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.run_sync_cycle, "delay", lambda *args: queued.append(args))
    later = timezone.now() + dt.timedelta(hours=1)
    stopped = Peer.objects.create(name="hub", url=PEER_URL, token="x", auth_failed=True)
    waiting = Peer.objects.create(name="other", url=PEER_URL, token="x", next_attempt_at=later)
    untouched = Peer.objects.create(name="third", url=PEER_URL, token="x", next_attempt_at=later)
    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(
            "/admin/sync/peer/",
            {"action": "sync_now", "_selected_action": [stopped.pk, waiting.pk]},
            follow=True,
        )
    assert b"2 peers queued." in response.content
    assert queued == [([stopped.pk, waiting.pk],)]
    for peer in (stopped, waiting):
        peer.refresh_from_db()
        assert not peer.auth_failed and peer.next_attempt_at is None and peer.is_due()
    untouched.refresh_from_db()
    assert untouched.next_attempt_at == later
