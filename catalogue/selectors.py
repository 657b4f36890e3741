"""Reads of the network catalogue, shared by the REST API and the web pages.

Visibility is decided here and only here: anonymous visitors see `public` records and P-tier
fields; authenticated users see `network` and `public` records and N-tier fields too. Drafts and
internal records never appear in the catalogue (they live in their agency's admin).

Typical use:
    qs = visible_use_cases(user=request.user)
    qs = filter_use_cases(qs, params=request.GET, user=request.user)   # FilterInvalid on bad input
    qs = search_use_cases(qs, query=request.GET.get("search", ""))      # adds search_rank
    page = paginate_use_cases(qs, ordering="relevance", cursor=None, page_size=20)
    snippets = search_snippets(page.items, query=...)                   # {pk: safe HTML}

Counting (facet_counts, network_stats, quality_stats, cached_counts) lives in catalogue.counts
and is re-exported here; the catalogue's facets are counted in memory (catalogue_facet_counts, over
catalogue.facet_index).
"""

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    Field,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan, LessThan
from django.utils import timezone

from catalogue import facet_index
from catalogue.counts import (
    cached_counts,
    catalogue_stamp,
    facet_counts,
    grouped_counts,
    network_stats,
    quality_stats,
    quality_summary,
    shaped_counts,
)
from catalogue.filters import (
    FACET_FIELDS,
    FILTERS,
    FilterInvalid,
    filters_to_q,
    parse_filters,
    parsed_to_q,
    review_overdue_q,
)
from registry import search as fulltext
from registry import vocabularies as v
from registry.models import Agency, UseCase
from registry.validation import FIELDS, NETWORK_ONLY_FIELDS

DEFAULT_PAGE_SIZE = 20
REVIEW_OVERDUE = "review_overdue"  # the filter (catalogue.filters) and the facet-like count
MAX_PAGE_SIZE = 200
PUBLIC_FIELDS: tuple[str, ...] = tuple(
    name for name in FIELDS if name not in NETWORK_ONLY_FIELDS and name != "publication_level"
)
NETWORK_FIELDS: tuple[str, ...] = tuple(name for name in FIELDS if name != "publication_level")


# ---- visibility -------------------------------------------------------------------------------


def sees_network(user) -> bool:
    """Authenticated users belong to the network: they see network records and N-tier fields."""
    return bool(user is not None and user.is_authenticated)


def visible_levels(*, user) -> tuple[str, ...]:
    if sees_network(user):
        return (v.PublicationLevel.NETWORK, v.PublicationLevel.PUBLIC)
    return (v.PublicationLevel.PUBLIC,)


def visible_fields(*, user) -> tuple[str, ...]:
    """The record fields (RECORD.md names) this user may see, in RECORD.md order."""
    return NETWORK_FIELDS if sees_network(user) else PUBLIC_FIELDS


def visible_use_cases(*, user) -> QuerySet[UseCase]:
    """The node's whole view (own and received records) as far as user may see it."""
    return UseCase.objects.filter(publication_level__in=visible_levels(user=user)).select_related(
        "origin"
    )


def get_use_case(*, user, origin: str, uid) -> UseCase:
    """One visible use case; UseCase.DoesNotExist when absent or not visible to user."""
    return visible_use_cases(user=user).get(origin_id=origin, uid=uid)


# ---- filters and search -----------------------------------------------------------------------


def filter_use_cases(
    qs: QuerySet[UseCase], *, params: Mapping, user, today: dt.date | None = None
) -> QuerySet[UseCase]:
    """Apply the catalogue's filter parameters (catalogue.filters.FILTERS); FilterInvalid names
    each bad parameter. Unknown parameters are ignored. review_overdue is as of today (default:
    the server's date)."""
    return qs.filter(filters_to_q(params, network=sees_network(user), today=today))


def search_use_cases(qs: QuerySet[UseCase], *, query: str) -> QuerySet[UseCase]:
    """Rows matching the full-text query, annotated with `search_rank`; a blank query keeps qs
    (annotated with rank 0) so callers need no special case."""
    if not fulltext.normalise_query(query or ""):
        return qs.annotate(search_rank=Value(0.0))
    return fulltext.search(qs, query)


def search_snippets(use_cases, *, query: str) -> dict[int, str]:
    """Highlighted excerpts by primary key: escaped HTML where only <mark> is markup."""
    return fulltext.snippets(use_cases, query or "")


def similar_use_cases(
    use_case: UseCase, *, user, limit: int = 5, other_agencies_only: bool = True
) -> list[UseCase]:
    """Visible use cases whose title or summary share words with use_case, best first, so an
    agency finds the others working on the same problem."""
    text = " ".join([use_case.title_en or use_case.title, " ".join(use_case.tags or [])])
    qs = visible_use_cases(user=user).exclude(pk=use_case.pk)
    if other_agencies_only:
        qs = qs.exclude(origin_id=use_case.origin_id)
    return list(fulltext.similar(qs, text).order_by("-search_rank", "pk")[: max(0, limit)])


# ---- ordering and keyset pagination -----------------------------------------------------------


