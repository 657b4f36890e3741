"""Outgoing webhooks: subscriptions, the events made from the node's change feed, and their
delivery (docs/webhooks.md).

Events. The feed holds the latest state of every shared record, tombstones included, in commit
order. Each subscription keeps its own cursor in it; `dispatch` reads the entries after the
cursor, decides for each what the subscriber must hear, creates the Deliveries and moves the
cursor, all in one transaction. A Delivery is unique per (subscription, origin, uid, version), so
a repeated or concurrent dispatch never makes a second one. What a subscriber hears depends on
what it was told before: a record it can see (its level, the catalogue's filters) is `published`
the first time and `updated` after; a record it was told of and can no longer see (withdrawn,
deleted, dropped from public to network, or no longer matching) is `withdrawn`; others are none
of its business.

Delivery. An attempt claims its Delivery (next_attempt_at pushed past the attempt's timeout),
signs the stored body with the subscription's secret (Standard Webhooks: the Delivery's
`webhook-id`, a fresh timestamp), posts it through webhooks/http.py, logs a DeliveryAttempt and
schedules the next one by WEBHOOKS_RETRY_SCHEDULE. Every attempt of a Delivery carries the same id
and body, so a receiver that keeps the ids it has handled acts once. A Delivery that exhausts its
attempts fails; WEBHOOKS_DISABLE_AFTER_FAILURES failed Deliveries in a row (no success between)
disable the subscription, and its owner is told by e-mail.
"""

import base64
import binascii
import datetime as dt
import json
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from standardwebhooks import Webhook

