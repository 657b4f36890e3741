"""Counting the catalogue: facet counts, statistics, and a cache for both.

Counting reads every matching row, so it is the costly part of a catalogue page: on PostgreSQL
all groups are counted in two queries (GROUPING SETS for single-valued fields and months,
conditional counts for list fields) over the covering index of migration 0004; SQLite runs one
query per group. cached_counts keeps results under a stamp of the catalogue, itself cached for
STAMP_SECONDS, so counts may lag a change by up to that many seconds.
Callers use these through catalogue.selectors.
"""

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, F, Max, QuerySet, Sum
from django.db.models.functions import TruncMonth

from catalogue.filters import FACET_FIELDS, FILTERS, list_contains, review_overdue_q
from registry import quality, reference
from registry import vocabularies as v
from registry.models import Agency, FeedEntry, UseCase

COUNTS_CACHE_SECONDS = 300
# The stamp itself is kept this long, so busy pages skip its scan of every row: cached counts
# may lag a change to the catalogue by up to STAMP_SECONDS.
STAMP_SECONDS = 5
STAMP_KEY = "catalogue:counts:stamp"
# What anyone may see counted; catalogue.selectors.facet_fields gives a user's own set.
PUBLIC_FACETS: tuple[str, ...] = tuple(
    name for name in FACET_FIELDS if not FILTERS[name].network_only
)

_FACET_CHOICES = {name: FILTERS[name].choices for name in FACET_FIELDS if FILTERS[name].choices}


def facet_counts(qs: QuerySet[UseCase], *, fields: tuple[str, ...] | None = None) -> dict:
    """{facet: {value: count}} within qs. Enumerations list every code of the vocabulary (zero
    counts included, in vocabulary order); agency and country list the values present.
    fields defaults to the facets anyone may see; pass selectors.facet_fields(user=...)."""
    fields = fields if fields is not None else PUBLIC_FACETS
    groups = {name: _facet_group(name) for name in fields}
    counts = grouped_counts(qs, groups=groups)
    return {name: shaped_counts(name, counts[name]) for name in fields}


def _facet_group(name: str) -> tuple[str, str]:
    spec = FILTERS[name]
    return ("list" if spec.kind == "enum_list" else "scalar", spec.field)


def shaped_counts(name: str, present: dict[str, int]) -> dict[str, int]:
    """A facet's counts as shown: every code of an enumeration (zero counts included, in
    vocabulary order); agency and country the values present, sorted."""
    choices = FILTERS[name].choices
    if choices:
        return {code: present.get(code, 0) for code in choices.values}
    return dict(sorted(present.items()))


def network_stats(qs: QuerySet[UseCase], *, today: dt.date) -> dict:
    """Aggregates for the statistics page and /api/v1/stats/.

    Over time: by month of `started_on` and of `operational_since`, both dates of the record
    itself, so every node counts the same; `created` is when a row appeared on this node (for a
    received copy: when it arrived) and would differ between nodes. `quality` counts overdue
    reviews as of today, so cache the result under a key that holds the day. `by_agency` marks
    reference registers (outside the network) and `reference_total` counts their records, so
    pages can tell the network's figures from theirs; `agencies` is agency_overview(qs).
    """
    names = ("agency", "country", "stage", "ai_act_risk", "techniques", "regulatory_processes")
    groups = {name: _facet_group(name) for name in names}
    groups["started_on"] = ("month", "started_on")
    groups["operational_since"] = ("month", "operational_since")
    counts = grouped_counts(qs, groups=groups)
    facets = {name: shaped_counts(name, counts[name]) for name in names}
    by_agency = _agencies_with_counts(facets["agency"])
    return {
        "total": sum(facets["agency"].values()),  # every use case has exactly one origin
        "reference_total": sum(row["count"] for row in by_agency if row["reference"]),
        "by_agency": by_agency,
        "by_country": facets["country"],
        "by_stage": facets["stage"],
        "by_risk": facets["ai_act_risk"],
        "by_technique": facets["techniques"],
        "by_process": facets["regulatory_processes"],
        "started_by_month": _months(counts["started_on"]),
        "operational_by_month": _months(counts["operational_since"]),
        "quality": quality_stats(qs, today=today),
        "agencies": agency_overview(qs),
    }


