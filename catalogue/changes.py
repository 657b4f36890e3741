"""What changed in the catalogue, for feeds and harvesters: live use cases by `modified` and
withdrawals (the tombstones of registry.models.FeedEntry).

A tombstone keeps no record, so what a withdrawal may reveal is judged on the *state last shown
to the reader*: the record's latest version at a level they see (public for anonymous readers,
network or public for signed-in members) in this node's change history, written by
registry.services for own records and, for received copies, only when the tombstone deleted the
copy. A record the reader cannot see now (a tombstone, or a level above theirs) is a withdrawal
for them if such a state exists and matches the filters asked, exactly as the live record would
have: at the tombstone when its last shared state is that one, otherwise (a public record moved to
network, for an anonymous reader) at the first version after its last public one. A record with
no such state (never visible to them, never reached this node, history pruned, or a received copy
moved to network: copies keep no history here) is listed to nobody who could not see it. A
full-text search matches live records only (past states have no search index).

`modified` is the origin's time of the change; a harvester reading `changed_since` gets every
change at or after the instant (inclusive: at-least-once), ordered by (modified, kind, id) so
that keyset pages never skip records sharing an instant.
"""

import base64
import binascii
import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, PolymorphicProxySerializer
from rest_framework import serializers

from catalogue import selectors
from catalogue.filters import FALSE_WORDS, TRUE_WORDS, filters_to_q
from catalogue.serializers import UseCaseSerializer
from registry import vocabularies as v
from registry.models import FeedEntry, UseCase

CHANGED_SINCE = "changed_since"
INCLUDE_WITHDRAWN = "include_withdrawn"
CURSOR_NAME = "changes"
LIVE, WITHDRAWN = 0, 1
# "+01:00" sent unencoded in a query string arrives as " 01:00".
_SPACE_FOR_PLUS = re.compile(r"(T[\d:.]+) (\d{2}(:?\d{2})?)$")


