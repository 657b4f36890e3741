"""The catalogue's JSON shape of a use case.

`use_case_data` is the one function that turns a row into the API's dict (used by the list,
the detail and the JSON export, so they agree). The serializer classes describe that shape for
the OpenAPI schema; their to_representation delegates to use_case_data, which is fast enough to
stream 100,000 rows.
"""

import csv
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from catalogue.selectors import NETWORK_FIELDS
from registry import quality
from registry import vocabularies as v
from registry.models import UseCase
from registry.validation import NETWORK_ONLY_FIELDS

PROVENANCE_FIELDS = (
    "agency_name",
    "reference_register",
    "organisation",
    "country",
    "publication_level",
    "created",
    "modified",
    "received_at",
    "received_from",
)


def wire_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def use_case_data(
    use_case: UseCase,
    *,
    fields: tuple[str, ...],
    snippet: str | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """uid, origin, version, provenance, the visible record fields in RECORD.md order, then the
    record's completeness and compliance flags as of today (derived here, never on the wire)."""
    data = {
        "uid": str(use_case.uid),
        "origin": use_case.origin_id,
        "version": use_case.version,
        "agency_name": use_case.origin.name,
        # A reference register's record is no agency's (registry.reference): say whose it is.
        "reference_register": use_case.origin.name if use_case.is_reference else None,
        "organisation": use_case.organisation,
        "country": use_case.origin.country,
        "publication_level": use_case.publication_level,
        "created": wire_value(use_case.created),
        "modified": wire_value(use_case.modified),
        "received_at": wire_value(use_case.received_at),
        "received_from": use_case.received_from or None,
    }
    for name in fields:
        data[name] = wire_value(getattr(use_case, name))
    data["completeness"] = use_case.completeness
    data["compliance"] = quality.record_flags(use_case, today or timezone.localdate())
    if snippet is not None:
        data["snippet"] = snippet
    return data


class RelatedLinkSerializer(serializers.Serializer):
    origin = serializers.CharField()
    uid = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=v.RelationKind.choices)


def _enum_list(choices) -> serializers.ListField:
    return serializers.ListField(child=serializers.ChoiceField(choices=choices))


class UseCaseSerializer(serializers.ModelSerializer):
    """A use case as the catalogue shows it. Network-tier fields (uses_gpai, gpai_model,
    risks_and_mitigations, monitoring, hosting) appear for authenticated users only."""

    uid = serializers.UUIDField()
    origin = serializers.CharField(source="origin_id", help_text="Origin agency code.")
    version = serializers.IntegerField()
    agency_name = serializers.CharField(source="origin.name")
    reference_register = serializers.CharField(
        allow_null=True,
        help_text="For a record of a public register outside the network (the US federal AI "
        "inventory, the Dutch algorithm register): the register's name; null for an agency's.",
    )
    organisation = serializers.CharField(
        help_text="The body that runs the system: the agency, or for a reference register's "
        "record the organisation the register names (e.g. 'HHS / FDA / CDER')."
    )
    country = serializers.CharField(source="origin.country", help_text="Origin's country.")
    created = serializers.DateTimeField(help_text="When the row appeared on this node.")
    modified = serializers.DateTimeField(help_text="Last change at the origin.")
    received_at = serializers.DateTimeField(
        allow_null=True, help_text="For a copy from another agency: when this node received it."
    )
    received_from = serializers.CharField(
        allow_null=True, help_text="For a received copy: the node it came from."
    )
    outputs = _enum_list(v.Output.choices)
    regulatory_processes = _enum_list(v.RegulatoryProcess.choices)
    techniques = _enum_list(v.Technique.choices)
    tags = serializers.ListField(child=serializers.CharField())
    data_sources = serializers.ListField(child=serializers.CharField())
    related = RelatedLinkSerializer(many=True)
    # Plain strings: an empty value is "" (the record's way of saying "not stated").
    eu_database_ref = serializers.CharField(allow_blank=True, help_text="URL or empty.")
    code_url = serializers.CharField(allow_blank=True, help_text="URL or empty.")
    completeness = serializers.IntegerField(
        read_only=True,
        min_value=0,
        max_value=100,
        help_text="How complete the record is, 0 to 100: the required fields weigh 70 points, "
        "the recommended ones (description, benefits, risks_and_mitigations, monitoring, "
        "data_sources, legal_basis, next_review_on) 30. Derived by this node.",
    )
    compliance = serializers.ListField(
        child=serializers.ChoiceField(choices=list(quality.FLAG_LABELS.items())),
        read_only=True,
        help_text="Compliance checks the record fails: high_risk_unjustified (high risk without "
        "a justification and human oversight), personal_data_without_dpia, "
        "production_without_review (no next review date), review_overdue (next review date "
        "passed, as of today). Derived by this node.",
    )
    snippet = serializers.CharField(
        required=False,
        help_text="Only when searching: an excerpt as HTML, matches wrapped in <mark>, all "
        "other text escaped.",
    )

    class Meta:
        model = UseCase
        fields = [
            "uid",
            "origin",
            "version",
            *PROVENANCE_FIELDS,
            *NETWORK_FIELDS,
            "completeness",
            "compliance",
            "snippet",
        ]
        extra_kwargs = {name: {"required": False} for name in NETWORK_ONLY_FIELDS}

    def to_representation(self, instance: UseCase) -> dict[str, Any]:
        return use_case_data(
            instance,
            fields=self.context["fields"],
            snippet=self.context.get("snippets", {}).get(instance.pk),
        )


