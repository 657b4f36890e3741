"""What the statistics page shows of catalogue.counts.network_stats: its charts, each bar and
column linked to the catalogue filtered to it, and the per-agency overview. Plain functions of
the figures and the page's query string (the catalogue's filters and search), so that every
link keeps the filters the figures were counted under.
"""

import datetime as dt
from collections.abc import Callable, Mapping

from django.http import QueryDict
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from catalogue import charts, registers
from registry import vocabularies as v

# Paging and sorting belong to a list of results, not to what is counted.
TRANSIENT_PARAMS = ("cursor", "page", "sort", "ordering")


def filtered_url(base: str, params: QueryDict, **chosen: str) -> str:
    """base with params' filters and search, each named parameter in chosen set to its value
    (replacing what params held for it)."""
    query = params.copy()
    for name in TRANSIENT_PARAMS:
        query.pop(name, None)
    for name, value in chosen.items():
        query.setlist(name, [value])
    text = query.urlencode()
    return f"{base}?{text}" if text else base


def page_charts(stats: dict, *, params: QueryDict, catalogue_url: str) -> list[SafeString]:
    """The page's charts, in reading order: who, how far, how risky, how, for what, when."""

    def link(**chosen: str) -> str:
        return filtered_url(catalogue_url, params, **chosen)

    # With filters or a search, an empty chart means none of them matched, not a new registry.
    empty = _("No use cases match these filters.") if filtered_url("", params) else None

    def vocabulary(name: str, counts: dict, choices, title: str, chart_id: str) -> SafeString:
        # A value no use case has leads nowhere worth going.
        bars = [
            charts.Bar(str(choices(code).label), n, link(**{name: code}) if n else "")
            for code, n in counts.items()
        ]
        return charts.bar_chart(bars, title=title, chart_id=chart_id, empty=empty)

    # The network's agencies are charted; the reference registers outside it apart, if any.
    network, others = registers.split_by_origin(stats["by_agency"])
    agency_bars = [
        charts.Bar(row["code"], row["count"], link(agency=row["code"])) for row in network
    ]
    register_bars = [
        charts.Bar(row["code"], row["count"], link(agency=row["code"])) for row in others
    ]
    started = _linked_periods(
        charts.time_axis(stats["started_by_month"]), link, "started_on_after", "started_on_before"
    )
    live = _linked_periods(
        charts.time_axis(stats["operational_by_month"]),
        link,
        "operational_since_after",
        "operational_since_before",
    )
    running = [
        charts.Period(p.label, p.value, p.start, p.end, link(operational_since_before=_iso(p.end)))
        for p in charts.cumulative(live)
    ]
    by_register = (
        [
            charts.bar_chart(
                register_bars,
                title=_("Use cases by other public register (outside the network)"),
                chart_id="by-register",
            )
        ]
        if register_bars
        else []
    )
    return [
        charts.bar_chart(
            agency_bars, title=_("Use cases by network agency"), chart_id="by-agency", empty=empty
        ),
        *by_register,
        vocabulary("stage", stats["by_stage"], v.Stage, _("Use cases by stage"), "by-stage"),
        vocabulary(
            "ai_act_risk",
            stats["by_risk"],
            v.AiActRisk,
            _("Use cases by AI Act risk class"),
            "by-risk",
        ),
        vocabulary(
            "techniques",
            stats["by_technique"],
            v.Technique,
            _("Use cases by technique"),
            "by-technique",
        ),
        vocabulary(
            "regulatory_processes",
            stats["by_process"],
            v.RegulatoryProcess,
            _("Use cases by regulatory process"),
            "by-process",
        ),
        charts.column_chart(
            started,
            title=_("Use cases started, by the date they started"),
            chart_id="started-over-time",
            empty=empty,
        ),
        charts.column_chart(
            live,
            title=_("Use cases that went into production, by that date"),
            chart_id="operational-over-time",
            empty=empty,
        ),
        charts.column_chart(
            running,
            title=_("Use cases that had gone into production, in total"),
            chart_id="operational-cumulative",
            empty=empty,
        ),
    ]


def _linked_periods(periods, link, after: str, before: str) -> list[charts.Period]:
    return [
        charts.Period(
            p.label, p.value, p.start, p.end, link(**{after: _iso(p.start), before: _iso(p.end)})
        )
        for p in periods
    ]


def _iso(day: dt.date) -> str:
    return day.isoformat()


def agency_overview(
    stats: dict,
    *,
    params: QueryDict,
    catalogue_url: str,
    last_sync: Callable[[str], dt.datetime | None],
) -> dict[str, list[dict]]:
    """{"network": rows, "reference": rows}: the network's agencies apart from the reference
    registers outside it. Each row: code, name, count, catalogue_url, stages and risks (the
    non-zero ones: label, count, catalogue address), last_modified and, for an agency,
    last_sync (last_sync(code): when this node last synchronised with it, or None)."""
    groups: dict[str, list[dict]] = {"network": [], "reference": []}
    for row in stats["agencies"]:
        code = row["code"]
        groups["reference" if row["reference"] else "network"].append(
            {
                **row,
                "catalogue_url": filtered_url(catalogue_url, params, agency=code),
                "stages": _counted(row["by_stage"], v.Stage, "stage", code, params, catalogue_url),
                "risks": _counted(
                    row["by_risk"], v.AiActRisk, "ai_act_risk", code, params, catalogue_url
                ),
                "last_sync": None if row["reference"] else last_sync(code),
            }
        )
    return groups


def _counted(counts: Mapping, choices, name: str, code: str, params, catalogue_url) -> list[dict]:
    return [
        {
            "label": str(choices(value).label),
            "count": n,
            "url": filtered_url(catalogue_url, params, agency=code, **{name: value}),
        }
        for value, n in counts.items()
        if n
    ]
