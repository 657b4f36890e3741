"""E-mail notices of the registry, captured by Django's locmem backend: the weekly review digest,
the stale-in-production notice, who gets them, and that each goes out once (registry/notices.py)."""

import datetime as dt
import os
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.settings import email_from_url
from registry import notices, tasks
from registry.models import Notice
from tests.factories import UseCaseFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
SITE = "https://ema.example.eu"
MONDAY = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
TODAY = MONDAY.date()


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def outbox(settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = SITE
    return mailoutbox


@pytest.fixture
def agency(home_agency):
    home_agency.contact_email = "ai-registry@ema.example.eu"
    home_agency.save()
    UserFactory(username="anna", agency=home_agency, email="anna@ema.example.eu")
    return home_agency


def link(use_case) -> str:
    return f"{SITE}/admin/registry/usecase/{use_case.pk}/change/"


def due_on(days: int, *, today: dt.date = TODAY, **fields):
    return UseCaseFactory(next_review_on=today + dt.timedelta(days=days), **fields)


def in_production_since(when: dt.datetime, **fields):
    return UseCaseFactory(
        stage="production", operational_since=dt.date(2020, 1, 1), modified=when, **fields
    )


# Recipients -----------------------------------------------------------------------------------


def test_recipients_are_the_mailbox_and_the_active_admins_once_each(agency, other_agency):
    UserFactory(agency=agency, email="ANNA@ema.example.eu")
    UserFactory(agency=agency, email="bo@ema.example.eu")
    UserFactory(agency=agency, email="")
    UserFactory(agency=agency, email="gone@ema.example.eu", is_active=False)
    UserFactory(agency=agency, email="reader@ema.example.eu", is_staff=False)
    UserFactory(agency=other_agency, email="someone@bfarm.example.de")
    assert notices.recipients() == [
        "ai-registry@ema.example.eu",
        "anna@ema.example.eu",
        "bo@ema.example.eu",
    ]


def test_without_any_recipient_nothing_is_sent_or_claimed_and_it_is_logged(
    home_agency, outbox, caplog
):
    due_on(-1)
    assert notices.deliver_due_notices(now=MONDAY) == []
    assert outbox == [] and not Notice.objects.exists()
    assert "EMA has no contact e-mail and no admin with an e-mail" in caplog.text

    home_agency.contact_email = "ai-registry@ema.example.eu"
    home_agency.save()
    notices.deliver_due_notices(now=MONDAY)
    assert [m.to for m in outbox] == [["ai-registry@ema.example.eu"]]


# The weekly review digest ---------------------------------------------------------------------


def test_the_review_digest_lists_overdue_and_upcoming_reviews_with_links(
    agency, other_agency, outbox
):
    overdue = due_on(-3, title="Overdue tool")
    upcoming = due_on(10, title="Upcoming tool")
    later = due_on(45, title="Later tool")
    retired = due_on(-3, title="Retired tool", stage="retired", retired_on=dt.date(2026, 1, 1))
    received = due_on(-3, title="Their tool", origin=other_agency)

    notices.deliver_due_notices(now=MONDAY)

    (message,) = outbox
    assert message.subject == "[EMA AI registry] Reviews: 1 overdue, 1 due within 30 days"
    assert message.to == ["ai-registry@ema.example.eu", "anna@ema.example.eu"]
    body = message.body
    assert body.index("Overdue:") < body.index("Overdue tool") < body.index("Due within 30 days")
    assert body.index("Due within 30 days") < body.index("Upcoming tool")
    assert link(overdue) in body and link(upcoming) in body
    assert "(review 2026-02-27)" in body
    for absent in (later, retired, received):
        assert absent.title not in body and link(absent) not in body


def test_the_review_digest_goes_out_once_per_iso_week_however_often_it_runs(agency, outbox):
    due_on(5)
    for hours in (0, 1, 24, 4 * 24):  # Monday twice, Tuesday, Friday
        notices.deliver_due_notices(now=MONDAY + dt.timedelta(hours=hours))
    assert len(outbox) == 1
    assert Notice.objects.get().period == "2026-W10"

    notices.deliver_due_notices(now=MONDAY + dt.timedelta(days=7))
    assert len(outbox) == 2


def test_no_review_due_sends_no_digest(agency, outbox):
    due_on(31)
    UseCaseFactory(next_review_on=None)
    notices.deliver_due_notices(now=MONDAY)
    assert outbox == []


# The stale-in-production notice ---------------------------------------------------------------


def test_a_record_unchanged_for_a_year_in_production_gets_one_notice_per_year(agency, outbox):
    old = in_production_since(MONDAY - dt.timedelta(days=400), title="Old faithful")
    in_production_since(MONDAY - dt.timedelta(days=300), title="Recently changed")
    UseCaseFactory(stage="pilot", modified=MONDAY - dt.timedelta(days=800), title="Old pilot")

    notices.deliver_due_notices(now=MONDAY)
    notices.deliver_due_notices(now=MONDAY + dt.timedelta(days=50))
    (message,) = outbox
    assert message.subject == "[EMA AI registry] “Old faithful” unchanged for 1 year in production"
    assert "unchanged since 2025-01-26 (1 year)" in message.body
    assert link(old) in message.body

    notices.deliver_due_notices(now=MONDAY + dt.timedelta(days=400))
    assert sorted(m.subject for m in outbox[1:]) == [
        "[EMA AI registry] “Old faithful” unchanged for 2 years in production",
        "[EMA AI registry] “Recently changed” unchanged for 1 year in production",
    ]


def test_a_change_starts_the_year_over(agency, outbox):
    record = in_production_since(MONDAY - dt.timedelta(days=400))
    notices.deliver_due_notices(now=MONDAY)
    record.modified = MONDAY  # what services.save_use_case does
    record.save()
    notices.deliver_due_notices(now=MONDAY + dt.timedelta(days=300))
    assert len(outbox) == 1
    notices.deliver_due_notices(now=MONDAY + dt.timedelta(days=366))
    assert len(outbox) == 2


def test_other_agencies_records_get_no_stale_notice(agency, other_agency, outbox):
    in_production_since(MONDAY - dt.timedelta(days=400), origin=other_agency)
    notices.deliver_due_notices(now=MONDAY)
    assert outbox == []


# Once, whatever the number of workers, retries and redeliveries --------------------------------


def test_a_redelivered_task_sends_each_notice_once(agency, outbox):
    now = timezone.now()  # the task runs on the clock
    due_on(3, today=now.date())
    in_production_since(now - dt.timedelta(days=400))
    tasks.send_due_notices.apply()
    tasks.send_due_notices.apply()  # the same message delivered again
    assert len(outbox) == 2
    sent = Notice.objects.filter(sent_at__isnull=False)
    assert sorted(sent.values_list("kind", flat=True)) == ["reviews", "stale"]


def test_a_notice_another_worker_claimed_is_not_sent_again(agency, outbox):
    due_on(3)
    draft = notices.review_digest(today=TODAY)
    assert notices.deliver(draft, now=MONDAY) is not None
    assert notices.deliver(draft, now=MONDAY + dt.timedelta(hours=1)) is None
    assert len(outbox) == 1


def test_a_mail_server_error_releases_the_claim_and_the_task_retries_once(
    agency, outbox, monkeypatch
):
    from django.core.mail.backends.locmem import EmailBackend

    due_on(3, today=timezone.now().date())  # the task runs on the clock
    send = EmailBackend.send_messages
    failures = []

    def fail_once(self, messages):
        if not failures:
            failures.append(messages)
            raise smtplib.SMTPServerDisconnected("the mail server went away")
        return send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", fail_once)
    tasks.send_due_notices.apply()  # eager: the declared autoretry runs the retry at once
    assert len(failures) == 1
    assert len(outbox) == 1
    assert Notice.objects.get().sent_at is not None


def test_a_failed_send_leaves_no_claim_behind(agency, outbox, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    def refuse(self, messages):
        raise ConnectionRefusedError("no mail server")

    due_on(3)
    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    with pytest.raises(OSError):
        notices.deliver_due_notices(now=MONDAY)
    assert not Notice.objects.exists()


def test_a_claim_left_unsent_by_a_dead_worker_is_sent_once_after_the_timeout(agency, outbox):
    due_on(3)
    draft = notices.review_digest(today=TODAY)
    Notice.objects.create(  # claimed, then the worker died before sending
        kind=draft.kind,
        key=draft.key,
        period=draft.period,
        recipients=["ai-registry@ema.example.eu"],
        subject="The digest as it was claimed",
        body=draft.body,
        claimed_at=MONDAY,
    )
    notices.deliver_due_notices(now=MONDAY + dt.timedelta(minutes=5))
    assert outbox == []  # its worker may still be sending it

    later = MONDAY + notices.CLAIM_TIMEOUT + dt.timedelta(minutes=1)
    notices.deliver_due_notices(now=later)
    notices.deliver_due_notices(now=later + dt.timedelta(minutes=1))
    (message,) = outbox
    assert message.subject == "The digest as it was claimed"
    assert message.to == ["ai-registry@ema.example.eu"]
    assert Notice.objects.get().sent_at is not None


# Schedule and settings ------------------------------------------------------------------------


def test_a_daily_run_exists_after_migrate_and_keeps_admin_edits(db):
    from config.celery import app

    task = PeriodicTask.objects.get(name=notices.SCHEDULE_NAME)
    assert task.task == "registry.tasks.send_due_notices"
    assert (task.interval.every, task.interval.period) == (1, IntervalSchedule.DAYS)
    assert task.start_time is not None  # beat runs it when it first starts
    app.loader.import_default_modules()
    assert task.task in app.tasks

    task.enabled = False
    task.save()
    notices.ensure_notice_schedule()  # what post_migrate runs
    assert PeriodicTask.objects.filter(name=notices.SCHEDULE_NAME, enabled=False).count() == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp+tls://registry%40ema.eu:p%2Fss@mail.ema.eu",
            {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "mail.ema.eu",
                "EMAIL_PORT": 587,
                "EMAIL_HOST_USER": "registry@ema.eu",
                "EMAIL_HOST_PASSWORD": "p/ss",
                "EMAIL_USE_TLS": True,
                "EMAIL_USE_SSL": False,
            },
        ),
        ("smtp://relay:2525", {"EMAIL_HOST": "relay", "EMAIL_PORT": 2525, "EMAIL_USE_TLS": False}),
        ("smtps://relay", {"EMAIL_PORT": 465, "EMAIL_USE_SSL": True}),
        (
            "file:///var/mail/registry",
            {
                "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                "EMAIL_FILE_PATH": "/var/mail/registry",
            },
        ),
        ("console://", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
    ],
)
def test_email_url_gives_django_its_email_settings(url, expected):
    config = email_from_url(url)
    assert {name: config.get(name) for name in expected} == expected


@pytest.mark.parametrize("url", ["imap://mail.ema.eu", "smtp://", "file://"])
def test_a_wrong_email_url_stops_start_up(url):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        email_from_url(url)


def email_settings(tmp_path, **env: str) -> list[str]:
    """EMAIL_BACKEND and EMAIL_FILE_PATH as a fresh interpreter reads them from `env`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings", DATA_DIR=str(tmp_path), **env)
    code = "from django.conf import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_FILE_PATH)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.split()


def test_by_default_mail_goes_to_files_in_the_data_dir(tmp_path):
    assert email_settings(tmp_path) == [
        "django.core.mail.backends.filebased.EmailBackend",
        str(tmp_path / "mail"),
    ]


def test_email_url_wins_over_the_email_variables(tmp_path):
    assert email_settings(tmp_path, EMAIL_HOST="relay")[0].endswith("smtp.EmailBackend")
    backend = email_settings(tmp_path, EMAIL_HOST="relay", EMAIL_URL="console://")[0]
    assert backend == "django.core.mail.backends.console.EmailBackend"
