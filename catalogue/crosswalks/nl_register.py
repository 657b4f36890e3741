"""Crosswalk to the Dutch algorithm register (Algoritmeregister), publication standard 1.0.

One use case becomes one registration in the field names, lengths and permitted values of the
register's own field config (`register-config-v1_0.json`, MinBZK/Algoritmeregister
backend/app/schemas/config/v1_0.json), the form the register's code and API read.
docs/crosswalk-nl-register.md says field by field where each value comes from, what cannot be
mapped, and which fields come back unchanged through our own `nl-register` importer.

Nothing is cut silently: a text longer than the standard allows is cut at a word and ends with
" …", and the export's `notes` name the record, the field and both lengths. The same notes say
when a record is not in Dutch, has no category of its own in the register, or lacks a value the
register requires.

Typical use (catalogue.api's views):
    document = export_document([use_case], fields=visible_fields, url_of=api_url_of)
    chunks = export_chunks(rows, fields=visible_fields, url_of=api_url_of)   # streamed JSON
"""

import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.urls import reverse

from registry import vocabularies as v
from registry.models import UseCase

STANDARD = "Algoritmeregister publicatiestandaard"
STANDARD_VERSION = "1.0"
FIELD_CONFIG = "MinBZK/Algoritmeregister backend/app/schemas/config/v1_0.json"
MAPPING_DOC = "docs/crosswalk-nl-register.md"
LANGUAGE = "nld"
CUT_MARK = " …"
EXPORT_CHUNK_ROWS = 500

# The config's max_length per field. The standard's text says "fewer than N characters" (Tekst
# (<100 tekens)) and its JSON Schema's maxLength is N - 1, so we write at most N - 1: valid for all
# three. Months (YYYY-MM) are exactly 7.
MAX_LENGTH = {
    "name": 100,
    "description_short": 400,
    "organization": 100,
    "begin_date": 7,
    "end_date": 7,
    "contact_email": 500,
    "website": 500,
    "url": 500,
    "goal": 2500,
    "proportionality": 2500,
    "human_intervention": 2500,
    "risks": 2500,
    "lawful_basis": 2500,
    "process_index_url": 500,
    "impacttoetsen": 2500,
    "source_data": 2500,
    "methods_and_models": 5000,
    "provider": 200,
    "publiccode": 500,
    "source_id": 100,
    "tags": 2500,
}
MONTH_FIELDS = {"begin_date", "end_date"}  # YYYY-MM: exactly the 7 characters allowed
# The register reads these as HTML (allowed_html_tags); our texts are plain, so < > & are escaped.
HTML_FIELDS = {
    "goal",
    "proportionality",
    "human_intervention",
    "risks",
    "lawful_basis",
    "impacttoetsen",
    "source_data",
    "methods_and_models",
    "tags",
}
# Addresses are left out rather than cut: half a URL leads nowhere.
ADDRESS_FIELDS = {"contact_email", "website", "url", "process_index_url", "publiccode"}
REQUIRED = ("name", "description_short", "organization", "status", "contact_email")

