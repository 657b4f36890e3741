"""Crosswalk to the UK Algorithmic Transparency Recording Standard (ATRS), v3.0 field table.

One use case becomes one ATRS record: every field of the v3.0 template, in its order, grouped by
its category; fields the record cannot fill are present and empty. docs/crosswalk-uk-atrs.md says
field by field where each value comes from, why the others stay empty, and where each field went
in v4.0. Values are written in English (the standard's language) whatever the reader's language.

The API views at the end serve one record (/api/v1/use-cases/{origin}/{uid}/uk-atrs.json|csv)
and the catalogue's filtered set (/api/v1/use-cases/export.uk-atrs.csv|json?<filters>), with the
visibility of the rest of the catalogue: anonymous readers get public records and P-tier fields.
"""

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.http import HttpResponse
from django.urls import reverse
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from catalogue import api, selectors
from catalogue.serializers import EXPORT_CHUNK_ROWS, csv_cell
from registry import vocabularies as v
from registry.models import UseCase

STANDARD = "Algorithmic Transparency Recording Standard"
STANDARD_VERSION = "3.0"


@dataclass(frozen=True)
class AtrsField:
    reference: str
    attribute: str
    name: str
    tier: str
    category: str


def _section(tier: str, category: str, rows: str) -> list[AtrsField]:
    """Fields of one category from 'reference attribute Name words' lines."""
    fields = []
    for line in rows.strip().splitlines():
        reference, attribute, name = line.split(maxsplit=2)
        fields.append(AtrsField(reference, attribute, name, tier, category))
    return fields


# The v3.0 template (../shared/standards/uk-atrs/atrs-v3.0-template_table.md), in its order.
FIELDS: tuple[AtrsField, ...] = (
    *_section(
        "N/A",
        "Metadata",
        """
        0.1 id ID
        0.2 standard_version Standard version
        0.3 organisation_type Organisation type
        0.4 function Function
        0.5 capability Capability
        0.6 task Task
        0.7 tags Tags
        0.8 date_of_completion Date of completion
        0.9 date_updated Date updated
        0.10 date_archived Date archived
        """,
    ),
    *_section(
        "N/A",
        "Title Information",
        """
        0.11 title Title
        0.12 organisation_name Organisation name
        0.13 phase Phase
        0.14 region Region
        0.15 one_sentence_description One sentence description
        """,
    ),
    *_section(
        "1",
        "Tier 1 Information",
        """
        1.1 name Name
        1.2 description Description
        1.3 website_url Website URL
        1.4 contact_email Contact email
        """,
    ),
    *_section(
        "2",
        "Owner and Responsibility",
        """
        2.1.1 organisation_or_department Organisation or department
        2.1.2 team Team
        2.1.3 senior_responsible_owner Senior responsible owner
        2.1.4 external_supplier_involvement External supplier involvement
        2.1.4.1 external_supplier External supplier
        2.1.4.2 companies_house_number Companies House Number
        2.1.4.3 external_supplier_role External supplier role
        2.1.4.4 procurement_procedure_type Procurement procedure type
        2.1.4.5 data_access_terms Data access terms
        """,
    ),
    *_section(
        "2",
        "Description and Rationale",
        """
        2.2.1 detailed_description Detailed description
        2.2.2 scope Scope
        2.2.3 benefit Benefit
        2.2.4 previous_process Previous process
        2.2.5 alternatives_considered Alternatives considered
        """,
    ),
    *_section(
        "2",
        "Decision-making Process",
        """
        2.3.1 process_integration Process integration
        2.3.2 provided_information Provided information
        2.3.3 frequency_and_scale_of_usage Frequency and scale of usage
        2.3.4 human_decisions_and_review Human decisions and review
        2.3.5 required_training Required training
        2.3.6 appeals_and_review Appeals and review
        """,
    ),
    *_section(
        "2",
        "Tool Specification",
        """
        2.4.1.1 system_architecture System architecture
        2.4.1.2 phase Phase
        2.4.1.3 maintenance Maintenance
        2.4.1.4 models Models
        """,
    ),
    *_section(
        "2",
        "Model Specification",
        """
        2.4.2.1 model_name Model name
        2.4.2.2 model_version Model version
        2.4.2.3 model_task Model task
        2.4.2.4 model_input Model input
        2.4.2.5 model_output Model output
        2.4.2.6 model_architecture Model architecture
        2.4.2.7 model_performance Model performance
        2.4.2.8 datasets Datasets
        2.4.2.9 dataset_purposes Dataset purposes
        """,
    ),
    *_section(
        "2",
        "Data Specification",
        """
        2.4.3.1 source_data_name Source data name
        2.4.3.2 data_modality Data modality
        2.4.3.3 data_description Data description
        2.4.3.4 data_quantities Data quantities
        2.4.3.5 sensitive_attributes Sensitive attributes
        2.4.3.6 data_completeness_and_representativeness Data completeness and representativeness
        2.4.3.7 source_data_url Source data URL
        2.4.3.8 data_collection Data collection
        2.4.3.9 data_cleaning Data cleaning
        2.4.3.10 data_sharing_agreements Data sharing agreements
        2.4.3.11 data_access_and_storage Data access and storage
        """,
    ),
    *_section(
        "2",
        "Risks, mitigations and impact assessments",
        """
        2.5.1 impact_assessment Impact assessment
        2.5.2 risks_and_mitigations Risks and mitigations
        """,
    ),
)