def agency_overview(qs: QuerySet[UseCase]) -> list[dict]:
    """Per origin agency within qs, most use cases first: code, name, reference (a reference
    register outside the network, registry.reference), count, by_stage and by_risk (every code
    in vocabulary order, zeros included; records without one are in count only) and
    last_modified (the latest change at the origin, a datetime). Three grouped queries."""
    qs = qs.order_by()
    stages = qs.values_list("origin_id", "stage").annotate(n=Count("pk"))
    risks = qs.values_list("origin_id", "ai_act_risk").annotate(n=Count("pk"))
    totals = qs.values("origin_id").annotate(n=Count("pk"), last=Max("modified"))
    by_stage: dict[str, dict[str, int]] = {}
    by_risk: dict[str, dict[str, int]] = {}
    for code, stage, n in stages:
        by_stage.setdefault(code, {})[stage] = n
    for code, risk, n in risks:
        by_risk.setdefault(code, {})[risk] = n
    agencies = {a.code: a for a in Agency.objects.filter(code__in=[r["origin_id"] for r in totals])}
    rows = []
    for total in totals:
        code = total["origin_id"]
        agency = agencies.get(code)
        rows.append(
            {
                "code": code,
                "name": agency.name if agency else code,
                "reference": _is_reference(code),
                "count": total["n"],
                "by_stage": {s: by_stage[code].get(s, 0) for s in v.Stage.values},
                "by_risk": {r: by_risk[code].get(r, 0) for r in v.AiActRisk.values},
                "last_modified": total["last"],
            }
        )
    return sorted(rows, key=lambda row: (-row["count"], row["code"]))


def _is_reference(code: str) -> bool:
    """A reference register (public AI inventory of bodies outside the network, a reserved
    origin: registry.reference), which the statistics count apart from the network's agencies."""
    return reference.is_reference(code)


def quality_stats(qs: QuerySet[UseCase], *, today: dt.date) -> dict:
    """Completeness and compliance (registry.quality) overall, per agency and per AI Act risk
    class: records, mean completeness, and how many carry each flag (review_overdue as of
    today). Two grouped queries; the overall figures are the sums of the agencies'."""
    qs = qs.order_by()
    aggregates = _quality_aggregates(today)
    agencies = list(qs.values("origin_id", "origin__name").annotate(**aggregates))
    risks = {row["ai_act_risk"]: row for row in qs.values("ai_act_risk").annotate(**aggregates)}
    by_agency = [
        {"code": row["origin_id"], "name": row["origin__name"], **_quality_figures(row)}
        for row in sorted(agencies, key=lambda row: row["origin_id"])
    ]
    totals = {key: sum(row[key] or 0 for row in agencies) for key in aggregates}
    return {
        "overall": _quality_figures(totals),
        "by_agency": by_agency,
        # Every class in vocabulary order, empty ones included (a record without one, only
        # possible below the shared levels, is counted overall and per agency only).
        "by_risk": {code: _quality_figures(risks.get(code, {})) for code in v.AiActRisk.values},
    }


def quality_summary(qs: QuerySet[UseCase], *, today: dt.date) -> dict:
    """quality_stats' figures for qs as a whole, in one query (an agency's page)."""
    return _quality_figures(qs.order_by().aggregate(**_quality_aggregates(today)))


def _quality_aggregates(today: dt.date) -> dict:
    """Records, completeness points and a count per flag (in quality.FLAG_LABELS order)."""
    aggregates = {"records": Count("pk"), "points": Sum("completeness")}
    for code in quality.STORED_FLAGS:
        aggregates[f"flag_{code}"] = Count("pk", filter=list_contains("compliance_flags", code))
    # UseCase.objects.review_overdue(), as a condition (a record without a stage is in use).
    overdue = review_overdue_q(today)
    aggregates[f"flag_{quality.REVIEW_OVERDUE}"] = Count("pk", filter=overdue)
    return aggregates


def _quality_figures(row: dict) -> dict:
    records = row.get("records") or 0
    mean = round(float(row["points"]) / records, 1) if records else None
    return {
        "count": records,
        "mean_completeness": mean,
        "flags": {code: row.get(f"flag_{code}") or 0 for code in quality.FLAG_LABELS},
    }


def _months(counts: dict[str, int]) -> list[dict]:
    return [{"month": month, "count": n} for month, n in sorted(counts.items())]


def grouped_counts(qs: QuerySet[UseCase], *, groups: dict[str, tuple[str, str]]) -> dict:
    """{name: {value: count}} for each group (kind, lookup): kind "scalar" counts a column's
    values, "list" the items of a JSON list column, "month" a date column's YYYY-MM.

    PostgreSQL counts all groups in two queries; elsewhere one query per group."""
    qs = qs.order_by()
    if connection.vendor == "postgresql":
        return _grouped_counts_postgresql(qs, groups)
    counts = {}
    for name, (kind, lookup) in groups.items():
        if kind == "list":
            counts.update(_list_counts(qs, [name]))
        elif kind == "month":
            counts[name] = _month_counts(qs, lookup)
        else:
            rows = qs.values_list(lookup).annotate(n=Count("pk")).values_list(lookup, "n")
            counts[name] = {str(v): n for v, n in rows if v not in (None, "")}
    return counts