STATUS = {
    v.Stage.IDEA: "In ontwikkeling",
    v.Stage.PLANNED: "In ontwikkeling",
    v.Stage.DEVELOPMENT: "In ontwikkeling",
    v.Stage.PILOT: "In ontwikkeling",
    v.Stage.PRODUCTION: "In gebruik",
    v.Stage.SUSPENDED: "Buiten gebruik",
    v.Stage.RETIRED: "Buiten gebruik",
}
HIGH_RISK = "Hoog-risico AI-systeem"
IMPACTFUL = "Impactvolle algoritmes"
OTHER = "Overige algoritmes"
CORPORATE_THEME = "Organisatie en bedrijfsvoering"
HEALTH_THEME = "Zorg en gezondheid"
# Our importer reads "Nee" as no human intervention, "human on the loop" as such, any other text
# as a human in the loop: these sentences come back as the value they were written from.
HUMAN_INTERVENTION = {
    v.HumanOversight.IN_THE_LOOP: "Ja: een medewerker beoordeelt elke uitkomst van het "
    "algoritme voordat die wordt gebruikt (human in the loop).",
    v.HumanOversight.ON_THE_LOOP: "Ja: medewerkers houden toezicht op de werking en grijpen in "
    "waar nodig, maar beoordelen niet elke uitkomst afzonderlijk (human on the loop).",
    v.HumanOversight.OUT_OF_THE_LOOP: "Nee",
}
PERSONAL_DATA = {
    v.PersonalData.NONE: "Het algoritme verwerkt geen persoonsgegevens.",
    v.PersonalData.PSEUDONYMISED: "Het algoritme verwerkt gepseudonimiseerde persoonsgegevens.",
    v.PersonalData.PERSONAL: "Het algoritme verwerkt persoonsgegevens.",
    v.PersonalData.SPECIAL_CATEGORY: "Het algoritme verwerkt bijzondere persoonsgegevens.",
}
DPIA = {
    v.DpiaStatus.NOT_REQUIRED: "Een DPIA is niet vereist.",
    v.DpiaStatus.PLANNED: "Een DPIA is gepland.",
    v.DpiaStatus.IN_PROGRESS: "Een DPIA wordt uitgevoerd.",
    v.DpiaStatus.DONE: "Een DPIA is uitgevoerd.",
}
DPIA_TITLE = "Data Protection Impact Assessment (DPIA)"
TECHNIQUES = {
    v.Technique.GENERATIVE_LLM: "generatieve AI / taalmodel",
    v.Technique.NLP: "natuurlijke taalverwerking",
    v.Technique.MACHINE_LEARNING: "machine learning",
    v.Technique.COMPUTER_VISION: "beeldherkenning",
    v.Technique.SPEECH: "spraakherkenning",
    v.Technique.OPTIMISATION: "optimalisatie",
    v.Technique.RULE_BASED: "regelgebaseerd",
    v.Technique.AGENTIC: "AI-agenten",
    v.Technique.OTHER: "overig",
}
OUTPUTS = {
    v.Output.PREDICTION: "voorspelling",
    v.Output.CLASSIFICATION: "classificatie",
    v.Output.RECOMMENDATION: "aanbeveling",
    v.Output.GENERATED_CONTENT: "gegenereerde inhoud",
    v.Output.EXTRACTION: "extractie",
    v.Output.DECISION: "besluit",
    v.Output.OTHER: "overig",
}
AI_ACT_RISK = {
    v.AiActRisk.PROHIBITED: "verboden",
    v.AiActRisk.HIGH: "hoog risico",
    v.AiActRisk.LIMITED: "beperkt risico",
    v.AiActRisk.MINIMAL: "minimaal risico",
    v.AiActRisk.NOT_ASSESSED: "niet beoordeeld",
}
# The register's own number, when the record was imported from it (not our importer's hash keys).
LARS_KEY = re.compile(r"nl-register:(?!h[0-9a-f]{16}$)([^#]+)")


@dataclass(frozen=True)
class Note:
    """Something the registration could not say as the record does."""

    source_id: str
    field: str
    message: str