def _column(field: AtrsField) -> str:
    """The attribute; an attribute the table uses twice (phase) also says which one it is."""
    repeated = sum(f.attribute == field.attribute for f in FIELDS) > 1
    return f"{field.attribute} ({field.reference})" if repeated else field.attribute


CSV_COLUMNS: tuple[str, ...] = tuple(_column(f) for f in FIELDS)
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(f.category for f in FIELDS))
# Pilots were "Pilot/beta" in v3.0 (the change log); other stages keep their English label.
PHASES = {v.Stage.PILOT: "Pilot/beta"}
# Who built it, when the ATRS asks whether an external supplier is involved.
SUPPLIER_INVOLVED = {
    v.Sourcing.IN_HOUSE: "No",
    v.Sourcing.OPEN_SOURCE: "No",
    v.Sourcing.VENDOR: "Yes",
    v.Sourcing.NETWORK_SHARED: "Yes",
    v.Sourcing.MIXED: "Yes",
}


# ---- values -----------------------------------------------------------------------------------


class _Source:
    """The record as the reader may see it: network-tier fields read empty for the public."""

    def __init__(self, use_case: UseCase, *, fields: tuple[str, ...], url: str):
        self.use_case, self.fields, self.url = use_case, fields, url

    def text(self, name: str) -> str:
        value = getattr(self.use_case, name) if name in self.fields else None
        if isinstance(value, list):
            return "; ".join(str(item) for item in value)
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return "" if value is None else str(value)

    def label(self, name: str, choices) -> str:
        """The English label of an enumerated field (or of each item of a list of codes)."""
        value = getattr(self.use_case, name) if name in self.fields else None
        codes = value if isinstance(value, list) else [value] if value else []
        return "; ".join(str(choices(code).label) for code in codes if code in choices.values)


def _lines(*parts: tuple[str, str]) -> str:
    """'Label: value' lines for the parts that have a value."""
    return "\n".join(f"{label}: {value}" for label, value in parts if value)


def _title(s: _Source) -> str:
    uc = s.use_case
    return uc.title_en if uc.language != "en" and uc.title_en else uc.title


def _phase(s: _Source) -> str:
    stage = s.use_case.stage if "stage" in s.fields else None
    return PHASES.get(stage, s.label("stage", v.Stage))


def _contact(s: _Source) -> str:
    """The record's mailbox; a record whose contact is a web page gives its agency's mailbox."""
    contact = s.text("contact_email")
    return contact if "@" in contact else s.use_case.origin.contact_email


def _title_values(s: _Source) -> dict[str, str]:
    uc = s.use_case
    return {
        "0.1": "",
        "0.2": STANDARD_VERSION,
        "0.7": s.text("tags"),
        "0.9": uc.modified.date().isoformat() if uc.modified else "",
        "0.10": s.text("retired_on") if uc.stage == v.Stage.RETIRED else "",
        "0.11": _title(s),
        "0.12": uc.organisation,  # a reference register's record: the body it names
        "0.13": _phase(s),
        "0.14": "International",
        "0.15": s.text("summary"),
        "1.1": _title(s),
        "1.2": "\n\n".join(p for p in (s.text("summary"), s.text("purpose")) if p),
        "1.3": s.url,
        "1.4": _contact(s),
    }


