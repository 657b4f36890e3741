"""The US Federal AI Use Case Inventory, 2025 edition (OMB, one CSV row per use case).

Mapping and defaults: docs/import-mapping.md. Data dictionary: ombegov/2025-Federal-Agency-AI-
Use-Case-Inventory, Validation/data_dictionary.md.
"""

import csv
import datetime as dt
import re
from contextlib import contextmanager
from pathlib import Path

from registry.importers import keywords
from registry.importers.base import (
    MapOptions,
    Mapped,
    SourceInvalid,
    SourceRow,
    check_file,
    content_digest,
    short_hash,
)
from registry.importers.text import (
    PLACEHOLDERS,
    clean,
    contact,
    http_url,
    literal_list,
    meaningful,
    one_line,
    paragraphs,
    parse_date,
    plain_text,
    shorten,
)

FORMAT = "us-omb-2025"
COLUMNS = (
    "agency",
    "agency_name",
    "id",
    "use_case_name",
    "agency_bureau",
    "contact_email",
    "is_withheld",
    "development_stage",
    "is_high_impact",
    "HI_justification",
    "topic_area",
    "classification",
    "problem_solved",
    "benefits",
    "system_outputs",
    "operational_date",
    "contracting_usage",
    "vendor_name",
    "have_ato",
    "system_name_ato",
    "data_description",
    "link_to_data",
    "has_pii",
    "pia_url",
    "demographic_features",
    "has_custom_code",
    "code_url",
    "hi_testing_conducted",
    "hi_assessment_completed",
    "hi_potential_impacts",
    "hi_independent_review",
    "hi_ongoing_monitoring",
    "hi_training_established",
    "hi_failsafe_presence",
    "hi_appeal_process",
    "hi_public_consultation",
)
# Agency submissions to OMB were due on this day: the inventory vouches for each row's stage then.
AS_OF = dt.date(2025, 12, 22)
# A 10 MB cell must reach the record validator (and be refused there, by field), not break the
# CSV reader for the whole file.
FIELD_SIZE_LIMIT = 32 * 1024 * 1024
SOURCE_NAME = "OMB, 2025 Federal Agency AI Use Case Inventory"

STAGES = {
    "pre-deployment": "development",
    "pilot": "pilot",
    "deployed": "production",
    "retired": "retired",
}
TECHNIQUES = {
    "classical ml": ["machine_learning"],
    "reinforcement learning": ["machine_learning"],
    "generative ai": ["generative_llm"],
    "nlp": ["nlp"],
    "computer vision": ["computer_vision"],
    "agentic ai": ["agentic"],
    "other": ["other"],
}
SOURCING = {
    "vendor purchased": ("vendor", "deployer"),
    "in-house development": ("in_house", "provider_and_deployer"),
    "contracting and in house": ("mixed", "provider_and_deployer"),
}
# Demographic features that are special categories under GDPR art. 9.
SPECIAL_FEATURES = re.compile(r"race|ethnic|religio|ability", re.IGNORECASE)
NO_FEATURES = re.compile(r"^(k\) )?none|not applicable|unknown", re.IGNORECASE)


def read_rows(path: Path) -> list[SourceRow]:
    """Every row of the file, or SourceInvalid when the file is not this format in full."""
    check_file(path)
    rows = []
    try:
        with _field_size_limit(FIELD_SIZE_LIMIT), path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, strict=True)
            _check_header(reader.fieldnames or [])
            for number, row in enumerate(reader, 1):
                _check_shape(number, row, len(reader.fieldnames))
                rows.append(row)
    except UnicodeDecodeError as exc:
        raise SourceInvalid(f"{path.name} is not UTF-8 text ({exc.reason}).") from None
    except csv.Error as exc:
        raise SourceInvalid(f"{path.name}, after row {len(rows)}: {exc}.") from None
    if not rows:
        raise SourceInvalid(f"{path.name} has a header but no rows.")
    return [source_row(number, row) for number, row in enumerate(rows, 1)]


@contextmanager
def _field_size_limit(limit: int):
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _check_header(header: list[str]) -> None:
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise SourceInvalid(
            f"This is not a {FORMAT} CSV: {len(missing)} of its {len(COLUMNS)} columns are "
            f"missing ({shown})."
        )


def _check_shape(number: int, row: dict, width: int) -> None:
    if None in row:
        raise SourceInvalid(f"Row {number} has more cells than the header has columns.")
    if any(value is None for value in row.values()):
        filled = sum(value is not None for value in row.values())
        raise SourceInvalid(
            f"Row {number} has {filled} of {width} cells: the file looks truncated or garbled."
        )