def _grouped_counts_postgresql(qs: QuerySet[UseCase], groups: dict) -> dict:
    """Two passes whatever the number of groups: GROUPING SETS for the scalar and month groups,
    conditional counts for all list groups (both index-only scans where migration 0004's
    covering index holds every column the filters touch)."""
    names = list(groups)
    counts: dict[str, dict[str, int]] = {name: {} for name in names}
    scalar = [name for name in names if groups[name][0] != "list"]
    listed = [name for name in names if groups[name][0] == "list"]
    try:
        if scalar:
            _count_scalar_groups(qs, {name: groups[name] for name in scalar}, counts)
        counts.update(_list_counts(qs, listed))
    except EmptyResultSet:
        pass
    return counts


def _narrow_sql(qs: QuerySet[UseCase], lookups: list[str]) -> tuple[str, tuple]:
    aliases = {f"f{i}": lookup for i, lookup in enumerate(lookups)}
    narrowed = qs.annotate(**{a: F(lookup) for a, lookup in aliases.items()}).values(*aliases)
    return narrowed.query.sql_with_params()


def _count_scalar_groups(qs, groups: dict, counts: dict) -> None:
    inner, params = _narrow_sql(qs, [lookup for _kind, lookup in groups.values()])
    exprs = [
        f"to_char(\"f{i}\", 'YYYY-MM')" if kind == "month" else f'"f{i}"::text'
        for i, (kind, _lookup) in enumerate(groups.values())
    ]
    sets = ", ".join(f"({expr})" for expr in exprs)
    sql = f"SELECT {', '.join(exprs)}, count(*) FROM ({inner}) f GROUP BY GROUPING SETS ({sets})"
    names = list(groups)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            # One column is grouped per set; the others are NULL. A NULL value is not counted.
            present = [(i, value) for i, value in enumerate(row[:-1]) if value not in (None, "")]
            if len(present) == 1:
                counts[names[present[0][0]]][present[0][1]] = row[-1]


def _list_counts(qs: QuerySet[UseCase], names: list[str]) -> dict[str, dict[str, int]]:
    """Every code of every named list field counted in one pass (a conditional count per code:
    on PostgreSQL faster than unnesting the lists)."""
    if not names:
        return {}
    aggregates = {}
    for i, name in enumerate(names):
        for j, code in enumerate(_FACET_CHOICES[name].values):
            aggregates[f"c{i}_{j}"] = Count("pk", filter=list_contains(FILTERS[name].field, code))
    totals = qs.aggregate(**aggregates)
    return {
        name: {
            code: totals[f"c{i}_{j}"]
            for j, code in enumerate(_FACET_CHOICES[name].values)
            if totals[f"c{i}_{j}"]
        }
        for i, name in enumerate(names)
    }


def _month_counts(qs: QuerySet[UseCase], field: str) -> dict[str, int]:
    rows = (
        qs.filter(**{f"{field}__isnull": False})
        .annotate(month=TruncMonth(field))
        .values("month")
        .annotate(n=Count("pk"))
    )
    return {row["month"].strftime("%Y-%m"): row["n"] for row in rows}


def _agencies_with_counts(counts: dict[str, int]) -> list[dict]:
    agencies = {a.code: a for a in Agency.objects.filter(code__in=counts)}
    return [
        {
            "code": code,
            "name": agencies[code].name if code in agencies else code,
            "reference": _is_reference(code),
            "count": n,
        }
        for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def catalogue_stamp() -> str:
    """Changes whenever a use case is added, removed or changed (count, latest change, latest
    arrival of a copy, whose `modified` is its origin's and may be older than others, latest
    row): the part of a cache key that keeps cached counts current. Computing it reads every
    row, so it is itself cached for STAMP_SECONDS."""
    stamp = cache.get(STAMP_KEY)
    if stamp is None:
        # Apart, so that each maximum is read off an index and the count off the smallest.
        latest = UseCase.objects.aggregate(m=Max("modified"), r=Max("received_at"), i=Max("pk"))
        # And the feed's newest position: times come from clocks, which go back (a clock put
        # right, an origin's clock behind another's); every change is written to the feed.
        top = FeedEntry.objects.order_by("-txid", "-seq").values_list("txid", "seq").first()
        stamp = f"{UseCase.objects.count()}|{latest['m']}|{latest['r']}|{latest['i']}|{top}"
        cache.set(STAMP_KEY, stamp, STAMP_SECONDS)
    return stamp


def cached_counts(kind: str, qs: QuerySet[UseCase], compute: Callable[[], Any]) -> Any:
    """compute() for qs, served from the cache while the catalogue is unchanged: counting scans
    every matching row, so a busy catalogue counts each view once (up to STAMP_SECONDS behind a
    change; at most COUNTS_CACHE_SECONDS old if a change were ever to slip past the stamp)."""
    try:
        sql, params = qs.order_by().query.sql_with_params()
    except EmptyResultSet:
        return compute()
    state = f"{kind}|{sql}|{params!r}|{catalogue_stamp()}"
    key = "catalogue:counts:" + hashlib.sha256(state.encode()).hexdigest()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, COUNTS_CACHE_SECONDS)
    return value
