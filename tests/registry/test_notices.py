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
from registry import notices, services, tasks
from registry.models import Notice, UseCase
from tests.factories import UseCaseFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
SITE = "https://ema.example.eu"
MONDAY = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
TODAY = MONDAY.date()
MANY_STALE = "records unchanged for a year or more in production"


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
    agency_admin(username="anna", agency=home_agency, email="anna@ema.example.eu")
    return home_agency


def agency_admin(**fields):
    """A user in the agency admins' group, as create_agency_admin makes them."""
    user = UserFactory(**fields)
    user.groups.add(services.agency_admins_group())
    return user


def link(use_case) -> str:
    return f"{SITE}/admin/registry/usecase/{use_case.pk}/change/"


def due_on(days: int, *, today: dt.date = TODAY, **fields):
    return UseCaseFactory(next_review_on=today + dt.timedelta(days=days), **fields)


def in_production_since(when: dt.datetime, **fields):
    return UseCaseFactory(
        stage="production", operational_since=dt.date(2020, 1, 1), modified=when, **fields
    )


# Recipients -----------------------------------------------------------------------------------


def test_recipients_are_the_mailbox_and_the_active_agency_admins_once_each(agency, other_agency):
    agency_admin(agency=agency, email="ANNA@ema.example.eu")
    agency_admin(agency=agency, email="bo@ema.example.eu")
    agency_admin(agency=agency, email="")
    agency_admin(agency=agency, email="gone@ema.example.eu", is_active=False)
    agency_admin(agency=agency, email="no-admin-access@ema.example.eu", is_staff=False)
    agency_admin(agency=other_agency, email="someone@bfarm.example.de")
    UserFactory(agency=agency, email="reader@ema.example.eu", is_staff=False)
    UserFactory(agency=agency, email="other-staff@ema.example.eu")  # staff, not in the group
    UserFactory(agency=agency, email="root@ema.example.eu", is_superuser=True)
    assert notices.recipients() == [
        "ai-registry@ema.example.eu",
        "anna@ema.example.eu",
        "bo@ema.example.eu",
    ]


def test_staff_outside_the_agency_admins_group_get_no_notice(agency, outbox):
    UserFactory(agency=agency, email="helpdesk@ema.example.eu")  # staff, not an agency admin
    in_production_since(MONDAY - dt.timedelta(days=400))
    notices.deliver_due_notices(now=MONDAY)
    (message,) = outbox
    assert message.to == ["ai-registry@ema.example.eu", "anna@ema.example.eu"]
    assert Notice.objects.get().recipients == message.to


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


def test_records_unchanged_for_a_year_in_production_go_out_in_one_digest_with_links(
    agency, other_agency, outbox
):
    oldest = in_production_since(MONDAY - dt.timedelta(days=800), title="Oldest tool")
    old = in_production_since(MONDAY - dt.timedelta(days=400), title="Old faithful")
    recent = in_production_since(MONDAY - dt.timedelta(days=300), title="Recently changed")
    pilot = UseCaseFactory(stage="pilot", modified=MONDAY - dt.timedelta(days=800), title="Pilot")
    theirs = in_production_since(
        MONDAY - dt.timedelta(days=400), origin=other_agency, title="Their tool"
    )

    notices.deliver_due_notices(now=MONDAY)

    (message,) = outbox
    assert (
        message.subject == "[EMA AI registry] 2 records unchanged for a year or more in production"
    )
    assert message.to == ["ai-registry@ema.example.eu", "anna@ema.example.eu"]
    body = message.body
    assert body.index("Oldest tool") < body.index("Old faithful")  # least recently changed first
    assert "- Oldest tool (unchanged since 2023-12-23, 2 years)" in body
    assert "- Old faithful (unchanged since 2025-01-26, 1 year)" in body
    assert link(oldest) in body and link(old) in body
    assert "… and" not in body
    for absent in (recent, pilot, theirs):
        assert absent.title not in body and link(absent) not in body
    notice = Notice.objects.get()
    assert (notice.kind, notice.key, notice.period) == ("stale", "EMA", "2026-W10")


def test_a_single_stale_record_is_named_in_the_subject(agency, outbox):
    in_production_since(MONDAY - dt.timedelta(days=400), title="Old faithful")
    notices.deliver_due_notices(now=MONDAY)
    (message,) = outbox
    assert message.subject == "[EMA AI registry] “Old faithful” unchanged for 1 year in production"


def test_each_record_is_reported_once_per_year_of_staleness(agency, outbox):
    in_production_since(MONDAY - dt.timedelta(days=400), title="Old faithful")
    in_production_since(MONDAY - dt.timedelta(days=362), title="Due on Thursday")
    in_production_since(MONDAY - dt.timedelta(days=300), title="Due in two months")

    for day in range(14):  # two weeks of daily runs
        notices.deliver_due_notices(now=MONDAY + dt.timedelta(days=day))
    assert [m.subject for m in outbox] == [
        "[EMA AI registry] “Old faithful” unchanged for 1 year in production",
        "[EMA AI registry] “Due on Thursday” unchanged for 1 year in production",
    ]
    for day in range(14, 100):
        notices.deliver_due_notices(now=MONDAY + dt.timedelta(days=day))
    assert len(outbox) == 3
    assert outbox[2].subject.endswith("“Due in two months” unchanged for 1 year in production")

    notices.deliver_due_notices(now=MONDAY + dt.timedelta(days=400))
    (year_two,) = outbox[3:]
    assert (
        year_two.subject == "[EMA AI registry] 2 records unchanged for a year or more in production"
    )
    assert "- Old faithful (unchanged since 2025-01-26, 2 years)" in year_two.body
    assert "Due on Thursday" in year_two.body and "Due in two months" not in year_two.body


