"""Catalogue filters: query parameters (named after the record's fields) turned into one Q.

One table, FILTERS, drives the parsing, the API's OpenAPI parameters and the facet names, so the
API and the web pages accept exactly the same parameters. Several values of one parameter (given
repeated, `stage=pilot&stage=production`, or comma-separated, `stage=pilot,production`) mean OR;
different parameters combine with AND. List fields (techniques, ...) match by containment.
A view accepts FILTERS and its own few parameters (allowed_parameters) and refuses any other
with the allowed names (check_parameters), so a misspelt filter is never silently ignored.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q, TextChoices
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalogue import query_text
from registry import reference
from registry import vocabularies as v
from registry.validation import NETWORK_ONLY_FIELDS

MAX_VALUES_PER_PARAMETER = 50
MAX_VALUE_LENGTH = 200


class FilterInvalid(Exception):
    """Bad query parameters; errors are keyed by the parameter's name."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(m)}" for k, m in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Filter:
    kind: str  # enum, enum_list, bool, date, agency, country, overdue, source
    field: str  # model lookup path
    choices: type[TextChoices] | None = None
    lookup: str = "exact"  # for dates: gte or lte
    network_only: bool = False
    description: str = ""


class Source(TextChoices):
    """Whose records (issue 11: the network's agencies kept apart from the public registers the
    hub imports, registry.reference)."""

    AGENCIES = "agencies", _("Network agencies only")
    REGISTERS = "registers", _("Other public registers only")


SOURCE = "source"


def _enum(field: str, choices: type[TextChoices]) -> Filter:
    return Filter(
        "enum", field, choices, network_only=field in NETWORK_ONLY_FIELDS, description=field
    )


def _enum_list(field: str, choices: type[TextChoices]) -> Filter:
    return Filter("enum_list", field, choices, description=f"{field} containing the value")


def _dates(field: str) -> dict[str, Filter]:
    return {
        f"{field}_after": Filter("date", field, lookup="gte", description=f"{field} on or after"),
        f"{field}_before": Filter("date", field, lookup="lte", description=f"{field} on or before"),
    }


def _bool(field: str) -> Filter:
    return Filter("bool", field, network_only=field in NETWORK_ONLY_FIELDS, description=field)


FILTERS: dict[str, Filter] = {
    "stage": _enum("stage", v.Stage),
    "ai_act_risk": _enum("ai_act_risk", v.AiActRisk),
    "ai_act_role": _enum("ai_act_role", v.AiActRole),
    "medicine_scope": _enum("medicine_scope", v.MedicineScope),
    "workplan_area": _enum("workplan_area", v.WorkplanArea),
    "personal_data": _enum("personal_data", v.PersonalData),
    "dpia_status": _enum("dpia_status", v.DpiaStatus),
    "human_oversight": _enum("human_oversight", v.HumanOversight),
    "sourcing": _enum("sourcing", v.Sourcing),
    "hosting": _enum("hosting", v.Hosting),
    "publication_level": Filter(
        "enum", "publication_level", v.PublicationLevel, description="network or public"
    ),
    "regulatory_processes": _enum_list("regulatory_processes", v.RegulatoryProcess),
    "techniques": _enum_list("techniques", v.Technique),
    "outputs": _enum_list("outputs", v.Output),
    SOURCE: Filter(
        "source",
        "origin_id",
        Source,
        description="agencies: the records of the network's agencies only; registers: those of "
        "the other public registers the hub imports (reserved origins REF-..., docs/protocol.md "
        "'Reference registers') only",
    ),
    "agency": Filter("agency", "origin_id", description="origin agency code, e.g. DE-BFARM"),
    "country": Filter("country", "origin__country", description="origin agency's country, e.g. DE"),
    "affects_individuals": _bool("affects_individuals"),
    "reusable": _bool("reusable"),
    "uses_gpai": _bool("uses_gpai"),
    **_dates("started_on"),
    **_dates("operational_since"),
    **_dates("retired_on"),
    **_dates("next_review_on"),
    **_dates("modified"),
    **_dates("created"),
    # Relative to the server's date, so the facet index cannot hold it (registry.quality).
    "review_overdue": Filter(
        "overdue",
        "next_review_on",
        description="true: next_review_on has passed (before the server's date today) and the "
        "stage is not retired; false: every other use case",
    ),
}
# The fields whose values are counted by facet_counts (the enumerations, agency and country).
FACET_FIELDS: tuple[str, ...] = tuple(
    name for name, f in FILTERS.items() if f.kind in {"enum", "enum_list", "agency", "country"}
)
TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


