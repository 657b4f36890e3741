"""Outgoing webhooks with real processes: an agency node's Celery worker and beat, a receiver
process on 127.0.0.1 that verifies every signature and fails its first two requests, and a
receiver that is not there. The published record has one effect at the live receiver after two
failures (the same webhook-id three times), its withdrawal a second; the dead receiver's
subscription is disabled and its owner e-mailed (the file backend)."""

import base64
import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from federation import processes
from federation.launcher import Node
from tests.e2e.conftest import single_agency_node
from tests.e2e.helpers import wait_until
from tests.e2e.test_notices_e2e import read

pytestmark = pytest.mark.e2e

RECEIVER = Path(__file__).with_name("webhook_receiver.py")
SETUP = """
import json
from registry import services as registry
from tests.factories import UseCaseFactory, UserFactory
from webhooks import services
from webhooks.models import Subscription
owner = UserFactory(username="olga", agency_id="EMA", email="olga@ema.example.eu")
live = services.create_subscription(name="Live", url={live!r}, owner=owner)
Subscription.objects.filter(pk=live.pk).update(secret={secret!r})
dead = services.create_subscription(name="Dead", url={dead!r}, owner=owner)
record = registry.set_publication_level(UseCaseFactory(title="Signal ranking"), "public")
print(json.dumps({{"uid": str(record.uid), "dead": dead.pk}}))
"""
WITHDRAW = """
from registry import services
from registry.models import UseCase
services.withdraw(UseCase.objects.get(uid={uid!r}))
"""
STATE = """
import json
from webhooks.models import Delivery, Subscription
dead = Subscription.objects.get(name="Dead")
live = [
    [d.webhook_id, d.kind, d.status, [a.status_code for a in d.attempt_log.all()]]
    for d in Delivery.objects.filter(subscription__name="Live").order_by("pk")
]
print(json.dumps({
    "dead_enabled": dead.enabled,
    "dead_told": dead.owner_notified_at is not None,
    "live": live,
}))
"""


@pytest.fixture
def node(tmp_path, marker):
    with single_agency_node(
        tmp_path / "ema",
        f"{marker}-webhooks",
        {
            "EMAIL_URL": f"file://{tmp_path / 'mail'}",
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1",
            "WEBHOOKS_RETRY_SCHEDULE": "1,1",
            "WEBHOOKS_DISABLE_AFTER_FAILURES": "1",
            "WEBHOOKS_DISPATCH_INTERVAL_SECONDS": "1",
            "WEBHOOKS_HTTP_TIMEOUT_SECONDS": "3",
        },
    ) as node:
        yield node


@pytest.fixture
def receiver(tmp_path):
    """The live receiver process; its secret, URL and log."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    port = processes.free_port()
    log = tmp_path / "receiver.jsonl"
    process = subprocess.Popen(
        [sys.executable, str(RECEIVER), f"--port={port}", f"--secret={secret}", f"--log={log}"]
        + ["--fail-first=2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "listening"
        yield {"secret": secret, "url": f"http://127.0.0.1:{port}/hooks", "log": log}
    finally:
        process.terminate()
        process.wait(timeout=10)


def received(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def state(node: Node) -> dict:
    return json.loads(node.shell(STATE).strip().splitlines()[-1])


def test_a_published_record_has_one_effect_after_two_failures_and_a_dead_receiver_is_disabled(
    node, receiver, tmp_path
):
    dead_url = f"http://127.0.0.1:{processes.free_port()}/hooks"
    setup = SETUP.format(live=receiver["url"], secret=receiver["secret"], dead=dead_url)
    uid = json.loads(node.shell(setup).strip().splitlines()[-1])["uid"]
    node.start_process("worker")
    node.start_process("beat")

    wait_until(
        lambda: any(line["effect"] for line in received(receiver["log"])),
        timeout=90,
        what="the live receiver to act on the published record",
    )
    lines = received(receiver["log"])
    assert [line["status"] for line in lines] == [500, 500, 204]
    assert all(line["valid"] for line in lines)
    assert len({line["id"] for line in lines}) == 1
    assert [(line["type"], line["uid"]) for line in lines if line["effect"]] == [
        ("use_case.published", uid)
    ]

    wait_until(
        lambda: list((tmp_path / "mail").glob("*.log")) and not state(node)["dead_enabled"],
        timeout=90,
        what="the dead receiver's subscription to be disabled and its owner e-mailed",
    )
    mails = [mail for path in sorted((tmp_path / "mail").glob("*.log")) for mail in read(path)]
    told = [mail for mail in mails if "Webhook" in mail["Subject"]]
    assert [(mail["To"], mail["Subject"].strip()) for mail in told] == [
        ("olga@ema.example.eu", "[EMA AI registry] Webhook “Dead” disabled")
    ]

    node.shell(WITHDRAW.format(uid=uid))
    wait_until(
        lambda: (
            [line["type"] for line in received(receiver["log"]) if line["effect"]]
            == ["use_case.published", "use_case.withdrawn"]
        ),
        timeout=90,
        what="the live receiver to act on the withdrawal",
    )
    now = state(node)
    assert now["dead_told"] is True
    assert [(kind, status, codes) for _, kind, status, codes in now["live"]] == [
        ("use_case.published", "delivered", [500, 500, 204]),
        ("use_case.withdrawn", "delivered", [204]),
    ]
    assert now["live"][0][0] == lines[0]["id"]
    assert len(received(receiver["log"])) == 4  # nothing sent twice
