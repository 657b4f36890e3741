"""E-mail notices to this node's agency: its functional mailbox and its active admins.

A notice is claimed before it is sent: a Notice row unique on (kind, key, period), created in a
transaction of its own. Whoever creates the row sends the message and marks it sent; everyone
else (a second worker, a redelivered or retried task, the next daily run) finds the row and does
nothing. A send that fails releases the claim, so the task's retry sends again. A worker that
dies between claim and send leaves a row claimed but not sent: after CLAIM_TIMEOUT the next run
takes it over and sends the message stored in it. So each notice goes out once; only a worker
that dies after the mail server accepted the message and before the row is marked sent makes it
go out twice.

Sending happens in the Celery worker (registry/tasks.py, sync/notices.py), never in a save or a
sync: beat runs `deliver_due_notices` daily (the review digest is once per ISO week, the stale
notice once per record and year, so a daily run sends each once).
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from registry import vocabularies as v
from registry.models import Agency, Notice, UseCase, User

logger = logging.getLogger(__name__)

# Far above a send's worst case (EMAIL_TIMEOUT per SMTP step): a claim this old is abandoned.
CLAIM_TIMEOUT = dt.timedelta(minutes=15)
REVIEW_HORIZON = dt.timedelta(days=30)
STALE_AFTER_DAYS = 365
SCHEDULE_NAME = "E-mail notices"
SCHEDULE_TASK = "registry.tasks.send_due_notices"


@dataclass(frozen=True)
class Draft:
    """A notice before it is claimed: what it is about (kind, key, period) and its message."""

    kind: str
    key: str
    period: str
    subject: str
    body: str
    records: list[str] = field(default_factory=list)


def recipients() -> list[str]:
    """The agency's contact e-mail, then its active admins' e-mails: de-duplicated, none empty."""
    code = settings.NODE_AGENCY
    mailbox = Agency.objects.filter(code=code).values_list("contact_email", flat=True).first()
    admins = User.objects.filter(agency_id=code, is_active=True, is_staff=True).exclude(email="")
    found: dict[str, str] = {}
    for address in [mailbox or "", *admins.order_by("pk").values_list("email", flat=True)]:
        address = address.strip()
        if address:
            found.setdefault(address.lower(), address)
    return list(found.values())


def subject(text: str) -> str:
    return f"[{settings.NODE_AGENCY} AI registry] {text}"


def record_link(use_case_pk: int) -> str:
    """The absolute address of a record's page in the admin."""
    return settings.SITE_URL + reverse("admin:registry_usecase_change", args=[use_case_pk])


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# Claim, send, mark sent ---------------------------------------------------------------------


def deliver(draft: Draft, *, now: dt.datetime | None = None) -> Notice | None:
    """Send `draft` unless it was already claimed; the Notice sent, or None. Raises what the mail
    backend raises (OSError, smtplib.SMTPException), after releasing the claim."""
    now = now or timezone.now()
    to = recipients()
    if not to:
        logger.warning(
            "Notice %s %s %s not sent: %s has no contact e-mail and no admin with an e-mail",
            draft.kind,
            draft.key,
            draft.period,
            settings.NODE_AGENCY,
        )
        return None
    notice = _claim(draft, to, now)
    if notice is not None:
        _send(notice)
    return notice


def deliver_unsent(*, now: dt.datetime | None = None) -> list[Notice]:
    """Send the notices whose worker died after claiming them (claims older than CLAIM_TIMEOUT)."""
    now = now or timezone.now()
    sent = []
    for notice in Notice.objects.filter(sent_at=None, claimed_at__lt=now - CLAIM_TIMEOUT):
        if _take_over(notice, now):
            _send(notice)
            sent.append(notice)
    return sent


def _claim(draft: Draft, to: list[str], now: dt.datetime) -> Notice | None:
    try:
        with transaction.atomic():
            return Notice.objects.create(
                kind=draft.kind,
                key=draft.key,
                period=draft.period,
                recipients=to,
                subject=draft.subject,
                body=draft.body,
                records=draft.records,
                claimed_at=now,
            )
    except IntegrityError:
        existing = Notice.objects.get(kind=draft.kind, key=draft.key, period=draft.period)
        return existing if _take_over(existing, now) else None


def _take_over(notice: Notice, now: dt.datetime) -> bool:
    """Claim again a notice left unsent past CLAIM_TIMEOUT; only one of several callers wins."""
    if notice.sent_at is not None or notice.claimed_at >= now - CLAIM_TIMEOUT:
        return False
    won = Notice.objects.filter(pk=notice.pk, sent_at=None, claimed_at=notice.claimed_at).update(
        claimed_at=now
    )
    if won:
        notice.claimed_at = now
    return bool(won)