def source_row(number: int, row: dict) -> SourceRow:
    """The row with its base key: `us-omb-2025:AGENCY:ID` when the agency gave it an id, else
    `us-omb-2025:AGENCY:h<digest of agency, use-case name and bureau>`. Repeats are resolved by
    content in registry.importers.keys, never by position."""
    agency = clean(row["agency"])
    identity = short_hash(agency, one_line(row["use_case_name"]), one_line(row["agency_bureau"]))
    row_id = _usable_id(row["id"])
    key = f"{FORMAT}:{agency}:{row_id}" if row_id else f"{FORMAT}:{agency}:h{identity}"
    return SourceRow(
        number, key, row, has_id=bool(row_id), identity=identity, content=content_digest(row)
    )


def _usable_id(value: str) -> str:
    text = one_line(value)
    return "" if text.casefold() in PLACEHOLDERS or len(text) > 100 else text


def map_row(row: SourceRow, options: MapOptions) -> Mapped:
    v = {name: plain_text(value) for name, value in row.values.items() if name}
    notes: list[str] = []
    title, previously = split_renamed(v["use_case_name"])
    stage = STAGES.get(v["development_stage"].casefold(), v["development_stage"] or None)
    sourcing, role = _sourcing(v)
    record = {
        **_what(v, title),
        **_dates(stage, v["operational_date"], options.today, notes),
        **_risk(v),
        **_privacy(v),
        "stage": stage,
        "ai_act_role": role,
        "sourcing": sourcing,
        "vendor": shorten(meaningful(v["vendor_name"]), 200),
        "product": "",
        "hosting": None,
        "code_url": http_url(v["code_url"]),
        "reusable": bool(http_url(v["code_url"])),
        "contact_email": contact(v["contact_email"], options.contact_email, notes),
        "data_sources": [url] if (url := http_url(v["link_to_data"])) and len(url) <= 200 else [],
        "eu_database_ref": "",
        "next_review_on": None,
        "related": [],
    }
    record["description"] = _description(v, previously, notes)
    never_public = v["is_withheld"].casefold().startswith("yes")
    return Mapped(record=record, never_public=never_public, notes=notes)


def split_renamed(name: str) -> tuple[str, str]:
    """'Renamed: New\\nPreviously: Old' -> ('New', 'Old')."""
    match = re.match(r"\s*Renamed:\s*(.*?)\s*Previously:\s*(.*)", name, re.DOTALL)
    if not match:
        return one_line(name), ""
    return one_line(match.group(1)), one_line(match.group(2))


def _what(v: dict, title: str) -> dict:
    problem = v["problem_solved"] if meaningful(v["problem_solved"]) else ""
    text = " ".join([title, problem, v["system_outputs"], v["benefits"]])
    classification = v["classification"].casefold()
    techniques = TECHNIQUES.get(classification) or keywords.techniques(text) or ["other"]
    return {
        "title": shorten(title, 200),
        "title_en": "",
        "language": "en",
        "summary": shorten(problem or title, 350),
        "purpose": problem,
        "benefits": meaningful(v["benefits"]),
        "outputs": keywords.outputs(v["system_outputs"]),
        "regulatory_processes": keywords.processes(text, topic=v["topic_area"]),
        "medicine_scope": _medicine_scope(v["agency_bureau"]),
        "workplan_area": "experimentation"
        if v["development_stage"] == "Pilot"
        else "tools_technology",
        "business_unit": shorten(f"{v['agency']}: {v['agency_bureau'] or v['agency_name']}", 200),
        "techniques": techniques,
        "tags": _tags(v),
        "uses_gpai": classification in {"generative ai", "agentic ai"},
        "gpai_model": "",
    }


def _medicine_scope(bureau: str) -> str:
    """Only the FDA's medicine centres regulate medicines; the rest of the US inventory does not."""
    if not re.search(r"\bFDA\b", bureau):
        return "not_applicable"
    if "CVM" in bureau:
        return "veterinary"
    return "not_applicable" if "HFP" in bureau else "human"


def _tags(v: dict) -> list[str]:
    tags = [f"us-{v['agency'].lower()}"]
    if v["topic_area"]:
        tags.append(v["topic_area"][:50])
    if v["is_high_impact"] == "High-impact":
        tags.append("us-high-impact")
    if v["is_withheld"].casefold().startswith("yes"):
        tags.append("withheld-in-source")
    return tags