def registration(
    use_case: UseCase, *, fields: Iterable[str], url: str = ""
) -> tuple[dict[str, Any], list[Note]]:
    """The registration of one use case with what it could not carry as is. Only `fields` (the
    reader's visible RECORD.md fields) are read; `url` is the record's address in our API."""
    record = _Visible(use_case, fields)
    source_id = f"{use_case.origin_id}/{use_case.uid}"
    notes: list[Note] = []
    values = {
        "name": record.get("title"),
        "description_short": record.get("summary"),
        "organization": use_case.organisation,  # a reference register's: the body it names
        "category": _themes(record.get("regulatory_processes") or []),
        "status": STATUS.get(record.get("stage"), ""),
        "begin_date": _month(record.get("operational_since")),
        "end_date": _month(record.get("retired_on")),
        "contact_email": record.get("contact_email"),
        "website": "",
        "publication_category": _publication_category(record),
        "url": url,
        "goal": record.get("purpose"),
        "proportionality": _proportionality(record),
        "human_intervention": HUMAN_INTERVENTION.get(record.get("human_oversight"), ""),
        "risks": record.get("risks_and_mitigations"),
        "lawful_basis": record.get("legal_basis"),
        "lawful_basis_grouping": [],
        "process_index_url": "",
        "impacttoetsen_grouping": (
            [{"title": DPIA_TITLE}] if record.get("dpia_status") == v.DpiaStatus.DONE else []
        ),
        "impacttoetsen": _impact_assessments(record),
        "source_data": "; ".join(record.get("data_sources") or []),
        "source_data_grouping": [],
        "methods_and_models": _methods_and_models(record),
        "provider": record.get("vendor"),
        "publiccode": record.get("code_url"),
        "lang": LANGUAGE,
        "standard_version": STANDARD_VERSION,
        "source_id": source_id,
        "tags": ", ".join(record.get("tags") or []),
        "lars": _lars(use_case),
    }
    for name, limit in MAX_LENGTH.items():
        text = values[name] or ""
        if name in HTML_FIELDS:
            text = html.escape(text, quote=False)
        if name not in MONTH_FIELDS:
            values[name] = _fit(name, text, limit, notes.append, source_id)
    notes += _caveats(values, record, source_id)
    return values, notes


class _Visible:
    """The use case's RECORD.md fields that the reader may see; others read as empty."""

    def __init__(self, use_case: UseCase, fields: Iterable[str]):
        self.use_case, self.fields = use_case, frozenset(fields)

    def get(self, name: str) -> Any:
        return getattr(self.use_case, name) if name in self.fields else None


def _themes(processes: list[str]) -> list[str]:
    themes = []
    if v.RegulatoryProcess.CORPORATE_SERVICES in processes:
        themes.append(CORPORATE_THEME)
    if not themes or set(processes) - {v.RegulatoryProcess.CORPORATE_SERVICES}:
        themes.append(HEALTH_THEME)
    return themes


def _month(day) -> str:
    return day.strftime("%Y-%m") if day else ""


def _publication_category(record: _Visible) -> str:
    if record.get("ai_act_risk") in {v.AiActRisk.HIGH, v.AiActRisk.PROHIBITED}:
        return HIGH_RISK
    return IMPACTFUL if record.get("affects_individuals") else OTHER


def _paragraphs(*parts: tuple[str, str]) -> str:
    return "\n\n".join(f"{label}: {text}" if label else text for label, text in parts if text)


def _proportionality(record: _Visible) -> str:
    risk = AI_ACT_RISK.get(record.get("ai_act_risk"), "")
    ai_act = " ".join(
        part
        for part in (
            f"risicoklasse {risk}." if risk else "",
            record.get("ai_act_justification") or "",
            f"EU-databank: {record.get('eu_database_ref')}"
            if record.get("eu_database_ref")
            else "",
        )
        if part
    )
    return _paragraphs(("Voordelen", record.get("benefits") or ""), ("AI-verordening", ai_act))


def _impact_assessments(record: _Visible) -> str:
    return " ".join(
        text
        for text in (
            PERSONAL_DATA.get(record.get("personal_data"), ""),
            DPIA.get(record.get("dpia_status"), ""),
        )
        if text
    )


def _methods_and_models(record: _Visible) -> str:
    return _paragraphs(
        ("", record.get("description") or ""),
        ("Technieken", ", ".join(TECHNIQUES[t] for t in record.get("techniques") or [])),
        ("Uitkomsten", ", ".join(OUTPUTS[o] for o in record.get("outputs") or [])),
        ("Product", record.get("product") or ""),
        ("AI-model voor algemene doeleinden", record.get("gpai_model") or ""),
    )


