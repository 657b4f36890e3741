"""The Dutch national Algorithm Register, a JSON array of registrations, text mostly in Dutch:
the register's 2023 export (publication standard 0.1.0 / 0.3.1) and the 1.0 form of its field
config that our crosswalk (catalogue/crosswalks/nl_register.py) writes, which adds the months
`begin_date`/`end_date` and makes `category` a list of themes. Mapping and defaults:
docs/import-mapping.md."""

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
    content_digest,
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
    plain_text,
    shorten,
)

FORMAT = "nl-register"
REQUIRED_KEYS = ("name", "organization", "description_short", "lars", "status", "contact_email")
SOURCE_NAME = "Dutch national Algorithm Register (MinBZK, pub_data 2023-05)"
SOURCE_NAME_V = "Dutch national Algorithm Register (publication standard {version})"
# 1.0's theme list (`category`): only this theme says which of our processes a registration
# serves; the others (medicines regulation is "Zorg en gezondheid") go into the description.
CORPORATE_THEME = "Organisatie en bedrijfsvoering"
CORPORATE = "corporate_services"
MONTH = re.compile(r"(\d{4})-(\d{1,2})")  # begin_date/end_date: YYYY-MM
LANGUAGES = {"nederlands": "nl", "nld": "nl", "nl": "nl", "engels": "en", "english": "en"}
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
    return [_source_row(number, item) for number, item in enumerate(data, 1)]


def _source_row(number: int, item: dict) -> SourceRow:
    """The registration with its base key: the register's own number (`lars`; its `uuid` field
    is mostly empty or 'volgt'), else a digest of organisation and name. Repeats are resolved by
    content in registry.importers.keys, never by position."""
    identity = short_hash(one_line(item.get("organization")), one_line(item.get("name")))
    lars = one_line(item.get("lars"))
    has_id = bool(lars) and len(lars) <= 100
    key = f"{FORMAT}:{lars}" if has_id else f"{FORMAT}:h{identity}"
    return SourceRow(
        number, key, item, has_id=has_id, identity=identity, content=content_digest(item)
    )


def map_row(row: SourceRow, options: MapOptions) -> Mapped:
    v = {name: _cell(value) for name, value in row.values.items()}
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


def _cell(value):
    """Text stripped; a flag as is; a list (1.0's `category`) as a list of texts."""
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [plain_text(item) for item in value]
    return plain_text(value)


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
        # The register has no English title: it stays missing (a draft until someone writes
        # one), never a placeholder stored as if it were data.
        "title_en": "",
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


def _themes(v: dict) -> list[str] | None:
    """1.0's `category`, a list of themes; None for 0.x's text (or no) category."""
    category = v.get("category")
    if not isinstance(category, list):
        return None
    return [t for t in dict.fromkeys(one_line(item) for item in category) if t]


def _processes(v: dict, text: str) -> list[str]:
    themes = _themes(v)
    if themes is None:  # 0.x: a text category
        if clean(v.get("category")).casefold() == "bedrijfsvoering":
            return [CORPORATE]
        return keywords.processes(text)
    if not themes:
        return keywords.processes(text)
    # The theme list says whether a registration serves corporate services, the rest is guessed
    # from the text; "other" keeps a second theme when the text names no process.
    guessed = [p for p in keywords.processes(text) if p != CORPORATE] or ["other"]
    if CORPORATE_THEME not in themes:
        return guessed
    return [CORPORATE] + (guessed if set(themes) - {CORPORATE_THEME} else [])


def _tags(v: dict) -> list[str]:
    parts = [clean(v.get("owner"))]
    columns = ("tags",) if _themes(v) is not None else ("category", "tags")
    for column in columns:  # a 0.x text category is a tag; 1.0's themes are not
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
    """1.0's months: `begin_date` (put into use) is operational_since and `end_date` (taken out
    of use) is retired_on, each the first of its month, whatever the status: the inverse of our
    crosswalk, and the validator judges their order. The register gives no start-of-work date
    (started_on stays empty). Without a month it vouches that a registration is in use (or
    stopped) on the day it was registered (0.x create_dt, 1.0 publication_dt), so that day is the
    documented fallback, said in the description; without that either the date stays empty."""
    registered = parse_date(v.get("create_dt")) or _published(v.get("publication_dt"))
    since = re.search(r"sinds (\d{1,2})-(\d{1,2})-(\d{4})", v["status"])
    review = parse_date(v.get("revision_date"))
    began, ended = _month(v.get("begin_date")), _month(v.get("end_date"))
    dates = {
        "started_on": None,
        "operational_since": None,
        "retired_on": None,
        "workplan_area": "experimentation"
        if stage in {"pilot", "development"}
        else "tools_technology",
        "next_review_on": review.isoformat() if isinstance(review, dt.date) else None,
    }
    if began:
        dates["operational_since"] = _iso(began)
    elif stage == "production":
        if since:
            day, month, year = since.groups()
            dates["operational_since"] = _iso(parse_date(f"{year}-{month}-{day}"))
        elif registered:
            dates["operational_since"] = _iso(registered)
            notes.append(
                f"Operational date not in the source: set to the registration date "
                f"{_iso(registered)}."
            )
    if ended:
        dates["retired_on"] = _iso(ended)
    elif stage == "retired" and registered:
        dates["retired_on"] = _iso(registered)
        notes.append(
            f"Stop date not in the source: set to the registration date {_iso(registered)}."
        )
    return dates


def _month(value) -> dt.date | str | None:
    """A YYYY-MM month as its first day; other text as parse_date reads it (text it cannot
    read is returned as is, so the validator names the field and the row is skipped)."""
    text = one_line(value)
    match = MONTH.fullmatch(text)
    if match:
        year, month = map(int, match.groups())
        return dt.date(year, month, 1) if 1 <= month <= 12 else text
    return parse_date(text)


def _published(value) -> dt.date | None:
    """1.0's publication time (set by the register, any ISO form): its day, or None."""
    day = parse_date(one_line(value)[:10])
    return day if isinstance(day, dt.date) else None


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
    version = one_line(v.get("standard_version"))
    source = (
        SOURCE_NAME_V.format(version=version)
        if version and not version.startswith("0.")
        else SOURCE_NAME
    )
    where = ", ".join(p for p in (v["organization"], f"LARS {v['lars']}" if v["lars"] else "") if p)
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
        ("Themes", ", ".join(_themes(v) or [])),
        ("Documentation", meaningful(v.get("documentation")) or meaningful(v.get("website"))),
        ("", " ".join(notes)),
        ("Source", f"{source}: {where}." if where else f"{source}."),
    )