class UseCasePageSerializer(serializers.Serializer):
    results = UseCaseSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null at the end.")
    ordering = serializers.CharField(help_text="The ordering applied.")


class FacetsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Use cases matching the filters.")
    facets = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="Per facet (stage, ai_act_risk, techniques, agency, country, ...): count per "
        "value. Enumerations list every code (zeros included) in vocabulary order.",
    )


class AgencyCountSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    reference = serializers.BooleanField(
        help_text="A reference register outside the network (registry.reference), not an agency."
    )
    count = serializers.IntegerField()


class AgencyOverviewSerializer(AgencyCountSerializer):
    by_stage = serializers.DictField(
        child=serializers.IntegerField(), help_text="Per stage, every stage, zeros included."
    )
    by_risk = serializers.DictField(
        child=serializers.IntegerField(), help_text="Per AI Act risk class, zeros included."
    )
    last_modified = serializers.DateTimeField(help_text="Its latest change to these use cases.")


class MonthCountSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    count = serializers.IntegerField()


def _counts(help_text: str) -> serializers.DictField:
    return serializers.DictField(child=serializers.IntegerField(), help_text=help_text)


class QualityFiguresSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Use cases counted.")
    mean_completeness = serializers.FloatField(
        allow_null=True, help_text="Their mean completeness (0 to 100, one decimal); null if none."
    )
    flags = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="How many fail each compliance check (every check listed, zeros included; "
        "review_overdue as of today).",
    )


class AgencyQualitySerializer(QualityFiguresSerializer):
    code = serializers.CharField()
    name = serializers.CharField()


class QualityStatsSerializer(serializers.Serializer):
    overall = QualityFiguresSerializer()
    by_agency = AgencyQualitySerializer(many=True, help_text="Agencies with use cases, by code.")
    by_risk = serializers.DictField(
        child=QualityFiguresSerializer(),
        help_text="Per AI Act risk class, every class in vocabulary order.",
    )


class StatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    reference_total = serializers.IntegerField(
        help_text="Of total, the records of reference registers outside the network."
    )
    by_agency = AgencyCountSerializer(many=True)
    by_country = _counts("Count per origin country.")
    by_stage = _counts("Count per stage.")
    by_risk = _counts("Count per AI Act risk class.")
    by_technique = _counts("Use cases using each technique (a use case may use several).")
    by_process = _counts("Use cases serving each regulatory process.")
    started_by_month = MonthCountSerializer(
        many=True, help_text="By month of the record's started_on (months with none left out)."
    )
    operational_by_month = MonthCountSerializer(
        many=True, help_text="By month of the record's operational_since."
    )
    quality = QualityStatsSerializer(
        help_text="Completeness and compliance checks, overall, per agency and per risk class."
    )
    agencies = AgencyOverviewSerializer(
        many=True, help_text="Per agency, most use cases first: by stage, by risk, last change."
    )


class AgencySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    country = serializers.CharField()
    kind = serializers.ChoiceField(choices=v.AgencyKind.choices)
    use_case_count = serializers.IntegerField(help_text="Use cases of it visible to the caller.")


class AgencyListSerializer(serializers.Serializer):
    results = AgencySerializer(many=True)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For 400: the messages per parameter name.",
    )


# ---- streamed exports ---------------------------------------------------------------------------

EXPORT_CHUNK_ROWS = 500
# A spreadsheet would run these as formulas (CSV injection); a leading quote keeps them text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_HEADER_START = ("uid", "origin", "version", *PROVENANCE_FIELDS)


class _Echo:
    def write(self, value: str) -> str:
        return value


def neutralise_formula(text: str) -> str:
    """text with a leading apostrophe when a spreadsheet would read it as a formula (it starts
    with = + - @, a tab or a carriage return: OWASP "CSV injection"), otherwise unchanged. The
    one rule of every spreadsheet-bound export: CSV, XLSX (catalogue.exports_xlsx), UK ATRS."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def list_cell(items: list) -> str:
    """A list field in one cell: items joined with '|', related links as origin/uid/kind."""
    return "|".join(
        f"{item['origin']}/{item['uid']}/{item['kind']}" if isinstance(item, dict) else item
        for item in items
    )


def csv_cell(value: Any) -> Any:
    """One CSV cell: lists joined (list_cell), None empty, booleans true/false, text passed
    through neutralise_formula."""
    if isinstance(value, list):
        value = list_cell(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return neutralise_formula(value)
    return value


def csv_lines(rows, *, fields: tuple[str, ...]) -> Iterator[str]:
    """The CSV text of rows, a chunk of lines at a time; the queryset is read with a
    server-side cursor (iterator), so memory stays flat however many rows there are."""
    writer = csv.writer(_Echo())
    header = [*EXPORT_HEADER_START, *fields]
    yield writer.writerow(header)
    chunk = []
    today = timezone.localdate()
    for use_case in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        data = use_case_data(use_case, fields=fields, today=today)
        chunk.append(writer.writerow([csv_cell(data[name]) for name in header]))
        if len(chunk) >= EXPORT_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)


def json_chunks(rows, *, fields: tuple[str, ...]) -> Iterator[str]:
    """One JSON array of the rows, streamed like csv_lines."""
    yield "["
    separator = ""
    chunk = []
    today = timezone.localdate()
    for use_case in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        data = use_case_data(use_case, fields=fields, today=today)
        chunk.append(separator + json.dumps(data))
        separator = ","
        if len(chunk) >= EXPORT_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk) + "]"