class CursorInvalid(Exception):
    """A cursor that this server did not hand out (or for another ordering)."""


@dataclass(frozen=True)
class Ordering:
    key: Any  # expression
    kind: str  # text, datetime, date, int, float
    descending: bool = False


def _rank_of(choices, field: str):
    whens = [When(**{field: value}, then=Value(i)) for i, value in enumerate(choices.values)]
    return Case(*whens, default=Value(len(whens)), output_field=IntegerField())


ORDERINGS: dict[str, Ordering] = {
    "title": Ordering(F("title"), "text"),
    "modified": Ordering(F("modified"), "datetime"),
    "created": Ordering(F("created"), "datetime"),
    "agency": Ordering(F("origin_id"), "text"),
    "stage": Ordering(_rank_of(v.Stage, "stage"), "int"),
    "ai_act_risk": Ordering(_rank_of(v.AiActRisk, "ai_act_risk"), "int"),
    "operational_since": Ordering(
        Coalesce(F("operational_since"), Value(dt.date(1, 1, 1))), "date"
    ),
    "relevance": Ordering(F("search_rank"), "float", descending=True),
}


def ordering_choices() -> list[str]:
    names = [name for name in ORDERINGS if name != "relevance"]
    return ["relevance"] + names + [f"-{name}" for name in names]


def parse_ordering(value: str | None, *, searching: bool) -> str:
    """The ordering name to use; ValueError for an unknown one."""
    if not value:
        return "relevance" if searching else "title"
    if value not in ordering_choices():
        raise ValueError(f"{value[:40]!r} is not one of: {', '.join(ordering_choices())}.")
    if value == "relevance" and not searching:
        return "title"
    return value


def ordered_use_cases(qs: QuerySet[UseCase], *, ordering: str) -> QuerySet[UseCase]:
    """qs sorted by ordering (`title`, `-modified`, ...), ties broken by primary key."""
    spec, descending = _ordering(ordering)
    qs = qs.annotate(sort_key=spec.key)
    if descending:
        return qs.order_by(F("sort_key").desc(), "-pk")
    return qs.order_by("sort_key", "pk")


@dataclass
class Page:
    items: list[UseCase]
    next_cursor: str | None


def paginate_use_cases(
    qs: QuerySet[UseCase], *, ordering: str, cursor: str | None, page_size: int
) -> Page:
    """One page by keyset (the last row's sort key and pk), fast at any depth."""
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    qs = ordered_use_cases(qs, ordering=ordering)
    if cursor:
        key, pk = decode_cursor(cursor, ordering=ordering)
        spec, descending = _ordering(ordering)
        after = LessThan if descending else GreaterThan
        # Row values compare lexicographically and walk a (key, id) index on both vendors.
        row = Func(F("sort_key"), F("pk"), function="", output_field=Field())
        last = Func(Value(key), Value(pk), function="", output_field=Field())
        qs = qs.filter(after(row, last))
    rows = _first_rows(qs, page_size + 1, ordering=ordering)
    items = rows[:page_size]
    next_cursor = None
    if len(rows) > page_size:
        next_cursor = encode_cursor(items[-1].sort_key, items[-1].pk, ordering=ordering)
    return Page(items=items, next_cursor=next_cursor)


def _first_rows(qs: QuerySet[UseCase], count: int, *, ordering: str) -> list[UseCase]:
    """The first count rows of the ordered qs. A search ranked on PostgreSQL reads the rows whose
    title matches first: they rank above all others (registry.search.TITLE_TIER) and usually
    fill a page, so the other matches, often far more, need not all be ranked."""
    if ordering != "relevance" or fulltext.IN_TITLE not in qs.query.annotations:
        return list(qs[:count])
    rows = list(qs.filter(**{fulltext.IN_TITLE: True})[:count])
    if len(rows) < count:
        rows += list(qs.filter(**{fulltext.IN_TITLE: False})[: count - len(rows)])
    return rows


def _ordering(ordering: str) -> tuple[Ordering, bool]:
    name = ordering.lstrip("-")
    spec = ORDERINGS[name]
    return spec, spec.descending != ordering.startswith("-")


