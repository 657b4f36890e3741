"""How the catalogue pages show a record's fields: readable groups, labels from the model's verbose
names, vocabulary labels instead of codes. Which fields a visitor may see is decided by
catalogue.selectors.visible_fields; these tags only format what they are given.
"""

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, linebreaks
from django.utils.text import capfirst
from django.utils.translation import get_language_info, gettext_lazy
from django.utils.translation import gettext as _

from registry import quality
from registry import vocabularies as v
from registry.models import UseCase
from registry.validation import FIELDS

register = template.Library()

# The use-case page's sections, each a list of RECORD.md fields in reading order. Title, summary
# and publication level are shown in the page head and provenance, `related` in its own section.
GROUPS: tuple[tuple[str, object, tuple[str, ...]], ...] = (
    (
        "what",
        gettext_lazy("What"),
        (
            "language",
            "description",
            "purpose",
            "benefits",
            "outputs",
            "techniques",
            "tags",
            "stage",
            "started_on",
            "operational_since",
            "retired_on",
            "next_review_on",
        ),
    ),
    (
        "where",
        gettext_lazy("Where in the regulatory system"),
        ("regulatory_processes", "medicine_scope", "workplan_area", "business_unit"),
    ),
    (
        "ai-act",
        gettext_lazy("AI Act"),
        (
            "ai_act_role",
            "ai_act_risk",
            "ai_act_justification",
            "uses_gpai",
            "gpai_model",
            "eu_database_ref",
        ),
    ),
    (
        "data",
        gettext_lazy("Data and oversight"),
        (
            "affects_individuals",
            "personal_data",
            "dpia_status",
            "legal_basis",
            "data_sources",
            "human_oversight",
            "risks_and_mitigations",
            "monitoring",
        ),
    ),
    (
        "sourcing",
        gettext_lazy("Sourcing"),
        ("sourcing", "vendor", "product", "hosting", "code_url", "reusable"),
    ),
    ("contact", gettext_lazy("Contact"), ("contact_email",)),
)
SHOWN_ELSEWHERE = frozenset({"title", "title_en", "summary", "related", "publication_level"})


@register.simple_tag
def field_groups(use_case: UseCase, visible) -> list[dict]:
    """The record's visible fields as [{id, heading, rows: [{name, label, value}]}]."""
    visible = set(visible)
    groups = []
    for group_id, heading, names in GROUPS:
        rows = [
            {"name": name, "label": field_label(name), "value": field_value(use_case, name)}
            for name in names
            if name in visible
        ]
        if rows:
            groups.append({"id": group_id, "heading": heading, "rows": rows})
    return groups


def field_label(name: str) -> str:
    return capfirst(UseCase._meta.get_field(name).verbose_name)


def field_value(use_case: UseCase, name: str):
    """A field's value as a reader wants it: labels for codes, dates in words, links for URLs."""
    value = getattr(use_case, name)
    kind = FIELDS[name].kind
    if value is None or value == "" or value == []:
        return _("Not stated")
    if kind == "language":
        return _language_name(value)
    if kind == "enum":
        return getattr(use_case, f"get_{name}_display")()
    if kind == "enum_list":
        return ", ".join(str(FIELDS[name].choices(code).label) for code in value)
    if kind == "str_list":
        return ", ".join(value)
    if kind == "bool":
        return _("Yes") if value else _("No")
    if kind == "date":
        return date_format(value, "DATE_FORMAT")
    if kind == "url":
        return format_html('<a href="{}" rel="nofollow noopener">{}</a>', value, value)
    if kind == "email":
        return format_html('<a href="mailto:{}">{}</a>', value, value)
    if kind == "text" and "\n" in value:
        return linebreaks(value, autoescape=True)
    return value


def _language_name(code: str) -> str:
    try:
        return get_language_info(code)["name_translated"]
    except KeyError:
        return code


@register.simple_tag
def node_agency() -> str:
    """This node's agency code, shown in the page header."""
    return settings.NODE_AGENCY


@register.filter
def technique_labels(use_case: UseCase) -> str:
    return field_value(use_case, "techniques")


@register.simple_tag
def use_case_compliance(use_case: UseCase) -> list[dict]:
    """The compliance checks the record fails, as [{code, label}]: the stored flags, and
    review_overdue when its next review date has passed (as of today)."""
    codes = quality.record_flags(use_case, timezone.localdate())
    return [{"code": code, "label": quality.FLAG_LABELS.get(code, code)} for code in codes]


@register.simple_tag
def compliance_labels() -> list[dict]:
    """Every compliance check as {code, label}, in the order the statistics count them."""
    return [{"code": code, "label": label} for code, label in quality.FLAG_LABELS.items()]


@register.filter
def compliance_rows(flags: dict) -> list[dict]:
    """Counts per compliance check ({code: n}) as [{code, label, count}], every check listed."""
    return [
        {"code": code, "label": label, "count": flags.get(code, 0)}
        for code, label in quality.FLAG_LABELS.items()
    ]


@register.filter
def risk_label(code: str) -> str:
    """An AI Act risk class code as its label."""
    return str(v.AiActRisk(code).label) if code in v.AiActRisk.values else code