class ChangesInvalid(Exception):
    """Bad changed_since, include_withdrawn or cursor; errors keyed by the parameter's name."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(m)}" for k, m in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Withdrawal:
    """A record taken back from the network (or deleted), with the title last shown to the
    reader; `left_public`: for this reader it left the public catalogue (it is, or was when
    withdrawn, a network record), at `version` and `modified`, the first version after its last
    public one."""

    pk: int
    origin: str
    uid: uuid.UUID
    version: int
    modified: dt.datetime
    title: str
    left_public: bool = False


@dataclass
class ChangePage:
    items: list[UseCase | Withdrawal]
    next_cursor: str | None


# ---- parameters -------------------------------------------------------------------------------


def asks_for_changes(params: Mapping) -> bool:
    return bool(params.get(CHANGED_SINCE) or params.get(INCLUDE_WITHDRAWN))


def parse_changed_since(raw: str | None) -> dt.datetime | None:
    """An ISO 8601 date-time with a UTC offset (Z or ±hh:mm), as UTC; None when not given.
    A value without an offset is refused: read in the wrong zone it would skip changes."""
    if not raw:
        return None
    text = _SPACE_FOR_PLUS.sub(r"\1+\2", raw.strip())
    try:
        moment = dt.datetime.fromisoformat(text)
        if "T" not in text.upper():
            raise ValueError
        if moment.tzinfo is None:
            raise ChangesInvalid(
                {CHANGED_SINCE: ["Give a UTC offset, e.g. 2026-03-01T00:00:00Z or +01:00."]}
            )
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ChangesInvalid(
            {CHANGED_SINCE: [f"{raw[:40]!r} is not an ISO 8601 date-time with a UTC offset."]}
        ) from None


def parse_include_withdrawn(raw: str | None) -> bool:
    if raw in (None, ""):
        return False
    if raw.lower() not in TRUE_WORDS | FALSE_WORDS:
        raise ChangesInvalid({INCLUDE_WITHDRAWN: ["Must be true or false."]})
    return raw.lower() in TRUE_WORDS


# ---- withdrawals ------------------------------------------------------------------------------


def withdrawals(
    *, user, params: Mapping, today: dt.date | None = None, departures: bool = False
) -> QuerySet[FeedEntry]:
    """The withdrawals user may learn of whose state last shown to them matches params' filters
    (the catalogue's; FilterInvalid names a bad one): feed entries of records user cannot see now
    (a tombstone, or a level above theirs) of which this node's history holds a state they could
    see. Annotated with `seen` (that state's history row), `at` and `at_version` (when and at which
    version the record left their sight: the tombstone's when its last shared state is `seen`,
    otherwise the first version after `seen`) and `left_public` (the latter case: it was public,
    and is network now or was network when withdrawn). `departures` False leaves out the latter
    (tombstones only, as the 410 page asks: it says the agency no longer shares the record, and
    its `modified` is the tombstone's). With a full-text search there are none (see the module's
    docstring). One query, whatever the number of records."""
    history = UseCase.history.model
    levels = selectors.visible_levels(user=user)
    same_record = {
        "origin_id": OuterRef("origin"),
        "uid": OuterRef("uid"),
        "version__lte": OuterRef("version"),
    }
    newest_first = ("-version", "-history_id")
    last_shared = history.objects.filter(
        **same_record, publication_level__in=v.SHARED_LEVELS
    ).order_by(*newest_first)
    last_seen = history.objects.filter(**same_record, publication_level__in=levels).order_by(
        *newest_first
    )
    left = history.objects.filter(**same_record, version__gt=OuterRef("seen_version")).order_by(
        "version", "history_id"
    )
    shown = history.objects.filter(publication_level__in=levels).filter(
        filters_to_q(params, network=selectors.sees_network(user), today=today)
    )
    visible_now = UseCase.objects.filter(
        origin_id=OuterRef("origin"), uid=OuterRef("uid"), publication_level__in=levels
    )
    tombstone_shown = Q(last_shared=F("seen"))
    listed = (
        FeedEntry.objects.filter(Q(deleted=True) | ~Exists(visible_now))
        .annotate(
            seen=Subquery(last_seen.values("history_id")[:1]),
            seen_version=Subquery(last_seen.values("version")[:1]),
            last_shared=Subquery(last_shared.values("history_id")[:1]),
        )
        .filter(seen__in=shown.values("history_id"))
        .annotate(
            left_public=Case(
                When(tombstone_shown, then=Value(False)),
                default=Value(True),
                output_field=BooleanField(),
            ),
            at=Case(
                When(tombstone_shown, then=F("modified")),
                default=Subquery(left.values("modified")[:1]),
            ),
            at_version=Case(
                When(tombstone_shown, then=F("version")),
                default=Subquery(left.values("version")[:1]),
            ),
        )
        .filter(at__isnull=False)
    )
    if not departures:
        listed = listed.filter(tombstone_shown, deleted=True)
    return listed.none() if (params.get("search") or "").strip() else listed


def as_withdrawals(entries) -> list[Withdrawal]:
    """Rows of withdrawals() with the title of the state last shown to the reader."""
    entries = list(entries)
    history = UseCase.history.model
    titles = dict(
        history.objects.filter(history_id__in=[e.seen for e in entries]).values_list(
            "history_id", "title"
        )
    )
    return [
        Withdrawal(e.pk, e.origin, e.uid, e.at_version, e.at, titles.get(e.seen, ""), e.left_public)
        for e in entries
    ]


# ---- the most recent changes (the Atom feed) --------------------------------------------------


def recent_changes(
    live: QuerySet[UseCase], withdrawn: QuerySet[FeedEntry], *, limit: int
) -> list[UseCase | Withdrawal]:
    """The `limit` latest changes, newest first: live records and withdrawals merged."""
    rows = list(live.order_by("-modified", "-pk")[:limit])
    gone = as_withdrawals(withdrawn.order_by("-at", "-pk")[:limit])
    return sorted([*rows, *gone], key=_sort_key, reverse=True)[:limit]


# ---- changed_since pages (the API) ------------------------------------------------------------


def page_of_changes(
    live: QuerySet[UseCase],
    withdrawn: QuerySet[FeedEntry] | None,
    *,
    since: dt.datetime | None,
    cursor: str | None,
    page_size: int,
) -> ChangePage:
    """One keyset page of changes, oldest first by (modified, live before withdrawn, id), from
    `since` on (inclusive); withdrawn None leaves withdrawals out."""
    if since is not None:
        live = live.filter(modified__gte=since)
        withdrawn = withdrawn.filter(at__gte=since) if withdrawn is not None else None
    if cursor:
        moment, kind, pk = decode_cursor(cursor)
        live = live.filter(_after(moment, kind, pk, LIVE, "modified"))
        if withdrawn is not None:
            withdrawn = withdrawn.filter(_after(moment, kind, pk, WITHDRAWN, "at"))
    rows: list[UseCase | Withdrawal] = list(live.order_by("modified", "pk")[: page_size + 1])
    if withdrawn is not None:
        rows += as_withdrawals(withdrawn.order_by("at", "pk")[: page_size + 1])
    rows.sort(key=_sort_key)
    items = rows[:page_size]
    next_cursor = encode_cursor(items[-1]) if len(rows) > page_size else None
    return ChangePage(items=items, next_cursor=next_cursor)


def _after(moment: dt.datetime, kind: int, pk: int, rows_kind: int, field: str) -> Q:
    """Rows of rows_kind (their time in `field`) that come after the position (moment, kind,
    pk)."""
    later = Q(**{f"{field}__gt": moment})
    if rows_kind > kind:
        return later | Q(**{field: moment})
    if rows_kind == kind:
        return later | Q(**{field: moment, "pk__gt": pk})
    return later


def _sort_key(item: UseCase | Withdrawal) -> tuple:
    return (item.modified, WITHDRAWN if isinstance(item, Withdrawal) else LIVE, item.pk)


def encode_cursor(item: UseCase | Withdrawal) -> str:
    moment, kind, pk = _sort_key(item)
    payload = json.dumps([CURSOR_NAME, moment.isoformat(), kind, pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, moment, kind, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if name != CURSOR_NAME or kind not in (LIVE, WITHDRAWN) or isinstance(kind, bool):
            raise ValueError
        if not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk < 2**63:
            raise ValueError
        moment = dt.datetime.fromisoformat(moment)
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(dt.UTC), kind, pk
    except (ValueError, TypeError, binascii.Error, UnicodeError, OverflowError):
        raise ChangesInvalid({"cursor": ["Not a cursor of this listing."]}) from None


# ---- wire form --------------------------------------------------------------------------------


def withdrawal_data(withdrawal: Withdrawal) -> dict:
    return {
        "origin": withdrawal.origin,
        "uid": str(withdrawal.uid),
        "version": withdrawal.version,
        "modified": withdrawal.modified.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "withdrawn": True,
    }


class WithdrawalSerializer(serializers.Serializer):
    """The schema of a withdrawal in a changes listing (include_withdrawn=1)."""

    origin = serializers.CharField(help_text="Origin agency code.")
    uid = serializers.UUIDField()
    version = serializers.IntegerField(help_text="The version that withdrew or deleted it.")
    modified = serializers.DateTimeField(help_text="When the origin withdrew it.")
    withdrawn = serializers.ChoiceField(choices=[True], help_text="Always true.")


class ChangesPageSerializer(serializers.Serializer):
    """The use case list when asked for changes: use cases and, with include_withdrawn,
    withdrawals, oldest change first."""

    results = PolymorphicProxySerializer(
        component_name="UseCaseOrWithdrawal",
        serializers=[UseCaseSerializer, WithdrawalSerializer],
        resource_type_field_name=None,
        many=True,
    )
    next = serializers.URLField(allow_null=True, help_text="The next page, or null at the end.")
    ordering = serializers.CharField(help_text="The ordering applied.")


OPENAPI_PARAMETERS = [
    OpenApiParameter(
        CHANGED_SINCE,
        OpenApiTypes.DATETIME,
        description="For harvesters: only use cases whose `modified` (the origin's time of the "
        "change) is at or after this instant (inclusive), oldest first by modified then id; "
        "`ordering` may then only be `modified`. ISO 8601 with a UTC offset (`Z` or `+01:00`); "
        "a value without one is refused. A copy can reach this node after changes made later "
        "at other agencies: harvest again from a little before the last `modified` you saw.",
        examples=[OpenApiExample("instant", value="2026-03-01T00:00:00Z")],
    ),
    OpenApiParameter(
        INCLUDE_WITHDRAWN,
        bool,
        description="true: list withdrawn and deleted use cases too, in the same order, as "
        '`{"origin", "uid", "version", "modified", "withdrawn": true}` (each matched against the '
        "filters as it was last shown; none when searching). Anonymous callers get those that "
        "were public when last shown, and a public record moved to network level as withdrawn "
        "at the version that left the public level (at its origin's node: copies of other "
        "agencies' records keep no history here).",
    ),
]