def _owner_values(s: _Source) -> dict[str, str]:
    sourcing = s.use_case.sourcing if "sourcing" in s.fields else None
    return {
        "2.1.1": s.use_case.organisation,
        "2.1.2": s.text("business_unit"),
        "2.1.4": SUPPLIER_INVOLVED.get(sourcing, ""),
        "2.1.4.1": s.text("vendor"),
        "2.1.4.3": _lines(("Product", s.text("product"))),
        "2.2.1": s.text("description"),
        "2.2.2": _lines(
            ("Regulatory processes", s.label("regulatory_processes", v.RegulatoryProcess)),
            ("Medicines", s.label("medicine_scope", v.MedicineScope)),
        ),
        "2.2.3": s.text("benefits"),
        "2.3.2": s.label("outputs", v.Output),
        "2.3.4": s.label("human_oversight", v.HumanOversight),
    }


def _specification_values(s: _Source) -> dict[str, str]:
    gpai = s.text("gpai_model") if s.use_case.uses_gpai and "uses_gpai" in s.fields else ""
    return {
        "2.4.1.1": _lines(("Source code", s.text("code_url"))),
        "2.4.1.2": _phase(s),
        "2.4.1.3": _lines(
            ("Monitoring", s.text("monitoring")), ("Next review", s.text("next_review_on"))
        ),
        "2.4.1.4": gpai,
        "2.4.2.1": gpai,
        "2.4.2.6": s.label("techniques", v.Technique),
        "2.4.2.8": s.text("data_sources"),
        "2.4.3.1": s.text("data_sources"),
        "2.4.3.5": s.label("personal_data", v.PersonalData),
        "2.4.3.11": _lines(("Hosting", s.label("hosting", v.Hosting))),
        "2.5.1": _lines(
            ("Data protection impact assessment", s.label("dpia_status", v.DpiaStatus)),
            ("EU AI Act risk class", s.label("ai_act_risk", v.AiActRisk)),
            ("EU AI Act classification", s.text("ai_act_justification")),
            ("EU database entry", s.text("eu_database_ref")),
            ("Legal basis", s.text("legal_basis")),
        ),
        "2.5.2": s.text("risks_and_mitigations"),
    }


def atrs_values(use_case: UseCase, *, fields: tuple[str, ...], url: str) -> list[str]:
    """The value of every ATRS field in FIELDS order; "" where the record says nothing."""
    source = _Source(use_case, fields=fields, url=url)
    with translation.override("en"):
        values = {
            **_title_values(source),
            **_owner_values(source),
            **_specification_values(source),
        }
    return [values.get(field.reference, "") for field in FIELDS]


# ---- shapes -----------------------------------------------------------------------------------


def atrs_record(use_case: UseCase, *, fields: tuple[str, ...], url: str) -> dict:
    """One ATRS record as JSON: the standard, the source record, then each category's fields by
    attribute in the table's order (null where empty)."""
    sections: dict[str, dict[str, str | None]] = {category: {} for category in CATEGORIES}
    for field, value in zip(FIELDS, atrs_values(use_case, fields=fields, url=url), strict=True):
        sections[field.category][field.attribute] = value or None
    return {
        "standard": STANDARD,
        "standard_version": STANDARD_VERSION,
        "source": {
            "origin": use_case.origin_id,
            "uid": str(use_case.uid),
            "version": use_case.version,
            "url": url,
        },
        "sections": sections,
    }


def csv_row(use_case: UseCase, *, fields: tuple[str, ...], url: str) -> list[str]:
    """One CSV row, formula-looking cells neutralised as in the catalogue's CSV export."""
    return [csv_cell(value) for value in atrs_values(use_case, fields=fields, url=url)]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows, *, fields: tuple[str, ...], url_of: Callable[[UseCase], str]) -> Iterator[str]:
    """The header and one row per use case, read with a server-side cursor, streamed in chunks."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    chunk = []
    for use_case in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        chunk.append(writer.writerow(csv_row(use_case, fields=fields, url=url_of(use_case))))
        if len(chunk) >= EXPORT_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)


def json_chunks(
    rows, *, fields: tuple[str, ...], url_of: Callable[[UseCase], str]
) -> Iterator[str]:
    """One JSON array of ATRS records, streamed like csv_lines."""
    yield "["
    separator, chunk = "", []
    for use_case in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        record = atrs_record(use_case, fields=fields, url=url_of(use_case))
        chunk.append(separator + json.dumps(record))
        separator = ","
        if len(chunk) >= EXPORT_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk) + "]"


# ---- API --------------------------------------------------------------------------------------


def page_url(request, use_case: UseCase) -> str:
    """The use case's catalogue page, absolute (the ATRS website_url)."""
    path = reverse("catalogue:use-case", args=[use_case.origin_id, str(use_case.uid)])
    return request.build_absolute_uri(path)


