import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from sync import auth, schedule
from sync.models import Peer, PeerToken, Rejection, SyncRun
from tests.sync.fake_peer import PEER_URL

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


def test_sync_now_without_peers_says_so(capsys):
    call_command("sync_now")
    assert "No peers" in capsys.readouterr().out


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
