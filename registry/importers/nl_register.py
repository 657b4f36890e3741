"""The Dutch national Algorithm Register (publication standard 0.1.0 / 0.3.1), a JSON array of
registrations, text mostly in Dutch. Mapping and defaults: docs/import-mapping.md."""

import datetime as dt
import json
import re
from pathlib import Path

from registry.importers import keywords
from registry.importers.base import (
    MapOptions,
    Mapped,
    SourceInvalid,
    SourceRow,
    check_file,
    number_duplicates,
    short_hash,
)
from registry.importers.text import (
    clean,
    contact,
    http_url,
    meaningful,
    one_line,
    paragraphs,
    parse_date,
    shorten,
)

FORMAT = "nl-register"
REQUIRED_KEYS = ("name", "organization", "description_short", "lars", "status", "contact_email")
SOURCE_NAME = "Dutch national Algorithm Register (MinBZK, pub_data 2023-05)"
LANGUAGES = {"nederlands": "nl", "nld": "nl", "nl": "nl", "engels": "en", "english": "en"}
UNTRANSLATED = " (Dutch title, not yet translated)"
# Status is free text; the first rule that matches wins.
STAGE_RULES = [
    (r"pilot|kinderziekte|testen", "pilot"),
    (r"ontwikkel", "development"),
    (r"gestopt|buiten gebruik|beëindigd", "retired"),
    (r"in gebruik|actief|in werking|in productie", "production"),
]
PERSONAL = re.compile(r"persoonsgegeven|\bbsn\b|burgerservicenummer|kenteken|naam|adres", re.I)
SPECIAL = re.compile(
    r"biometri|vingerafdruk|gezichtsscan|gezichtsherkenning|medisch|gezondheid", re.I
)
NO_PERSONAL = re.compile(r"geen (sprake van )?persoonsgegeven", re.I)
DPIA_DONE = re.compile(r"^ja\b|dpia (is )?uitgevoerd|dpia uitgevoerd", re.I)
DPIA_NONE = re.compile(r"^nee\b|niet aanwezig|geen (eigen )?dpia", re.I)


