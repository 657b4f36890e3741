"""A real Celery worker sends each notice once: the daily notices task queued twice (as a
redelivery would) leaves one e-mail per notice in the file backend's folder (EMAIL_URL
file:///...). One agency node of its own, only its worker running; on PostgreSQL and Redis it
takes the Redis database of the single-module federations, which never run at the same time."""

import email
import email.policy
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import single_agency_node
from tests.e2e.helpers import wait_until

pytestmark = pytest.mark.e2e

SITE = "https://ema.example.eu"
SETUP = """
import datetime as dt
from django.utils import timezone
from registry.models import Agency
from tests.factories import UseCaseFactory
Agency.objects.filter(code="EMA").update(contact_email="ai-registry@ema.example.eu")
now = timezone.now()
record = UseCaseFactory(
    title="Old and due", stage="production", operational_since=dt.date(2020, 1, 1),
    next_review_on=now.date() - dt.timedelta(days=2), modified=now - dt.timedelta(days=400),
)
print(record.pk)
"""
QUEUE_TWICE = "from registry import tasks\n" + "tasks.send_due_notices.delay()\n" * 2
DONE = re.compile(r"Task registry\.tasks\.send_due_notices\[[0-9a-f-]+\] succeeded")


@pytest.fixture
def node(tmp_path, marker):
    with single_agency_node(
        tmp_path / "ema",
        f"{marker}-notices",
        {"EMAIL_URL": f"file://{tmp_path / 'mail'}", "SITE_URL": SITE},
    ) as node:
        yield node


def test_a_worker_sends_each_notice_once_when_its_task_is_delivered_twice(node, tmp_path):
    pk = int(node.shell(SETUP).strip().splitlines()[-1])
    node.shell(QUEUE_TWICE)
    node.start_process("worker")

    wait_until(
        lambda: len(DONE.findall((node.log_dir / "worker.log").read_text(errors="replace"))) >= 2,
        timeout=90,
        what="the worker to run both tasks",
    )
    mails = [mail for path in sorted((tmp_path / "mail").glob("*.log")) for mail in read(path)]
    assert sorted(mail["Subject"].strip() for mail in mails) == [
        "[EMA AI registry] Reviews: 1 overdue, 0 due within 30 days",
        "[EMA AI registry] “Old and due” unchanged for 1 year in production",
    ]
    for mail in mails:
        assert mail["To"] == "ai-registry@ema.example.eu"
        assert f"{SITE}/admin/registry/usecase/{pk}/change/" in mail.get_content()


def read(path: Path) -> list[email.message.EmailMessage]:
    """The messages of one file: the file backend writes those of a connection, each followed by
    a line of dashes (a file per connection, but two connections of one second may share one)."""
    return [
        email.message_from_string(part.lstrip(), policy=email.policy.default)
        for part in path.read_text().split("-" * 79)
        if part.strip()
    ]
