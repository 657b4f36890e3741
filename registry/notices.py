"""E-mail notices to this node's agency: its functional mailbox and its agency admins.

A notice is claimed before it is sent: a Notice row unique on (kind, key, period), created in a
transaction of its own. Whoever creates the row sends the message and marks it sent; everyone
else (a second worker, a redelivered or retried task, the next daily run) finds the row and does
nothing. A send that fails releases the claim, so the task's retry sends again. A worker that
dies between claim and send leaves a row claimed but not sent: after CLAIM_TIMEOUT the next run
takes it over and sends the message stored in it. So each notice goes out once; only a worker
that dies after the mail server accepted the message and before the row is marked sent makes it
go out twice.

Sending happens in the Celery worker (registry/tasks.py, sync/notices.py), never in a save or a
sync: beat runs `deliver_due_notices` daily. The review digest and the stale digest are each
once per ISO week; the stale digest lists the records due that no earlier one reported (its
records), so a record is reported once per year without a change.
"""

import datetime as dt
import logging
import urllib.parse
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from registry import vocabularies as v
from registry.models import Agency, Notice, UseCase, User
from registry.services import AGENCY_ADMINS_GROUP

logger = logging.getLogger(__name__)

# Far above a send's worst case (EMAIL_TIMEOUT per SMTP step): a claim this old is abandoned.
CLAIM_TIMEOUT = dt.timedelta(minutes=15)
# How every task that sends mail retries: smtplib.SMTPException and socket errors are OSErrors,
# a mail server that is down or slow (registry/tasks.py, sync/notices.py, webhooks/tasks.py).
MAIL_TASK_OPTIONS = {
    "ignore_result": True,
    "autoretry_for": (OSError,),
    "retry_backoff": 60,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 8,
}
REVIEW_HORIZON = dt.timedelta(days=30)
STALE_AFTER_DAYS = 365
# Records a stale digest lists one by one; the rest are counted and linked to in the admin list.
STALE_DIGEST_LINES = 50
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
    """The agency's contact e-mail, then the e-mails of its agency admins: the active staff users
    of this agency in the "Agency admins" group (registry.services.AGENCY_ADMINS_GROUP, the group
    create_agency_admin puts them in, which may open the records and refusals the notices link
    to). Other staff and superusers outside the group get none. De-duplicated, none empty."""
    code = settings.NODE_AGENCY
    mailbox = Agency.objects.filter(code=code).values_list("contact_email", flat=True).first()
    admins = (
        User.objects.filter(
            agency_id=code, is_active=True, is_staff=True, groups__name=AGENCY_ADMINS_GROUP
        )
        .exclude(email="")
        .distinct()
    )
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


def stale_item(use_case: UseCase, years: int) -> str:
    """A record's year of staleness, as a digest reports it: the record, the day of its last
    change and the whole years since (a change starts over, with a new day)."""
    return f"{use_case.uid}/{use_case.modified.date().isoformat()}+{years}y"


def reported_stale_items() -> set[str]:
    """The years of staleness an earlier notice reported (or claimed, sent or not): the digests'
    records, and the per-record notices of before the digest (key the record, period the day
    and years)."""
    reported: set[str] = set()
    rows = Notice.objects.filter(kind=Notice.Kind.STALE).values_list("key", "period", "records")
    for key, period, records in rows.iterator():
        if "+" in period:  # a per-record notice of an earlier version
            reported.add(f"{key}/{period}")
        else:
            reported.update(records)
    return reported


def stale_digest(*, now: dt.datetime) -> Draft | None:
    """The week's digest of own production records unchanged for a year or more that no earlier
    digest reported for this year of staleness; None when there are none. Each record is
    reported once per year without a change: a record that falls due after this week's digest
    went out is in next week's. The body lists the first STALE_DIGEST_LINES, each with its link,
    and links the admin list of production records, least recently changed first, for the rest."""
    reported = reported_stale_items()
    stale = (
        UseCase.objects.own()
        .filter(stage=v.Stage.PRODUCTION, modified__lte=now - dt.timedelta(days=STALE_AFTER_DAYS))
        .order_by("modified", "pk")
        .only("pk", "uid", "title", "modified")
    )
    due = []
    for use_case in stale.iterator():
        years = (now - use_case.modified).days // STALE_AFTER_DAYS
        item = stale_item(use_case, years)
        if item not in reported:
            due.append((use_case, years, item))
    if not due:
        return None
    lines = [
        f"{plural(len(due), 'AI use case')} of {settings.NODE_AGENCY} "
        f"{'has' if len(due) == 1 else 'have'} been in production and unchanged for a year or "
        "more. Please check that each record still describes the tool as it runs today, and "
        "save it (or retire it).",
        "",
    ]
    for use_case, years, _ in due[:STALE_DIGEST_LINES]:
        since = use_case.modified.date().isoformat()
        lines.append(
            f"- {use_case.title} (unchanged since {since}, {plural(years, 'year')})\n"
            f"  {record_link(use_case.pk)}"
        )
    if len(due) > STALE_DIGEST_LINES:
        lines += [
            "",
            f"… and {len(due) - STALE_DIGEST_LINES} more: every production record, least "
            f"recently changed first:\n  {production_list_link()}",
        ]
    if len(due) == 1:
        use_case, years, _ = due[0]
        title = use_case.title if len(use_case.title) <= 120 else use_case.title[:119] + "…"
        text = f"“{title}” unchanged for {plural(years, 'year')} in production"
    else:
        text = f"{plural(len(due), 'record')} unchanged for a year or more in production"
    year, week, _ = timezone.localdate(now).isocalendar()
    return Draft(
        kind=Notice.Kind.STALE,
        key=settings.NODE_AGENCY,
        period=f"{year}-W{week:02d}",
        subject=subject(text),
        body="\n".join(lines) + "\n",
        records=[item for _, _, item in due],
    )


def production_list_link() -> str:
    """The admin list of the agency's own production records, least recently changed first (the
    list sorts by the index of its "modified" column, as Django's admin does)."""
    from registry.admin import OriginFilter, UseCaseAdmin  # the admin imports much; only here

    # The columns of the own records' list: the actions' checkbox first, no origin column.
    columns = ["action_checkbox", *(n for n in UseCaseAdmin.list_display if n != "origin_code")]
    query = urllib.parse.urlencode(
        {
            OriginFilter.parameter_name: OriginFilter.OWN,
            "stage__exact": v.Stage.PRODUCTION,
            "o": columns.index("modified_on"),
        }
    )
    return f"{settings.SITE_URL}{reverse('admin:registry_usecase_changelist')}?{query}"


def deliver_due_notices(*, now: dt.datetime | None = None) -> list[Notice]:
    """Beat's daily run: abandoned claims, the week's review digest, the week's stale digest."""
    now = now or timezone.now()
    sent = deliver_unsent(now=now)
    drafts = [review_digest(today=timezone.localdate(now)), stale_digest(now=now)]
    for draft in filter(None, drafts):
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
