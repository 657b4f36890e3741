"""What each side of a sync knows about the other, for the people who own the records.

The receiving side (the hub) keeps a ledger per agency: each push it received with its counts per
status, each page of its feed an agency pulled that carried changes, and every record it refused
(rejected, or answered stale) until a later push of that record gets through. The sending side (an
agency) keeps its refused records in sync.models.Rejection (sync.services). A stale answer is a
refusal like any other: the sender's record is not what the network holds, and someone has to act.
"""

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from sync import protocol
from sync.models import AnsweredRejection, Direction, PeerExchange, PeerToken, RefusalStatus

REFUSED = (protocol.REJECTED, protocol.STALE)


@transaction.atomic
def record_push(agency: str, changes: list, results: list[dict]) -> PeerExchange:
    """Note a push received from `agency` (PROTOCOL.md `POST changes`): the counts per status,
    and each refused record with the words answered; a record applied or unchanged settles an
    earlier refusal. `changes` are the envelopes as received, `results` the answers in order."""
    counts = Counter(answer.get("status") for answer in results)
    exchange = PeerExchange.objects.create(
        agency=agency,
        direction=Direction.PUSH,
        envelopes=len(results),
        **{status: counts.get(status, 0) for status in protocol.STATUSES},
    )
    latest: dict[tuple[str, uuid.UUID], tuple[object, dict]] = {}
    for envelope, answer in zip(changes, results, strict=True):
        uid = _uid(answer.get("uid"))
        if uid is not None and isinstance(answer.get("origin"), str):
            latest[(answer["origin"], uid)] = (envelope, answer)  # a later answer decides
        # else: an envelope too malformed to name its record is counted, not listed
    for (origin, uid), (envelope, answer) in latest.items():
        if answer.get("status") not in REFUSED:
            AnsweredRejection.objects.filter(agency=agency, origin=origin, uid=uid).delete()
            continue
        AnsweredRejection.objects.update_or_create(
            agency=agency,
            origin=origin,
            uid=uid,
            defaults={
                "version": _version(envelope),
                "stored_version": answer.get("stored_version"),
                "status": answer["status"],
                "errors": answer.get("errors") or {},
                "answered_at": exchange.at,
            },
        )
    return exchange


def record_pull(agency: str, envelopes: int) -> None:
    """Note a page of this node's feed that `agency` pulled. Empty pages (every sync cycle asks
    for one) are not rows: the token's last use says when the agency was last in touch."""
    if envelopes:
        PeerExchange.objects.create(agency=agency, direction=Direction.PULL, envelopes=envelopes)


def prune(*, now: dt.datetime | None = None) -> int:
    """Forget exchanges older than SYNC_LEDGER_DAYS; open refusals stay until settled."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.SYNC_LEDGER_DAYS)
    deleted, _ = PeerExchange.objects.filter(at__lt=cutoff).delete()
    return deleted


@dataclass(frozen=True)
class AgencyHealth:
    """How an agency's sync with this node stands, as its agency page and the admin show it."""

    last_contact: dt.datetime | None  # its last authenticated call here (push or pull)
    last_push: dt.datetime | None
    open_refusals: int
    healthy: bool

    @property
    def status(self) -> str:
        if self.last_contact is None:
            return "never"
        return "healthy" if self.healthy else "attention"


def agency_health(agency: str, *, now: dt.datetime | None = None) -> AgencyHealth:
    """Healthy: in touch within SYNC_HEALTHY_WITHIN_SECONDS and no refused record left open."""
    now = now or timezone.now()
    last_contact = PeerToken.objects.filter(agency=agency).aggregate(last=Max("last_used"))["last"]
    last_push = (
        PeerExchange.objects.filter(agency=agency, direction=Direction.PUSH)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    open_refusals = AnsweredRejection.objects.filter(agency=agency).count()
    within = dt.timedelta(seconds=settings.SYNC_HEALTHY_WITHIN_SECONDS)
    in_touch = last_contact is not None and now - last_contact <= within
    return AgencyHealth(
        last_contact=last_contact,
        last_push=last_push,
        open_refusals=open_refusals,
        healthy=in_touch and open_refusals == 0,
    )


def refusal_remedy(status: str, errors: dict, *, held_here: bool = True) -> str:
    """What the record's owner does about a refusal, in words."""
    if not held_here:
        return (
            "This node does not hold this record, the network does. If it should not exist, "
            "select it under Rejections and run “Publish again or withdraw from the network”: "
            "a withdrawal numbered above the network's version reaches every node. If it should, "
            "register it again here."
        )
    if status == RefusalStatus.STALE or "hash" in errors:
        return (
            "The network holds another version of this record than this node (typically after "
            "this node was restored from a backup). Check the record, then use “Publish again”: "
            "it sends this version numbered above the network's."
        )
    return "Correct what the errors name and save: the next sync sends the new version."


def _uid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _version(envelope) -> int:
    version = envelope.get("version") if isinstance(envelope, dict) else None
    return version if isinstance(version, int) and 0 < version <= protocol.MAX_VERSION else 0