def encode_cursor(key: Any, pk: int, *, ordering: str) -> str:
    if isinstance(key, dt.date | dt.datetime):
        key = key.isoformat()
    payload = json.dumps([ordering, key, pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, ordering: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, key, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if name != ordering or not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError
        if not 0 < pk < 2**63:
            raise ValueError
        return _typed_key(key, ORDERINGS[ordering.lstrip("-")].kind), pk
    except (ValueError, TypeError, binascii.Error, UnicodeError, OverflowError):
        raise CursorInvalid("Not a cursor of this listing and ordering.") from None


def _typed_key(key: Any, kind: str) -> Any:
    if kind == "text" and isinstance(key, str) and "\x00" not in key:
        key.encode("utf-8")  # a lone surrogate from JSON cannot reach the database
        return key
    if kind == "int" and isinstance(key, int) and not isinstance(key, bool) and abs(key) < 2**31:
        return key
    if kind == "float" and isinstance(key, int | float) and not isinstance(key, bool):
        return float(key)
    if kind == "date" and isinstance(key, str):
        return dt.date.fromisoformat(key)
    if kind == "datetime" and isinstance(key, str):
        moment = dt.datetime.fromisoformat(key)
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(dt.UTC)  # OverflowError at the ends of the calendar
    raise ValueError


# ---- facets and statistics (catalogue.counts) ---------------------------------------------------


def facet_fields(*, user) -> tuple[str, ...]:
    """The facets user may see (network-only fields such as hosting only when authenticated)."""
    network = sees_network(user)
    return tuple(name for name in FACET_FIELDS if network or not FILTERS[name].network_only)


def catalogue_facet_counts(
    *,
    params: Mapping,
    search: str,
    user,
    fields: tuple[str, ...],
    widen: bool = False,
    today: dt.date | None = None,
) -> tuple[dict[str, dict[str, int]], int]:
    """({facet: {value: count}}, total) for the use cases user may see that match params and
    search, counted in memory (catalogue.facet_index). The database applies only what the
    index does not hold (yes/no and date filters, the search) and hands over primary keys.
    widen: a facet with values chosen is counted as if it had none (FacetIndex.counts).
    fields may name REVIEW_OVERDUE: {"1": how many of the matches are overdue as of today}."""
    today = today or timezone.localdate()
    parsed = parse_filters(params, network=sees_network(user))
    overdue = parsed.pop(REVIEW_OVERDUE, None)
    chosen = {name: values for name, values in parsed.items() if name in FACET_FIELDS}
    rest = {name: value for name, value in parsed.items() if name not in FACET_FIELDS}
    index = facet_index.current()
    levels = visible_levels(user=user)
    pks = None
    if rest or fulltext.normalise_query(search or ""):
        narrowed = visible_use_cases(user=user).filter(parsed_to_q(rest, today=today))
        pks = search_use_cases(narrowed, query=search).order_by().values_list("pk", flat=True)
    rows = within = index.rows(levels=levels, pks=pks)
    if overdue is not None or REVIEW_OVERDUE in fields:
        # Relative to today, so not in the index: the database hands over the overdue keys.
        overdue_pks = visible_use_cases(user=user).filter(review_overdue_q(today)).order_by()
        overdue_rows = index.rows(levels=levels, pks=overdue_pks.values_list("pk", flat=True))
        if overdue is not None:
            within = rows & (overdue_rows if overdue else ~overdue_rows)
    indexed = tuple(name for name in fields if name != REVIEW_OVERDUE)
    counts, total = index.counts(within, chosen=chosen, fields=indexed, widen=widen)
    shaped = {name: shaped_counts(name, counts[name]) for name in indexed}
    if REVIEW_OVERDUE in fields:
        # Widened: how many ticking the box would leave (its own filter not applied).
        base = rows if widen else within
        _, overdue_total = index.counts(base & overdue_rows, chosen=chosen, fields=())
        shaped[REVIEW_OVERDUE] = {"1": overdue_total}
    return shaped, total


def catalogue_stats(qs: QuerySet[UseCase], *, today: dt.date) -> dict:
    """network_stats(qs), cached while the catalogue and the day are unchanged (whether a review
    is overdue changes at midnight). The statistics page and /api/v1/stats/ share the entry."""
    kind = f"stats|{today.isoformat()}"
    return cached_counts(kind, qs, lambda: network_stats(qs, today=today))


def hub_codes() -> set[str]:
    """The codes of hub nodes: this node's own code when it runs as the hub (settings.NODE_ROLE),
    and the agency code each peer of role hub gave in its GET node (sync.models.Peer). A hub
    serves the network's catalogue and holds no use case of its own: it is no agency, so no list
    of agencies shows it."""
    codes = {settings.NODE_AGENCY} if settings.NODE_ROLE == "hub" else set()
    try:
        from sync.models import Peer
    except ImportError:
        return codes
    return codes | set(
        Peer.objects.filter(role="hub").exclude(agency="").values_list("agency", flat=True)
    )


def agency_summaries(*, user) -> QuerySet[Agency]:
    """Every agency, not a hub (hub_codes), with `use_case_count`, the use cases of it that user
    may see, and their `mean_completeness` (None without any)."""
    visible = Q(use_cases__publication_level__in=visible_levels(user=user))
    return (
        Agency.objects.exclude(code__in=hub_codes())
        .annotate(
            use_case_count=Count("use_cases", filter=visible),
            mean_completeness=Avg("use_cases__completeness", filter=visible),
        )
        .order_by("code")
    )


__all__ = [
    "CursorInvalid",
    "FilterInvalid",
    "Page",
    "agency_summaries",
    "hub_codes",
    "cached_counts",
    "catalogue_facet_counts",
    "catalogue_stats",
    "catalogue_stamp",
    "grouped_counts",
    "facet_counts",
    "facet_fields",
    "filter_use_cases",
    "get_use_case",
    "network_stats",
    "ordered_use_cases",
    "paginate_use_cases",
    "parse_ordering",
    "quality_stats",
    "quality_summary",
    "search_snippets",
    "search_use_cases",
    "similar_use_cases",
    "visible_fields",
    "visible_use_cases",
]
