"""Writes at a node, run inside that node's own process (`manage.py shell -c`) through the same
registry services the admin uses. The test process calls `tests.e2e.helpers.act`, which runs
`run(op, args)` here and reads the JSON printed on the last line."""

import json
import uuid

from django.conf import settings

from registry import services
from registry.models import Agency, UseCase
from registry.validation import validate_record
from tests.factories import valid_record

AGENCIES = {
    "EMA": ("European Medicines Agency", "EU", "ema"),
    "DE-BFARM": ("Federal Institute for Drugs and Medical Devices", "DE", "human"),
    "FR-ANSM": ("Agence nationale de sécurité du médicament", "FR", "human"),
}


def ensure_agencies() -> list[str]:
    for code, (name, country, kind) in AGENCIES.items():
        Agency.objects.get_or_create(
            code=code, defaults={"name": name, "country": country, "kind": kind}
        )
    return sorted(AGENCIES)


def create(count: int, level: str, title: str) -> list[str]:
    uids = []
    for n in range(count):
        fields = validate_record(valid_record(title=f"{title} {n + 1}", publication_level=level))
        use_case = UseCase(origin_id=settings.NODE_AGENCY, uid=uuid.uuid4(), **fields)
        services.save_use_case(use_case)
        uids.append(str(use_case.uid))
    return uids


def edit(uid: str, title: str) -> int:
    use_case = _own(uid)
    use_case.title = title
    return services.save_use_case(use_case).version


def withdraw(uid: str) -> int:
    return services.withdraw(_own(uid)).version


def publish(uid: str) -> int:
    return services.publish_to_network(_own(uid)).version


def delete(uid: str) -> None:
    services.delete_use_case(_own(uid))


def revoke_tokens(agency: str) -> int:
    from django.utils import timezone

    from sync.models import PeerToken

    return PeerToken.objects.filter(agency=agency, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def set_sync_interval(seconds: int) -> int:
    """What an admin does at run time; beat notices the changed schedule within a few seconds."""
    from sync import schedule

    schedule.ensure_schedule(interval_seconds=seconds)
    return seconds


def needing_attention() -> list[str]:
    """The uids the admin's use-case list shows under `?attention=yes` to an agency admin of this
    node (Django's test client inside the node's own process)."""
    import secrets

    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()  # response.context, and "testserver" among the allowed hosts
    user, _ = services.create_agency_admin(
        username="e2e-agency-admin",
        agency_code=settings.NODE_AGENCY,
        password=secrets.token_urlsafe(24),
    )
    client = Client()
    client.force_login(user)
    answer = client.get(reverse("admin:registry_usecase_changelist"), {"attention": "yes"})
    if answer.status_code != 200:
        raise RuntimeError(f"the use-case list answered {answer.status_code}")
    return sorted(str(use_case.uid) for use_case in answer.context["cl"].result_list)


def publish_again(uid: str, above: int) -> int:
    """The admin's "publish again" for one record: numbered above the version the network holds."""
    return services.publish_again(_own(uid), above=above).version


def sync_hub_now() -> None:
    """The admin's "Sync now" on the hub peer (no wait for the back-off)."""
    from django.contrib.admin.sites import site
    from django.test import RequestFactory

    from sync.models import Peer

    queryset = Peer.objects.filter(name="hub")
    request = RequestFactory().post("/")
    request._messages = _Messages()
    site._registry[Peer].sync_now(request, queryset)


def queue_hub_syncs(count: int) -> int:
    """`count` sync tasks for the hub peer at once, as beat, push-soon and a redelivered task
    may queue them: whichever workers take them, one sync of the peer runs at a time."""
    from sync import tasks
    from sync.models import Peer

    peer_id = Peer.objects.get(name="hub").pk
    for _ in range(count):
        tasks.run_sync_cycle.delay([peer_id])
    return count


class _Messages(list):
    def add(self, level, message, extra_tags=""):
        self.append(message)


def hub_peer_admin_shows(text: str) -> bool:
    """Whether the hub peer's admin page, opened by a superuser, shows `text`."""
    import secrets

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse
    from django.utils.html import escape

    from sync.models import Peer

    setup_test_environment()
    user, _ = get_user_model().objects.get_or_create(
        username="e2e-superuser", defaults={"is_staff": True, "is_superuser": True}
    )
    user.set_password(secrets.token_urlsafe(24))
    user.save()
    client = Client()
    client.force_login(user)
    peer = Peer.objects.get(name="hub")
    answer = client.get(reverse("admin:sync_peer_change", args=[peer.pk]))
    if answer.status_code != 200:
        raise RuntimeError(f"the peer's admin page answered {answer.status_code}")
    return escape(text) in answer.content.decode("utf-8")


def _own(uid: str) -> UseCase:
    return UseCase.objects.own().get(uid=uuid.UUID(uid))


OPERATIONS = {
    f.__name__: f
    for f in (
        ensure_agencies,
        create,
        edit,
        withdraw,
        publish,
        delete,
        revoke_tokens,
        set_sync_interval,
        needing_attention,
        publish_again,
        sync_hub_now,
        hub_peer_admin_shows,
        queue_hub_syncs,
    )
}


def run(op: str, args: dict) -> None:
    print(json.dumps(OPERATIONS[op](**args)))