from catalogue.filters import FILTERS, FilterInvalid, filters_to_q
from catalogue.query_text import search_text_errors
from catalogue.selectors import NETWORK_FIELDS, PUBLIC_FIELDS, search_use_cases
from registry import feed
from registry import vocabularies as v
from registry.models import FeedEntry, UseCase
from registry.services import agency_mailbox
from webhooks import http
from webhooks.models import (
    MAX_SECRET_BYTES,
    MIN_SECRET_BYTES,
    SECRET_PREFIX,
    Delivery,
    DeliveryAttempt,
    Subscription,
    new_secret,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_BATCHES_PER_RUN = 20
# An attempt holds its Delivery this long beyond the HTTP timeout; a worker that dies mid-attempt
# leaves it to the next dispatch after that.
CLAIM_MARGIN_SECONDS = 60
SCHEDULE_NAME = "Webhooks"
SCHEDULE_TASK = "webhooks.tasks.dispatch_webhooks"
USER_AGENT = "ai-registry-webhooks/1"

Key = tuple[str, object, int]  # origin, uid, version


# ---- subscriptions ----------------------------------------------------------------------------


SEARCH_PARAMETER = "search"


def normalise_filters(filters: str) -> str:
    """The filters as stored: surrounding blanks and a leading "?" (copied with the query) off."""
    return filters.strip().removeprefix("?").strip()


def filter_errors(filters: str, *, network: bool) -> list[str]:
    """What is wrong with a subscription's filters (normalised): a full address instead of the
    query, a parameter the catalogue does not filter on (paging and sorting included: a
    subscription has neither), a network-tier filter without network records, a bad value."""
    first_name = filters.split("&")[0].split("=")[0]
    if "://" in filters or any(c in first_name for c in "/?:") or first_name.startswith("www."):
        return [
            "Give the query parameters only (what follows “?” in a catalogue address, e.g. "
            "agency=EMA&stage=production), not a full address."
        ]
    params = QueryDict(filters)
    names = [SEARCH_PARAMETER, *FILTERS]
    unknown = [name for name in params if name not in names]
    if unknown:
        return [
            f"Unknown parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"The catalogue filters on: {', '.join(names)}."
        ]
    network_only = [name for name in params if name in FILTERS and FILTERS[name].network_only]
    if network_only and not network:
        return [
            f"{', '.join(network_only)}: this filter needs “network records” ticked (it is "
            "about network-tier fields, which a public subscription does not see)."
        ]
    errors = search_text_errors(params.get(SEARCH_PARAMETER, ""))
    if errors:
        return [f"search: {error}" for error in errors]
    try:
        filters_to_q(params, network=network)
    except FilterInvalid as exc:
        return [str(exc)]
    return []


def secret_errors(secret: str) -> list[str]:
    """A Standard Webhooks signing secret is whsec_ and the base64 of 24 to 64 random bytes."""
    expected = (
        "Use a Standard Webhooks secret: “whsec_” followed by the base64 of 24 to 64 random "
        "bytes (the form offers a new one; or: "
        'python -c \'import base64,secrets; print("whsec_" + '
        "base64.b64encode(secrets.token_bytes(32)).decode())')."
    )
    if not secret.startswith(SECRET_PREFIX):
        return [expected]
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return [expected]
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        return [f"The key is {len(key)} bytes long. {expected}"]
    return []


def validate_subscription(
    *, url: str, filters: str, network: bool, secret: str | None = None
) -> None:
    """ValidationError by field: a URL this node may not call, filters the catalogue refuses
    or does not know (filter_errors), a secret that is not a Standard Webhooks one."""
    errors: dict[str, list[str]] = {}
    try:
        http.check_target(url)
    except http.TargetRefused as exc:
        errors["url"] = [str(exc)]
    if problems := filter_errors(normalise_filters(filters), network=network):
        errors["filters"] = problems
    if secret is not None and (problems := secret_errors(secret)):
        errors["secret"] = problems
    if errors:
        raise ValidationError(errors)


def create_subscription(
    *,
    name: str,
    url: str,
    owner,
    filters: str = "",
    network: bool = False,
    secret: str | None = None,
) -> Subscription:
    filters = normalise_filters(filters)
    validate_subscription(url=url, filters=filters, network=network, secret=secret)
    subscription = Subscription(
        name=name, url=url, owner=owner, filters=filters, network=network, secret=secret or ""
    )
    if not secret:
        subscription.secret = new_secret()
    start_at_feed_end(subscription)
    subscription.save()
    return subscription


def start_at_feed_end(subscription: Subscription) -> None:
    """A new subscription hears of changes from now on, not of the feed's whole past."""
    last = FeedEntry.objects.order_by("-txid", "-seq").values_list("txid", "seq").first()
    subscription.cursor_txid, subscription.cursor_seq = last or feed.START


def enable_again(subscription: Subscription, *, now: dt.datetime | None = None) -> None:
    """Back on after a fix: the count starts over and the Deliveries left pending go out now
    (with their ids); the changes made meanwhile follow from the cursor, as their latest state."""
    now = now or timezone.now()
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(
            enabled=True, consecutive_failures=0, disabled_at=None, owner_notified_at=None
        )
        subscription.deliveries.filter(status=Delivery.Status.PENDING).update(next_attempt_at=now)
    subscription.refresh_from_db()


# ---- events from the feed ---------------------------------------------------------------------


def dispatch_all() -> None:
    for subscription_id in Subscription.objects.enabled().values_list("pk", flat=True):
        dispatch(subscription_id)


def dispatch(subscription_id: int) -> int:
    """Create the Deliveries of the feed entries after the subscription's cursor; how many."""
    created = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        made, more = _dispatch_batch(subscription_id)
        created += made
        if not more:
            break
    return created


def _dispatch_batch(subscription_id: int) -> tuple[int, bool]:
    with transaction.atomic():
        # Locked, so two dispatchers of one subscription take turns instead of racing its cursor.
        subscription = (
            Subscription.objects.select_for_update()
            .filter(pk=subscription_id, enabled=True)
            .first()
        )
        if subscription is None:
            return 0, False
        after = feed.Position(subscription.cursor_txid, subscription.cursor_seq)
        entries = feed.read_changes(after=after, limit=BATCH_SIZE)
        if not entries:
            return 0, False
        deliveries = _deliveries(subscription, entries)
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        subscription.cursor_txid, subscription.cursor_seq = entries[-1].txid, entries[-1].seq
        subscription.save(update_fields=["cursor_txid", "cursor_seq"])
    return len(deliveries), len(entries) == BATCH_SIZE


def _deliveries(subscription: Subscription, entries: list[FeedEntry]) -> list[Delivery]:
    current, visible = _record_keys(subscription, entries)
    told = _last_told(subscription, entries)
    now = timezone.now()
    deliveries = []
    for entry in entries:
        key = (entry.origin, entry.uid, entry.version)
        if not entry.deleted and key not in current:
            continue  # the record changed since: its newer entry follows in the feed
        known = told.get((entry.origin, entry.uid), Delivery.Kind.WITHDRAWN)
        known = known != Delivery.Kind.WITHDRAWN
        if not entry.deleted and key in visible:
            kind = Delivery.Kind.UPDATED if known else Delivery.Kind.PUBLISHED
        elif known:
            kind = Delivery.Kind.WITHDRAWN
        else:
            continue
        deliveries.append(
            Delivery(
                subscription=subscription,
                origin=entry.origin,
                uid=entry.uid,
                version=entry.version,
                kind=kind,
                body=event_body(subscription, entry, kind),
                next_attempt_at=now,
            )
        )
    return deliveries


def _record_keys(subscription: Subscription, entries: list[FeedEntry]) -> tuple[set, set]:
    """Of the entries' records: those stored at the entry's version, and of them the ones the
    subscription sees (its levels, the catalogue's filters and search, as of today)."""
    params = QueryDict(subscription.filters)
    rows = UseCase.objects.filter(uid__in=[entry.uid for entry in entries])
    current = set(rows.values_list("origin_id", "uid", "version"))
    levels = [v.PublicationLevel.PUBLIC]
    if subscription.network:
        levels.append(v.PublicationLevel.NETWORK)
    seen = rows.filter(publication_level__in=levels).filter(
        filters_to_q(params, network=subscription.network)
    )
    if params.get("search", "").strip():
        seen = search_use_cases(seen, query=params["search"])
    return current, set(seen.values_list("origin_id", "uid", "version"))


def _last_told(subscription: Subscription, entries: list[FeedEntry]) -> dict:
    """The kind of the latest Delivery the subscription has of each entry's record."""
    told = {}
    rows = subscription.deliveries.filter(uid__in=[entry.uid for entry in entries])
    rows = rows.order_by("version")
    for origin, uid, kind in rows.values_list("origin", "uid", "kind"):
        told[(origin, uid)] = kind
    return told


def event_body(subscription: Subscription, entry: FeedEntry, kind: str) -> str:
    """The event as sent, every attempt alike: type, timestamp (of the change) and data (the
    record's fields the subscription may see, and links; a withdrawal names the record only)."""
    data = {"origin": entry.origin, "uid": str(entry.uid), "version": entry.version}
    if kind != Delivery.Kind.WITHDRAWN:
        fields = NETWORK_FIELDS if subscription.network else PUBLIC_FIELDS
        data["publication_level"] = entry.record.get("publication_level")
        data.update({name: entry.record.get(name) for name in fields})
        data["links"] = record_links(entry.origin, str(entry.uid))
    event = {"type": kind, "timestamp": entry.modified.isoformat(), "data": data}
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def record_links(origin: str, uid: str) -> dict[str, str]:
    kwargs = {"origin": origin, "uid": uid}
    return {
        "html": settings.SITE_URL + reverse("catalogue:use-case", kwargs=kwargs),
        "api": settings.SITE_URL + reverse("api:use-case-detail", kwargs=kwargs),
    }


# ---- delivery ---------------------------------------------------------------------------------


def due_delivery_ids(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=now, subscription__enabled=True
    )
    return list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def signed_headers(*, secret: str, webhook_id: str, body: str) -> dict[str, str]:
    """Standard Webhooks headers; the timestamp is the attempt's, as receivers check it."""
    at = timezone.now()
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
    }