def read_rows(path: Path) -> list[SourceRow]:
    check_file(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SourceInvalid(f"{path.name} is not UTF-8 text ({exc.reason}).") from None
    except json.JSONDecodeError as exc:
        raise SourceInvalid(
            f"This is not a {FORMAT} JSON file: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    if not isinstance(data, list) or not data:
        raise SourceInvalid(f"This is not a {FORMAT} file: expected a non-empty JSON array.")
    for number, item in enumerate(data, 1):
        missing = [key for key in REQUIRED_KEYS if not isinstance(item, dict) or key not in item]
        if missing:
            raise SourceInvalid(
                f"Registration {number} is not a {FORMAT} registration: "
                f"missing {', '.join(missing)}."
            )
    keys = number_duplicates([_key(item) for item in data])
    return [
        SourceRow(n, key, item) for n, (key, item) in enumerate(zip(keys, data, strict=True), 1)
    ]


def _key(item: dict) -> str:
    """The register's own number (`lars`); its `uuid` field is mostly empty or 'volgt'."""
    lars = one_line(item.get("lars"))
    if lars and len(lars) <= 100:
        return f"{FORMAT}:{lars}"
    return f"{FORMAT}:h{short_hash(one_line(item.get('organization')), one_line(item.get('name')))}"


def map_row(row: SourceRow, options: MapOptions) -> Mapped:
    v = {
        name: clean(value) if not isinstance(value, bool) else value
        for name, value in row.values.items()
    }
    notes: list[str] = []
    stage = _stage(v["status"])
    personal, dpia = _privacy(v)
    record = {
        **_what(v),
        **_dates(v, stage, options.today, notes),
        "stage": stage,
        "ai_act_role": "deployer",
        "ai_act_risk": "not_assessed",
        "ai_act_justification": "",
        "uses_gpai": False,
        "gpai_model": "",
        "eu_database_ref": "",
        "affects_individuals": bool(meaningful(v.get("impact"))) or personal != "none",
        "personal_data": personal,
        "dpia_status": dpia,
        "legal_basis": meaningful(v.get("lawful_basis")),
        "data_sources": _data_sources(v),
        "human_oversight": _oversight(v.get("human_intervention")),
        "risks_and_mitigations": meaningful(v.get("risks")),
        "monitoring": paragraphs(
            ("", meaningful(v.get("monitoring"))),
            ("Performance standard", meaningful(v.get("performance_standard"))),
        ),
        "sourcing": "vendor" if meaningful(v.get("provider")) else "in_house",
        "vendor": shorten(meaningful(v.get("provider")), 200),
        "product": "",
        "hosting": None,
        "code_url": http_url(v.get("publiccode")),
        "reusable": False,
        "contact_email": contact(v["contact_email"], options.contact_email, notes),
        "related": [],
    }
    record["description"] = _description(v, notes)
    return Mapped(record=record, notes=notes)


def _what(v: dict) -> dict:
    title = shorten(v["name"], 200)
    language = LANGUAGES.get(clean(v.get("lang")).casefold(), "nl")
    text = " ".join(
        clean(v.get(k)) for k in ("name", "type", "methods_and_models", "tags", "description_short")
    )
    kind = " ".join(
        [clean(v.get("type")), clean(v.get("methods_and_models")), clean(v.get("tags"))]
    )
    return {
        "title": title,
        "title_en": "" if language == "en" else shorten(title + UNTRANSLATED, 200),
        "language": language,
        "summary": shorten(v["description_short"], 350),
        "purpose": meaningful(v.get("goal")) or v["description_short"],
        "benefits": "",
        "outputs": keywords.outputs(clean(v.get("type"))),
        "regulatory_processes": _processes(v, text),
        "medicine_scope": "not_applicable",
        "business_unit": shorten(
            ": ".join(p for p in (v["organization"], meaningful(v.get("department"))) if p), 200
        ),
        "techniques": keywords.techniques(kind) or ["other"],
        "tags": _tags(v),
    }


def _processes(v: dict, text: str) -> list[str]:
    if clean(v.get("category")).casefold() == "bedrijfsvoering":
        return ["corporate_services"]
    return keywords.processes(text)


def _tags(v: dict) -> list[str]:
    parts = [clean(v.get("owner"))]
    for column in ("category", "tags"):
        parts += [one_line(p) for p in clean(v.get(column)).split(",")]
    return [p for p in dict.fromkeys(parts) if p and len(p) <= 50][:20]


def _stage(status: str) -> str | None:
    text = one_line(status)
    if not text:
        return None
    for pattern, stage in STAGE_RULES:
        if re.search(pattern, text, re.IGNORECASE):
            return stage
    return text  # unknown wording: the validator names it and the row is skipped


def _dates(v: dict, stage, today: dt.date, notes: list[str]) -> dict:
    """The register gives no start date; it vouches that a registration is in use (or stopped)
    on the day it was registered (create_dt), so that day is the documented fallback."""
    registered = parse_date(v.get("create_dt"))
    since = re.search(r"sinds (\d{1,2})-(\d{1,2})-(\d{4})", v["status"])
    review = parse_date(v.get("revision_date"))
    dates = {
        "started_on": None,
        "operational_since": None,
        "retired_on": None,
        "workplan_area": "experimentation"
        if stage in {"pilot", "development"}
        else "tools_technology",
        "next_review_on": review.isoformat() if isinstance(review, dt.date) else None,
    }
    if stage == "production":
        if since:
            day, month, year = since.groups()
            dates["operational_since"] = _iso(parse_date(f"{year}-{month}-{day}"))
        else:
            dates["operational_since"] = _iso(registered)
            notes.append(
                f"Operational date not in the source: set to the registration date "
                f"{_iso(registered)}."
            )
    elif stage == "retired":
        dates["retired_on"] = _iso(registered)
        notes.append(
            f"Stop date not in the source: set to the registration date {_iso(registered)}."
        )
    return dates


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def _privacy(v: dict) -> tuple[str, str | None]:
    dpia = " ".join([clean(v.get("dpia")), clean(v.get("dpia_description"))])
    text = " ".join(
        clean(v.get(k)) for k in ("source_data", "description_short", "description", "risks")
    )
    if NO_PERSONAL.search(dpia) or (not DPIA_DONE.search(dpia) and not PERSONAL.search(text)):
        return "none", None
    personal = "special_category" if SPECIAL.search(text) else "personal"
    if DPIA_DONE.search(dpia):
        return personal, "done"
    if DPIA_NONE.search(dpia):
        return personal, "not_required"
    return personal, "planned"


def _oversight(value) -> str | None:
    text = meaningful(value)
    if not text:
        return None
    if re.search(r"human on the loop", text, re.I):
        return "human_on_the_loop"
    if re.fullmatch(r"nee\.?", text, re.I):
        return "human_out_of_the_loop"
    return "human_in_the_loop"


def _data_sources(v: dict) -> list[str]:
    text = one_line(meaningful(v.get("source_data")))
    return [text] if text and len(text) <= 200 else []


def _description(v: dict, notes: list[str]) -> str:
    return paragraphs(
        ("", meaningful(v.get("description")) or v["description_short"]),
        ("Type", meaningful(v.get("type"))),
        ("Methods and models", meaningful(v.get("methods_and_models"))),
        ("Impact", meaningful(v.get("impact"))),
        ("Proportionality", meaningful(v.get("proportionality"))),
        ("Decision-making process", meaningful(v.get("decision_making_process"))),
        ("Source data", meaningful(v.get("source_data"))),
        ("Human intervention", meaningful(v.get("human_intervention"))),
        ("Objection procedure", meaningful(v.get("objection_procedure"))),
        ("Competent authority", meaningful(v.get("competent_authority"))),
        ("Documentation", meaningful(v.get("documentation")) or meaningful(v.get("website"))),
        ("", " ".join(notes)),
        ("Source", f"{SOURCE_NAME}: {v['organization']}, LARS {v['lars']}."),
    )