def _dates(stage, raw: str, today: dt.date, notes: list[str]) -> dict:
    """operational_date is 'fully operational or the pilot's start date' (data dictionary)."""
    dates = {"started_on": None, "operational_since": None, "retired_on": None}
    parsed = parse_date(raw)
    if isinstance(parsed, str):  # no known format: the validator names the field
        dates["started_on" if stage == "pilot" else "operational_since"] = parsed
        return dates
    future = parsed is not None and parsed > today
    if stage == "production":
        dates["operational_since"] = (parsed or AS_OF).isoformat()
        if parsed is None:
            notes.append(f"Operational date not in the source: set to the inventory date {AS_OF}.")
    elif stage == "retired":
        # A date after the inventory's was a plan that retirement overtook: never operational.
        if parsed and parsed <= AS_OF:
            dates["operational_since"] = parsed.isoformat()
        elif parsed:
            notes.append(f"Planned operational date (source): {parsed.isoformat()}.")
        dates["retired_on"] = AS_OF.isoformat()
        notes.append(f"Retirement date not in the source: set to the inventory date {AS_OF}.")
    elif stage == "pilot" and parsed and not future:
        dates["started_on"] = parsed.isoformat()
    elif parsed:
        notes.append(f"Planned operational date (source): {parsed.isoformat()}.")
    return dates


def _risk(v: dict) -> dict:
    """US 'high-impact' (M-25-21) is treated as AI Act high risk until the agency assesses it."""
    justification = meaningful(v["HI_justification"])
    if v["is_high_impact"] != "High-impact":
        return {
            "ai_act_risk": "not_assessed",
            "ai_act_justification": justification,
            "affects_individuals": False,
            "human_oversight": None,
            "risks_and_mitigations": "",
            "monitoring": "",
        }
    stated = (
        "Reported as high-impact AI under OMB M-25-21 in the 2025 US federal inventory; "
        "recorded as high risk until assessed under the AI Act."
    )
    return {
        "ai_act_risk": "high",
        "ai_act_justification": f"{stated} {justification}".strip(),
        "affects_individuals": True,
        # M-25-21 requires human oversight of high-impact AI; the source does not say how close,
        # so we record the weaker claim.
        "human_oversight": "human_on_the_loop",
        "risks_and_mitigations": _high_impact_practices(v),
        "monitoring": paragraphs(
            ("Ongoing monitoring", meaningful(v["hi_ongoing_monitoring"])),
            ("Training", meaningful(v["hi_training_established"])),
        ),
    }


def _high_impact_practices(v: dict) -> str:
    return paragraphs(
        ("Potential impacts", meaningful(v["hi_potential_impacts"])),
        ("Testing conducted", meaningful(v["hi_testing_conducted"])),
        ("Impact assessment completed", meaningful(v["hi_assessment_completed"])),
        ("Independent review", meaningful(v["hi_independent_review"])),
        ("Fail-safe", meaningful(v["hi_failsafe_presence"])),
        ("Appeal process", meaningful(v["hi_appeal_process"])),
        ("Public consultation", "; ".join(literal_list(v["hi_public_consultation"]))),
    )


def _features(v: dict) -> list[str]:
    return [f for f in literal_list(v["demographic_features"]) if not NO_FEATURES.search(f)]


def _privacy(v: dict) -> dict:
    features = _features(v)
    has_pii = v["has_pii"].casefold()
    if has_pii == "no" or (has_pii != "yes" and not features):
        return {"personal_data": "none", "dpia_status": None}
    special = any(SPECIAL_FEATURES.search(f) for f in features)
    pia = v["pia_url"]
    if http_url(pia):
        dpia = "done"
    elif "pending" in pia.casefold() or "to be posted" in pia.casefold():
        dpia = "in_progress"
    else:
        dpia = "planned"
    return {"personal_data": "special_category" if special else "personal", "dpia_status": dpia}


def _sourcing(v: dict) -> tuple[str, str]:
    known = SOURCING.get(v["contracting_usage"].casefold())
    if known:
        return known
    return ("vendor", "deployer") if meaningful(v["vendor_name"]) else ("in_house", "deployer")


def _description(v: dict, previously: str, notes: list[str]) -> str:
    source = f"{SOURCE_NAME}: {v['agency_name']} ({v['agency']})"
    if _usable_id(v["id"]):
        source += f", use case {_usable_id(v['id'])}"
    return paragraphs(
        ("System outputs", meaningful(v["system_outputs"])),
        ("Data", meaningful(v["data_description"])),
        ("Demographic features used", "; ".join(_features(v))),
        ("System (authorisation to operate)", meaningful(v["system_name_ato"])),
        ("Privacy impact assessment", meaningful(v["pia_url"])),
        ("Previously named", previously),
        ("", " ".join(notes)),
        ("Source", source + "."),
    )