def _lars(use_case: UseCase) -> str:
    match = LARS_KEY.fullmatch(use_case.source_key or "")
    return match.group(1) if match else ""


def _fit(name: str, text: str, limit: int, note, source_id: str) -> str:
    """text when it has fewer than `limit` characters; else cut at a word and marked (an address:
    left out), with a note either way."""
    if len(text) < limit:
        return text
    if name in ADDRESS_FIELDS:
        note(
            Note(
                source_id,
                name,
                f"left out: {len(text)} characters, the register takes fewer than {limit}",
            )
        )
        return ""
    room = limit - 1 - len(CUT_MARK)
    head = re.sub(r"&[a-z]*$", "", text[:room])  # never half an escaped character
    if " " in head[room // 2 :] and not text[room].isspace():
        head = head.rsplit(" ", 1)[0]
    cut = head.rstrip() + CUT_MARK
    note(
        Note(
            source_id,
            name,
            f"cut from {len(text)} to {len(cut)} characters (marked "
            f"'{CUT_MARK.strip()}'): the register takes fewer than {limit}",
        )
    )
    return cut


def _caveats(values: dict, record: _Visible, source_id: str) -> list[Note]:
    notes = [
        Note(source_id, name, "required by the register, empty in this record")
        for name in REQUIRED
        if not values[name]
    ]
    language = record.get("language")
    if language and language != "nl":
        notes.append(
            Note(
                source_id,
                "lang",
                f"the register takes Dutch text (nld); this record's text is "
                f"in '{language}' and is exported untranslated",
            )
        )
    if record.get("ai_act_risk") == v.AiActRisk.PROHIBITED:
        notes.append(
            Note(
                source_id,
                "publication_category",
                "a prohibited practice has no category in "
                f"the register: exported as '{HIGH_RISK}', the strictest it has",
            )
        )
    return notes


# ---- documents --------------------------------------------------------------------------------


def _head() -> str:
    head = {"standard": STANDARD, "standard_version": STANDARD_VERSION}
    head |= {"field_config": FIELD_CONFIG, "mapping": MAPPING_DOC}
    return json.dumps(head, ensure_ascii=False)[:-1]


def export_chunks(
    rows, *, fields: Iterable[str], url_of: Callable[[UseCase], str]
) -> Iterator[str]:
    """One JSON document, streamed: the standard, `registrations` (a JSON array our
    `nl-register` importer reads as it is) and the `notes` of every registration."""
    fields = tuple(fields)
    notes: list[Note] = []
    yield _head() + ', "registrations": ['
    separator, chunk = "", []
    use_cases = rows.iterator(chunk_size=EXPORT_CHUNK_ROWS) if hasattr(rows, "iterator") else rows
    for use_case in use_cases:
        values, found = registration(use_case, fields=fields, url=url_of(use_case))
        notes += found
        chunk.append(separator + json.dumps(values, ensure_ascii=False))
        separator = ","
        if len(chunk) >= EXPORT_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk) + '], "notes": '
    yield json.dumps([asdict(n) for n in notes], ensure_ascii=False) + "}"


def export_document(
    use_cases: Iterable[UseCase], *, fields: Iterable[str], url_of: Callable[[UseCase], str]
) -> dict[str, Any]:
    """The same document as export_chunks, whole (for one record)."""
    return json.loads("".join(export_chunks(list(use_cases), fields=fields, url_of=url_of)))


def api_url_of(request) -> Callable[[UseCase], str]:
    """A use case's absolute address in the catalogue API, for a registration's `url`."""

    def url_of(use_case: UseCase) -> str:
        path = reverse("api:use-case-detail", args=[use_case.origin_id, use_case.uid])
        return request.build_absolute_uri(path)

    return url_of