def _send(notice: Notice) -> None:
    message = EmailMessage(subject=notice.subject, body=notice.body, to=notice.recipients)
    try:
        message.send()
    except Exception:
        # Released, so that the task's retry claims and sends it again.
        Notice.objects.filter(pk=notice.pk, sent_at=None, claimed_at=notice.claimed_at).delete()
        raise
    notice.sent_at = timezone.now()
    Notice.objects.filter(pk=notice.pk).update(sent_at=notice.sent_at)
    logger.info("Notice sent to %s: %s", ", ".join(notice.recipients), notice.subject)


# The notices of the registry ----------------------------------------------------------------


def review_digest(*, today: dt.date) -> Draft | None:
    """The week's digest of own records still in use whose review is overdue or due within 30
    days; None when there are none."""
    due = list(
        UseCase.objects.own()
        .exclude(stage=v.Stage.RETIRED)
        .filter(next_review_on__lte=today + REVIEW_HORIZON)
        .order_by("next_review_on", "title")
        .only("pk", "uid", "title", "next_review_on")
    )
    if not due:
        return None
    overdue = [use_case for use_case in due if use_case.next_review_on < today]
    upcoming = [use_case for use_case in due if use_case.next_review_on >= today]
    lines = [f"Reviews of {settings.NODE_AGENCY}'s AI use cases as of {today.isoformat()}."]
    for heading, group in (("Overdue", overdue), ("Due within 30 days", upcoming)):
        if group:
            lines += ["", f"{heading}:"]
            lines += [
                f"- {u.title} (review {u.next_review_on.isoformat()})\n  {record_link(u.pk)}"
                for u in group
            ]
    year, week, _ = today.isocalendar()
    return Draft(
        kind=Notice.Kind.REVIEWS,
        key=settings.NODE_AGENCY,
        period=f"{year}-W{week:02d}",
        subject=subject(f"Reviews: {len(overdue)} overdue, {len(upcoming)} due within 30 days"),
        body="\n".join(lines) + "\n",
        records=[str(use_case.uid) for use_case in due],
    )


def stale_notices(*, now: dt.datetime) -> list[Draft]:
    """One notice per own production record unchanged for a year or more, per year: the period
    is the day of its last change and the whole years since, so a change starts over."""
    drafts = []
    stale = (
        UseCase.objects.own()
        .filter(stage=v.Stage.PRODUCTION, modified__lte=now - dt.timedelta(days=STALE_AFTER_DAYS))
        .order_by("modified")
        .only("pk", "uid", "title", "modified")
    )
    for use_case in stale:
        years = (now - use_case.modified).days // STALE_AFTER_DAYS
        since = use_case.modified.date().isoformat()
        title = use_case.title if len(use_case.title) <= 120 else use_case.title[:119] + "…"
        body = (
            f"“{use_case.title}” has been in production and unchanged since {since} "
            f"({plural(years, 'year')}). Please check that its record still describes the tool "
            f"as it runs today, and save it (or retire it):\n\n{record_link(use_case.pk)}\n"
        )
        drafts.append(
            Draft(
                kind=Notice.Kind.STALE,
                key=str(use_case.uid),
                period=f"{since}+{years}y",
                subject=subject(f"“{title}” unchanged for {plural(years, 'year')} in production"),
                body=body,
                records=[str(use_case.uid)],
            )
        )
    return drafts


def deliver_due_notices(*, now: dt.datetime | None = None) -> list[Notice]:
    """Beat's daily run: abandoned claims, the week's review digest, the stale-record notices."""
    now = now or timezone.now()
    sent = deliver_unsent(now=now)
    drafts = stale_notices(now=now)
    digest = review_digest(today=timezone.localdate(now))
    if digest is not None:
        drafts.insert(0, digest)
    for draft in drafts:
        notice = deliver(draft, now=now)
        if notice is not None:
            sent.append(notice)
    return sent


def ensure_notice_schedule() -> PeriodicTask:
    """The daily notices run in django-celery-beat's tables (the post_migrate hook in apps.py):
    created once, so an admin's change in Periodic tasks is kept. A start time makes beat run it
    when it first starts (without one, the first run waits a day from the migrate)."""
    every_day, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.DAYS)
    task, _ = PeriodicTask.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={"task": SCHEDULE_TASK, "interval": every_day, "start_time": timezone.now()},
    )
    return task