def raw_values(params: Mapping, name: str) -> list[str]:
    """All values of a parameter: repeated and comma-separated forms, blanks dropped."""
    if hasattr(params, "getlist"):
        given = params.getlist(name)
    else:
        given = params.get(name, [])
        given = [given] if isinstance(given, str) else list(given)
    values = [part.strip() for item in given for part in str(item).split(",")]
    return [value for value in values if value]


def check_parameters(params: Mapping, *, allowed: Iterable[str]) -> None:
    """FilterInvalid naming each parameter of params that is not in allowed, with the allowed
    names, so that a misspelt filter (`stages=pilot`) is refused instead of ignored. A view's
    allowed names are FILTERS plus its own few (allowed_parameters)."""
    allowed = list(dict.fromkeys(allowed))
    unknown = list(dict.fromkeys(name[:40] for name in params if name not in allowed))
    if unknown:
        # The allowed names once, under the first unknown name: a page lists every error.
        listing = f"Unknown parameter. Allowed: {', '.join(sorted(allowed))}."
        errors = {
            name: ["Unknown parameter (the allowed names are listed above)."] for name in unknown
        }
        errors[unknown[0]] = [listing]
        raise FilterInvalid(errors)


def allowed_parameters(*own: str) -> tuple[str, ...]:
    """The query parameters of a view that takes the catalogue filters: FILTERS and own."""
    return (*FILTERS, *own)


def allowed_filters(*, network: bool) -> dict[str, Filter]:
    """Anonymous visitors may not filter on network-tier fields (that would reveal them)."""
    return {name: f for name, f in FILTERS.items() if network or not f.network_only}


def parse_filters(params: Mapping, *, network: bool) -> dict[str, Any]:
    """Each known filter parameter in params, checked and normalised: a list of values for the
    enumerations, agency and country (upper case), one bool or date otherwise. FilterInvalid
    names every bad one; other parameters are left to the caller (check_parameters)."""
    errors: dict[str, list[str]] = {}
    parsed: dict[str, Any] = {}
    for name, spec in FILTERS.items():
        values = raw_values(params, name)
        if not values:
            continue
        if spec.network_only and not network:
            errors[name] = ["This filter is available to authenticated users only."]
            continue
        try:
            parsed[name] = _parsed(spec, _checked(values))
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise FilterInvalid(errors)
    return parsed


def depends_on_today(params: Mapping) -> bool:
    """Whether params hold a filter relative to today's date: what it selects changes at
    midnight, so an answer to it must not be kept across one."""
    return any(raw_values(params, name) for name, f in FILTERS.items() if f.kind == "overdue")


def filters_to_q(params: Mapping, *, network: bool, today: dt.date | None = None) -> Q:
    """The filter parameters in params as one condition (FilterInvalid names every bad one);
    review_overdue as of today (default: the server's date)."""
    return parsed_to_q(parse_filters(params, network=network), today=today)


def parsed_to_q(parsed: Mapping[str, Any], *, today: dt.date | None = None) -> Q:
    """The condition of filters as parse_filters returns them (AND between parameters)."""
    today = today or timezone.localdate()
    condition = Q()
    for name, value in parsed.items():
        condition &= _condition(FILTERS[name], value, today)
    return condition