def attempt_delivery(delivery_id: int, *, now: dt.datetime | None = None) -> float | None:
    """One attempt, if the Delivery is due and nobody else holds it; the seconds until the next
    attempt, or None when there is none to make (delivered, given up, not ours)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    subscription = delivery.subscription
    headers = signed_headers(
        secret=subscription.secret, webhook_id=delivery.webhook_id, body=delivery.body
    )
    answer = http.post(
        subscription.url,
        body=delivery.body.encode(),
        headers=headers,
        timeout=settings.WEBHOOKS_HTTP_TIMEOUT_SECONDS,
    )
    return _record(delivery, answer, now)


def retry_delay(attempts_made: int) -> int | None:
    """Seconds before the next attempt after `attempts_made` failed ones; None: give up."""
    schedule = settings.WEBHOOKS_RETRY_SCHEDULE
    return schedule[attempts_made - 1] if attempts_made <= len(schedule) else None


def _claim(delivery_id: int, now: dt.datetime) -> Delivery | None:
    hold = dt.timedelta(seconds=settings.WEBHOOKS_HTTP_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS)
    won = Delivery.objects.filter(
        pk=delivery_id,
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=now,
        subscription__enabled=True,
    ).update(next_attempt_at=now + hold)
    if not won:
        return None
    return Delivery.objects.select_related("subscription").get(pk=delivery_id)


def _record(delivery: Delivery, answer: http.Answer, now: dt.datetime) -> float | None:
    number = delivery.attempts + 1
    this = Delivery.objects.filter(pk=delivery.pk)
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            at=now,
            status_code=answer.status,
            error=answer.error,
            duration_ms=answer.duration_ms,
            succeeded=answer.ok,
        )
        if answer.ok:
            this.update(
                status=Delivery.Status.DELIVERED,
                attempts=number,
                delivered_at=timezone.now(),
                next_attempt_at=None,
            )
            Subscription.objects.filter(pk=delivery.subscription_id).update(consecutive_failures=0)
            return None
        delay = retry_delay(number)
        if delay is not None:
            this.update(attempts=number, next_attempt_at=now + dt.timedelta(seconds=delay))
            return delay
        this.update(status=Delivery.Status.FAILED, attempts=number, next_attempt_at=None)
        _count_failure(delivery.subscription_id, now)
    return None


def _count_failure(subscription_id: int, now: dt.datetime) -> None:
    from webhooks import tasks

    subscriptions = Subscription.objects.filter(pk=subscription_id)
    subscriptions.update(consecutive_failures=F("consecutive_failures") + 1)
    disabled = subscriptions.filter(
        enabled=True, consecutive_failures__gte=settings.WEBHOOKS_DISABLE_AFTER_FAILURES
    ).update(enabled=False, disabled_at=now)
    if disabled:
        logger.warning("Webhook subscription %s disabled after failed deliveries", subscription_id)
        tasks.notify_owner.delay_on_commit(subscription_id)


# ---- the owner's notice -----------------------------------------------------------------------


def notify_owner(subscription_id: int) -> bool:
    """E-mail the owner of a disabled subscription, once: the notice is claimed before it is
    sent and released when the mail server fails (the task retries). Whether one went out."""
    claimed = Subscription.objects.filter(
        pk=subscription_id, enabled=False, owner_notified_at=None
    ).update(owner_notified_at=timezone.now())
    if not claimed:
        return False
    subscription = Subscription.objects.select_related("owner").get(pk=subscription_id)
    to = subscription.owner.email or agency_mailbox(subscription.owner.agency_id or "")
    if not to:
        logger.warning("Webhook subscription %s disabled; its owner has no e-mail", subscription)
        return False
    try:
        _disabled_notice(subscription, to).send()
    except Exception:
        Subscription.objects.filter(pk=subscription_id).update(owner_notified_at=None)
        raise
    return True


def _disabled_notice(subscription: Subscription, to: str) -> EmailMessage:
    link = settings.SITE_URL + reverse("admin:webhooks_subscription_change", args=[subscription.pk])
    body = (
        f"The webhook subscription “{subscription.name}” ({subscription.url}) was disabled: "
        f"{subscription.consecutive_failures} deliveries in a row failed every attempt.\n\n"
        f"Its attempts, with the answers or errors, are listed in the admin:\n{link}\n\n"
        "Once the receiver works again, tick “enabled” there and save (or use the action "
        "“Enable again” in the list of subscriptions): the deliveries still pending go out "
        "with their ids, and the changes made meanwhile follow.\n"
    )
    subject = f"[{settings.NODE_AGENCY} AI registry] Webhook “{subscription.name}” disabled"
    return EmailMessage(subject=subject, body=body, to=[to])


# ---- the schedule -----------------------------------------------------------------------------


def ensure_schedule() -> PeriodicTask:
    """Beat's dispatcher in django-celery-beat's tables (the post_migrate hook in apps.py),
    created once every WEBHOOKS_DISPATCH_INTERVAL_SECONDS; an admin's change is kept."""
    every, _ = IntervalSchedule.objects.get_or_create(
        every=settings.WEBHOOKS_DISPATCH_INTERVAL_SECONDS, period=IntervalSchedule.SECONDS
    )
    task, _ = PeriodicTask.objects.get_or_create(
        name=SCHEDULE_NAME, defaults={"task": SCHEDULE_TASK, "interval": every}
    )
    return task