def test_a_large_digest_lists_the_first_records_and_links_the_rest(agency, outbox):
    count = notices.STALE_DIGEST_LINES + 7
    records = [
        in_production_since(MONDAY - dt.timedelta(days=400 + n), title=f"Tool {n:03d}")
        for n in range(count)
    ]

    notices.deliver_due_notices(now=MONDAY)
    notices.deliver_due_notices(now=MONDAY + dt.timedelta(days=7))

    (message,) = outbox
    assert message.subject == (
        f"[EMA AI registry] {count} records unchanged for a year or more in production"
    )
    body = message.body
    listed = [r for r in records if link(r) in body]
    # The least recently changed first: the records made last are the oldest.
    assert listed == records[-notices.STALE_DIGEST_LINES :]
    assert body.count("/admin/registry/usecase/") == notices.STALE_DIGEST_LINES + 1
    assert "… and 7 more" in body
    assert f"{SITE}/admin/registry/usecase/?origin=own&stage__exact=production&o=" in body
    assert len(body.splitlines()) < 2 * notices.STALE_DIGEST_LINES + 10
    assert len(Notice.objects.get().records) == count  # the unlisted ones are reported too


def test_the_digests_list_link_shows_production_records_least_recently_changed_first(
    agency, admin_client, settings
):
    settings.SITE_URL = SITE
    middle = in_production_since(MONDAY - dt.timedelta(days=500))
    newest = in_production_since(MONDAY - dt.timedelta(days=10))
    oldest = in_production_since(MONDAY - dt.timedelta(days=900))
    UseCaseFactory(stage="pilot", modified=MONDAY - dt.timedelta(days=2000))

    response = admin_client.get(notices.production_list_link().removeprefix(SITE))

    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown == [oldest, middle, newest]
    assert all(isinstance(use_case, UseCase) for use_case in shown)


def test_records_reported_by_the_per_record_notices_of_before_are_not_reported_again(
    agency, outbox
):
    old = in_production_since(MONDAY - dt.timedelta(days=400), title="Reported before")
    in_production_since(MONDAY - dt.timedelta(days=400), title="Not yet reported")
    Notice.objects.create(  # what the earlier version sent, one notice per record
        kind="stale",
        key=str(old.uid),
        period="2025-01-26+1y",
        subject="…",
        body="…",
        records=[str(old.uid)],
        sent_at=MONDAY - dt.timedelta(days=20),
    )
    notices.deliver_due_notices(now=MONDAY)
    (message,) = outbox
    assert "Not yet reported" in message.subject and "Reported before" not in message.body


def test_a_failed_stale_digest_is_sent_whole_on_the_next_run(agency, outbox, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    in_production_since(MONDAY - dt.timedelta(days=400), title="Old faithful")
    send = EmailBackend.send_messages
    monkeypatch.setattr(EmailBackend, "send_messages", lambda self, messages: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        notices.deliver_due_notices(now=MONDAY)
    monkeypatch.setattr(EmailBackend, "send_messages", send)
    notices.deliver_due_notices(now=MONDAY + dt.timedelta(days=1))
    notices.deliver_due_notices(now=MONDAY + dt.timedelta(days=8))
    (message,) = outbox
    assert "Old faithful" in message.subject


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


SMTP_FORM = "smtp://user:password@host:port"
FILE_FORM = "file:///absolute/folder"


@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("imap://mail.ema.eu", "smtp, smtp+tls, smtp+ssl, smtps, file, console, locmem"),
        ("mail.ema.eu:25", "smtp, smtp+tls"),
        ("smtp://", SMTP_FORM),
        ("smtp://relay:notaport", SMTP_FORM),
        ("smtp+tls://user:secret@relay:99999", SMTP_FORM),
        ("smtp://relay:0", SMTP_FORM),
        ("smtp://relay/inbox", SMTP_FORM),
        ("smtp://[::1", SMTP_FORM),
        ("smtp://relay?timeout=5", "no ?query"),
        ("file://", FILE_FORM),
        ("file:///", FILE_FORM),
        ("file://relative/path", FILE_FORM),
        ("file://localhost/var/mail", FILE_FORM),
        ("file:relative/path", FILE_FORM),
        ("console://somewhere", "console://"),
    ],
)
def test_a_wrong_email_url_stops_start_up_naming_it_and_the_form_expected(url, form):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured) as raised:
        email_from_url(url)
    assert str(raised.value).startswith("EMAIL_URL")
    assert form in str(raised.value)
    assert "secret" not in str(raised.value)  # a password is never echoed


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