def review_overdue_q(today: dt.date) -> Q:
    """UseCase.objects.review_overdue(today) as a condition (registry.quality): a next review
    date before today, on a record still in use (one without a stage counts as in use), never a
    reference register's (registry.reference)."""
    return (
        Q(next_review_on__lt=today)
        & ~Q(stage=v.Stage.RETIRED)
        & ~Q(origin__code__startswith=reference.REFERENCE_PREFIX)
    )


def _checked(values: list[str]) -> list[str]:
    if len(values) > MAX_VALUES_PER_PARAMETER:
        raise ValueError(f"At most {MAX_VALUES_PER_PARAMETER} values.")
    for value in values:
        if len(value) > MAX_VALUE_LENGTH:
            raise ValueError(f"At most {MAX_VALUE_LENGTH} characters per value.")
        controls = query_text.control_characters(value)
        if controls:
            raise ValueError(f"A value contains a control character ({', '.join(controls)}).")
    return values


def _parsed(spec: Filter, values: list[str]) -> Any:
    if spec.kind in {"enum", "enum_list", "source"}:
        return _enum_values(spec, values)
    if spec.kind in {"bool", "overdue"}:
        return _one_bool(values)
    if spec.kind == "date":
        return _one_date(values, spec)
    if spec.kind in {"agency", "country"}:
        return list(dict.fromkeys(value.upper() for value in values))
    raise AssertionError(spec.kind)


def _condition(spec: Filter, value: Any, today: dt.date) -> Q:
    if spec.kind == "enum_list":
        return _any_contains(spec.field, value)
    if spec.kind in {"enum", "agency", "country"}:
        return Q(**{f"{spec.field}__in": value})
    if spec.kind == "bool":
        return Q(**{spec.field: value})
    if spec.kind == "date":
        return Q(**{f"{spec.field}__{spec.lookup}": value})
    if spec.kind == "overdue":
        return review_overdue_q(today) if value else ~review_overdue_q(today)
    if spec.kind == "source":
        return source_q(value)
    raise AssertionError(spec.kind)


def source_q(sources: list[str]) -> Q:
    """The records of the chosen sources (Source; both: every record)."""
    registers = Q(origin__code__startswith=reference.REFERENCE_PREFIX)
    if set(sources) >= {Source.AGENCIES, Source.REGISTERS}:
        return Q()
    return registers if Source.REGISTERS in sources else ~registers


def _enum_values(spec: Filter, values: list[str]) -> list[str]:
    bad = [value for value in values if value not in spec.choices.values]
    if bad:
        allowed = ", ".join(spec.choices.values)
        raise ValueError(f"{bad[0][:40]!r} is not one of: {allowed}.")
    return list(dict.fromkeys(values))


def list_contains(field: str, value: str) -> Q:
    """A JSON list column holds value. PostgreSQL: jsonb @> (GIN-indexed); SQLite has no
    containment lookup, so match the quoted item in the stored JSON text (codes are plain
    ASCII words, so '"code"' cannot match anything but that item)."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__contains": [value]})
    return Q(**{f"{field}__icontains": f'"{value}"'})


def _any_contains(field: str, values: list[str]) -> Q:
    condition = Q()
    for value in values:
        condition |= list_contains(field, value)
    return condition


def _one_bool(values: list[str]) -> bool:
    if len(values) != 1 or values[0].lower() not in TRUE_WORDS | FALSE_WORDS:
        raise ValueError("Must be true or false.")
    return values[0].lower() in TRUE_WORDS


def _one_date(values: list[str], spec: Filter) -> dt.date | dt.datetime:
    if len(values) != 1:
        raise ValueError("Give one date.")
    try:
        day = dt.date.fromisoformat(values[0])
    except ValueError:
        raise ValueError(f"{values[0][:40]!r} is not an ISO date (YYYY-MM-DD).") from None
    if spec.field in {"modified", "created"}:
        # Timestamps: the whole named day counts, in UTC.
        start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        if spec.lookup == "lte":
            return start.replace(hour=23, minute=59, second=59, microsecond=999999)
        return start
    return day