def visible_use_case(request, origin: str, uid) -> UseCase:
    try:
        return selectors.get_use_case(user=request.user, origin=origin, uid=uid)
    except UseCase.DoesNotExist:
        raise exceptions.NotFound("No visible use case with this origin and uid.") from None


def _attachment(response, use_case: UseCase, extension: str):
    name = f"{use_case.origin_id}-{use_case.uid}.uk-atrs.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


CSV_RESPONSE = OpenApiResponse(OpenApiTypes.STR, description="CSV file: the ATRS v3.0 columns.")
ONE_RECORD = (
    "The use case as a record of the UK Algorithmic Transparency Recording Standard: every "
    "field of the v3.0 template in its order (fields the record cannot fill are empty; see "
    "docs/crosswalk-uk-atrs.md). Same visibility as the use case itself."
)
A_SET = (
    "Every use case of the filtered view as ATRS v3.0 records (see docs/crosswalk-uk-atrs.md), "
    "streamed. Same filters and visibility as the list."
)


class AtrsRecordView(api.CatalogueView):
    @extend_schema(
        operation_id="use_cases_uk_atrs_json",
        summary="One use case as a UK ATRS record (JSON)",
        description=ONE_RECORD + " Categories hold their fields by attribute; null is empty.",
        responses={200: OpenApiTypes.OBJECT, **api.NOT_FOUND, **api.PROBLEMS},
    )
    def get(self, request, origin: str, uid):
        use_case = visible_use_case(request, origin, uid)
        fields = selectors.visible_fields(user=request.user)
        record = atrs_record(use_case, fields=fields, url=page_url(request, use_case))
        return _attachment(Response(record), use_case, "json")


class AtrsRecordCSVView(api.CatalogueView):
    renderer_classes = [api.CSVRenderer]

    @extend_schema(
        operation_id="use_cases_uk_atrs_csv",
        summary="One use case as a UK ATRS record (CSV)",
        description=ONE_RECORD + " A header row of attributes, then the record's row.",
        responses={(200, "text/csv"): CSV_RESPONSE, **api.NOT_FOUND, **api.PROBLEMS},
    )
    def get(self, request, origin: str, uid):
        use_case = visible_use_case(request, origin, uid)
        fields = selectors.visible_fields(user=request.user)
        writer = csv.writer(_Echo())
        row = csv_row(use_case, fields=fields, url=page_url(request, use_case))
        body = writer.writerow(CSV_COLUMNS) + writer.writerow(row)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        return _attachment(response, use_case, "csv")


class AtrsExportView(api.ExportView):
    file_name = "use-cases.uk-atrs"

    def stream(self, request, rows, *, fields: tuple[str, ...]) -> tuple[Iterator[str], str]:
        def url_of(use_case: UseCase) -> str:
            return page_url(request, use_case)

        if self.export_format == "csv":
            return csv_lines(rows, fields=fields, url_of=url_of), "text/csv; charset=utf-8"
        return json_chunks(rows, fields=fields, url_of=url_of), "application/json"


class AtrsCSVExportView(AtrsExportView):
    renderer_classes = [api.CSVRenderer]
    export_format = "csv"

    @extend_schema(
        operation_id="use_cases_export_uk_atrs_csv",
        summary="Export as UK ATRS records (CSV)",
        description=A_SET + " One row per use case under the ATRS v3.0 attributes.",
        parameters=api.EXPORT_PARAMETERS,
        responses={(200, "text/csv"): CSV_RESPONSE, **api.PROBLEMS},
    )
    def get(self, request):
        return super().get(request)


class AtrsJSONExportView(AtrsExportView):
    export_format = "json"

    @extend_schema(
        operation_id="use_cases_export_uk_atrs_json",
        summary="Export as UK ATRS records (JSON)",
        description=A_SET + " One JSON array of records shaped as the single record's.",
        parameters=api.EXPORT_PARAMETERS,
        responses={200: {"type": "array", "items": {"type": "object"}}, **api.PROBLEMS},
    )
    def get(self, request):
        return super().get(request)
