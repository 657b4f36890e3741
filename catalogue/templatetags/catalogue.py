"""How the catalogue pages show a record's fields: readable groups, labels from the model's verbose
names, vocabulary labels instead of codes. Which fields a visitor may see is decided by
catalogue.selectors.visible_fields; these tags only format what they are given.
"""

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, linebreaks
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language_info, gettext_lazy
from django.utils.translation import gettext as _

from registry import quality
from registry import vocabularies as v
from registry.models import UseCase
from registry.validation import FIELDS

register = template.Library()

# The use-case page's sections, each a list of RECORD.md fields in reading order: what the system
# is for and does, then oversight and data, then the rest. Title, summary, stage and risk class
# lead the page, publication level is in its provenance, `related` in a section of its own.
GROUPS: tuple[tuple[str, object, tuple[str, ...]], ...] = (
    (
        "purpose",
        gettext_lazy("Purpose and what it does"),
        ("purpose", "description", "benefits", "outputs", "techniques", "tags"),
    ),
    (
        "oversight",
        gettext_lazy("Oversight and data"),
        (
            "human_oversight",
            "affects_individuals",
            "personal_data",
            "dpia_status",
            "legal_basis",
            "data_sources",
            "risks_and_mitigations",
            "monitoring",
        ),
    ),
    (
        "ai-act",
        gettext_lazy("AI Act"),
        ("ai_act_role", "ai_act_justification", "uses_gpai", "gpai_model", "eu_database_ref"),
    ),
    (
        "where",
        gettext_lazy("Where in the regulatory system"),
        ("regulatory_processes", "medicine_scope", "workplan_area", "business_unit"),
    ),
    (
        "dates",
        gettext_lazy("Dates"),
        ("started_on", "operational_since", "retired_on", "next_review_on"),
    ),
    (
        "sourcing",
        gettext_lazy("Sourcing"),
        ("sourcing", "vendor", "product", "hosting", "code_url", "reusable"),
    ),
    ("contact", gettext_lazy("Contact and language"), ("contact_email", "language")),
)
# In the page's head: title, summary, stage and AI Act risk class (KEY_FACTS).
KEY_FACTS = ("stage", "ai_act_risk")
SHOWN_ELSEWHERE = frozenset(
    {"title", "title_en", "summary", "related", "publication_level", *KEY_FACTS}
)


@register.simple_tag
def field_groups(use_case: UseCase, visible) -> dict:
    """The record's visible fields as {"groups": [{id, heading, rows: [{name, label, value}]}],
    "not_stated": [label, ...]}: each group's stated fields in reading order, and the labels of
    the empty ones gathered in one list, so the page has no row of 'Not stated' after another.
    A field stated as false (a boolean) is stated."""
    visible = set(visible)
    groups, not_stated = [], []
    for group_id, heading, names in GROUPS:
        rows = []
        for name in names:
            if name not in visible:
                continue
            if _is_empty(getattr(use_case, name)):
                not_stated.append(field_label(name))
            else:
                rows.append(
                    {"name": name, "label": field_label(name), "value": field_value(use_case, name)}
                )
        if rows:
            groups.append({"id": group_id, "heading": heading, "rows": rows})
    if use_case.language != "en" and not use_case.title_en and "title_en" in visible:
        # Shown beside the title when there is one; missing, it belongs with the other gaps.
        not_stated.insert(0, field_label("title_en"))
    return {"groups": groups, "not_stated": not_stated}


def _is_empty(value) -> bool:
    return value is None or value == "" or value == []


def field_label(name: str) -> str:
    return capfirst(UseCase._meta.get_field(name).verbose_name)


def field_value(use_case: UseCase, name: str):
    """A field's value as a reader wants it: labels for codes, dates in words, links for URLs."""
    value = getattr(use_case, name)
    kind = FIELDS[name].kind
    if _is_empty(value):
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
        # linebreaks escapes the text itself (autoescape) and returns a plain str: marked safe
        # here, or the tag's output would be escaped a second time (&lt;p&gt; on the page).
        return mark_safe(linebreaks(value, autoescape=True))
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
