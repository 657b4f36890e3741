"""The one validator of a use-case record, used by the admin, the API, the importers and the sync
receiver alike. It takes the wire form of RECORD.md (JSON types: dates as ISO strings) and returns
typed values, or raises RecordInvalid with a list of errors per field name.

Publishing is the gate: a draft needs only what identifies it (title and language, and every
value it does state well-formed); RECORD.md's required fields and cross-field rules are checked
when a record is raised to internal, network or public. `publication_gaps` lists what a record
still lacks for that, with the same messages the refusal would give.
"""

import datetime as dt
import functools
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from registry import vocabularies as v

LONG_TEXT_MAX = 20_000
SHORT_TEXT_MAX = 200
LIST_MAX_ITEMS = 50
TAG_MAX = 50
LANGUAGE_RE = re.compile(r"[a-z]{2}")
AGENCY_CODE_RE = re.compile(r"[A-Z0-9-]{2,32}")
ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# What identifies a draft; everything else RECORD.md requires is checked when it is published.
DRAFT_REQUIRED = frozenset({"title", "language", "publication_level"})
# What a reference register's record must have at any level (registry.reference): what identifies
# it and the organisation that runs it (business_unit). Registers outside the network do not
# state the network's fields (workplan area, AI Act role, a contact mailbox ...): not required.
REFERENCE_REQUIRED = frozenset({"title", "language", "business_unit", "publication_level"})
# Agencies sit in different time zones; "today" elsewhere may be tomorrow here.
FUTURE_DATE_TOLERANCE = dt.timedelta(days=1)


class RecordInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{f}: {' '.join(m)}" for f, m in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Field:
    kind: str  # text, enum, enum_list, str_list, date, bool, url, contact, language, related
    required: bool = False
    max_length: int = LONG_TEXT_MAX
    choices: type[models.TextChoices] | None = None
    network_only: bool = False  # tier N of RECORD.md; everything else is tier P


FIELDS: dict[str, Field] = {
    "title": Field("text", required=True, max_length=SHORT_TEXT_MAX),
    "title_en": Field("text", max_length=SHORT_TEXT_MAX),
    "language": Field("language", required=True),
    "summary": Field("text", required=True, max_length=350),
    "description": Field("text"),
    "purpose": Field("text", required=True),
    "benefits": Field("text"),
    "outputs": Field("enum_list", choices=v.Output),
    "regulatory_processes": Field("enum_list", required=True, choices=v.RegulatoryProcess),
    "medicine_scope": Field("enum", required=True, choices=v.MedicineScope),
    "workplan_area": Field("enum", required=True, choices=v.WorkplanArea),
    "business_unit": Field("text", max_length=SHORT_TEXT_MAX),
    "techniques": Field("enum_list", required=True, choices=v.Technique),
    "tags": Field("str_list", max_length=TAG_MAX),
    "stage": Field("enum", required=True, choices=v.Stage),
    "started_on": Field("date"),
    "operational_since": Field("date"),
    "retired_on": Field("date"),
    "next_review_on": Field("date"),
    "ai_act_role": Field("enum", required=True, choices=v.AiActRole),
    "ai_act_risk": Field("enum", required=True, choices=v.AiActRisk),
    "ai_act_justification": Field("text"),
    "uses_gpai": Field("bool", network_only=True),
    "gpai_model": Field("text", max_length=SHORT_TEXT_MAX, network_only=True),
    "eu_database_ref": Field("url"),
    "affects_individuals": Field("bool", required=True),
    "personal_data": Field("enum", required=True, choices=v.PersonalData),
    "dpia_status": Field("enum", choices=v.DpiaStatus),
    "legal_basis": Field("text"),
    "data_sources": Field("str_list", max_length=SHORT_TEXT_MAX),
    "human_oversight": Field("enum", choices=v.HumanOversight),
    "risks_and_mitigations": Field("text", network_only=True),
    "monitoring": Field("text", network_only=True),
    "sourcing": Field("enum", required=True, choices=v.Sourcing),
    "vendor": Field("text", max_length=SHORT_TEXT_MAX),
    "product": Field("text", max_length=SHORT_TEXT_MAX),
    "hosting": Field("enum", choices=v.Hosting, network_only=True),
    "code_url": Field("url"),
    "reusable": Field("bool"),
    # RECORD.md's functional mailbox; a contact page URL is also taken (real registers use both).
    "contact_email": Field("contact", required=True),
    "related": Field("related"),
    "publication_level": Field("enum", required=True, choices=v.PublicationLevel),
}
NETWORK_ONLY_FIELDS = frozenset(name for name, f in FIELDS.items() if f.network_only)
LIST_KINDS = {"enum_list", "str_list", "related"}


def empty_value(field: Field) -> Any:
    if field.kind in LIST_KINDS:
        return []
    if field.kind == "bool":
        return None if field.required else False
    if field.kind in {"date", "enum"}:
        return None
    return ""


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


_url_validator = URLValidator(schemes=["http", "https"])
_email_validator = EmailValidator()


def _check_text(value: Any, field: Field) -> str:
    if not isinstance(value, str):
        raise ValueError(_("Must be text."))
    controls = control_characters(value)
    if controls:
        # Terminal escapes, bells, NUL: nothing a reader can see, and shown as boxes or worse on
        # every node that receives the record.
        raise ValueError(
            _("Contains a control character (%(codes)s), which cannot be shown: remove it.")
            % {"codes": ", ".join(controls[:5])}
        )
    value = value.strip()
    if len(value) > field.max_length:
        raise ValueError(
            _("Ensure this value has at most %(limit)d characters (it has %(length)d).")
            % {"limit": field.max_length, "length": len(value)}
        )
    return value


# Tab, line feed and carriage return are white space in text; every other control character
# (Unicode category Cc: U+0000-U+001F, U+007F-U+009F) is refused.
TEXT_WHITESPACE = frozenset("\t\n\r")


def control_characters(text: str) -> list[str]:
    """The control characters in text other than tab, line feed and carriage return, as
    'U+XXXX' in order of first appearance."""
    return list(
        dict.fromkeys(
            f"U+{ord(char):04X}"
            for char in text
            if char not in TEXT_WHITESPACE and unicodedata.category(char) == "Cc"
        )
    )


@functools.cache
def _allowed(choices: type[models.TextChoices]) -> frozenset[str]:
    # Django computes `.values` afresh on every access; the sync receiver checks thousands a second.
    return frozenset(choices.values)


def _shown(value: Any, limit: int = 60) -> str:
    """A bad value as an error message quotes it: never the whole of a 10 MB one."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _check_enum(value: Any, field: Field) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in _allowed(field.choices):
        allowed = ", ".join(field.choices.values)
        raise ValueError(
            _("%(value)s is not one of: %(allowed)s.")
            % {"value": _shown(value), "allowed": allowed}
        )
    return value


def _check_enum_list(value: Any, field: Field) -> list[str]:
    items = _check_list(value)
    bad = [
        item for item in items if not isinstance(item, str) or item not in _allowed(field.choices)
    ]
    if bad:
        allowed = ", ".join(field.choices.values)
        raise ValueError(
            _("%(values)s not among: %(allowed)s.")
            % {"values": ", ".join(map(repr, bad)), "allowed": allowed}
        )
    return list(dict.fromkeys(items))


def _check_str_list(value: Any, field: Field) -> list[str]:
    items = _check_list(value)
    if not all(isinstance(item, str) for item in items):
        raise ValueError(_("Every item must be text."))
    controls = [code for item in items for code in control_characters(item)]
    if controls:
        raise ValueError(
            _("An item contains a control character (%(codes)s), which cannot be shown.")
            % {"codes": ", ".join(dict.fromkeys(controls[:5]))}
        )
    items = [item.strip() for item in items if item.strip()]
    too_long = [item[:40] for item in items if len(item) > field.max_length]
    if too_long:
        raise ValueError(
            _("Items must have at most %(limit)d characters: %(items)s.")
            % {"limit": field.max_length, "items": too_long}
        )
    return list(dict.fromkeys(items))


def _check_list(value: Any) -> list:
    if not isinstance(value, list):
        raise ValueError(_("Must be a list."))
    if len(value) > LIST_MAX_ITEMS:
        raise ValueError(_("At most %(limit)d items.") % {"limit": LIST_MAX_ITEMS})
    return value


def _check_date(value: Any, field: Field) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(_("Must be an ISO date (YYYY-MM-DD)."))
    try:
        # fromisoformat also takes 20260101 and 2026-W01-1, which other nodes need not read.
        if not ISO_DATE_RE.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            _("%(value)s is not an ISO date (YYYY-MM-DD).") % {"value": repr(value[:40])}
        ) from None


def _check_bool(value: Any, field: Field) -> bool | None:
    if value is None and field.required:
        return None
    if not isinstance(value, bool):
        raise ValueError(_("Must be true or false."))
    return value


def _check_url(value: Any, field: Field) -> str:
    value = _check_text(value, Field("text", max_length=2000))
    if value:
        try:
            _url_validator(value)
        except ValidationError:
            raise ValueError(
                _("%(value)s is not an http(s) URL.") % {"value": repr(value[:80])}
            ) from None
    return value


def _check_contact(value: Any, field: Field) -> str:
    """A functional mailbox, or the http(s) URL of a contact page or form."""
    value = _check_text(value, Field("text", max_length=2000))
    if not value:
        return value
    if value.lower().startswith(("http://", "https://")):
        return _check_url(value, field)
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]
    try:
        _email_validator(value)
    except ValidationError:
        raise ValueError(
            _("%(value)s is neither an e-mail address nor an http(s) URL of a contact page.")
            % {"value": repr(value[:80])}
        ) from None
    return value


def _check_language(value: Any, field: Field) -> str:
    value = _check_text(value, Field("text", max_length=2))
    if value and not LANGUAGE_RE.fullmatch(value):
        raise ValueError(
            _("%(value)s is not an ISO 639-1 code (two lower-case letters).")
            % {"value": repr(value)}
        )
    return value


def _check_related(value: Any, field: Field) -> list[dict]:
    links = []
    for item in _check_list(value):
        if not isinstance(item, dict) or set(item) != {"origin", "uid", "kind"}:
            raise ValueError(_("Each item must be an object with exactly origin, uid and kind."))
        if not isinstance(item["origin"], str) or not AGENCY_CODE_RE.fullmatch(item["origin"]):
            raise ValueError(
                _("%(value)s is not an agency code.") % {"value": repr(str(item["origin"])[:40])}
            )
        try:
            uid = str(uuid.UUID(str(item["uid"])))
        except ValueError:
            raise ValueError(
                _("%(value)s is not a UUID.") % {"value": repr(str(item["uid"])[:40])}
            ) from None
        if item["kind"] not in v.RelationKind.values:
            raise ValueError(
                _("%(value)s is not one of: %(allowed)s.")
                % {"value": _shown(item["kind"]), "allowed": ", ".join(v.RelationKind.values)}
            )
        links.append({"origin": item["origin"], "uid": uid, "kind": item["kind"]})
    return links


CHECKERS: dict[str, Callable[[Any, Field], Any]] = {
    "text": _check_text,
    "enum": _check_enum,
    "enum_list": _check_enum_list,
    "str_list": _check_str_list,
    "date": _check_date,
    "bool": _check_bool,
    "url": _check_url,
    "contact": _check_contact,
    "language": _check_language,
    "related": _check_related,
}


def validate_record(
    record: Any, *, today: dt.date | None = None, reference: bool = False
) -> dict[str, Any]:
    """Check a wire record against schema version 1; return it with typed values.

    Every stated value must be well-formed at every level. A draft needs only title and language
    (DRAFT_REQUIRED); at internal, network and public every RECORD.md requirement and cross-field
    rule applies, dates in order included. A reference register's record (`reference`, see
    registry.reference) needs only REFERENCE_REQUIRED at any level, with dates in order and not
    in the future, and a prohibited one is never shared. Raises RecordInvalid: {field name:
    [messages]}.
    """
    if not isinstance(record, dict):
        raise RecordInvalid({"record": [_("Must be an object.")]})
    errors: dict[str, list[str]] = {}
    for name in sorted(set(record) - set(FIELDS)):
        errors[name] = [_("Unknown field in schema version 1.")]
    cleaned: dict[str, Any] = {}
    for name, field in FIELDS.items():
        value = record.get(name, empty_value(field))
        try:
            cleaned[name] = CHECKERS[field.kind](value, field)
        except ValueError as exc:
            errors[name] = [str(exc)]
    is_draft = cleaned.get("publication_level") == v.PublicationLevel.DRAFT
    rules = _reference_violations if reference else _rule_violations
    for name, message in rules(cleaned, today or timezone.now().date()):
        if is_draft and not (name in DRAFT_REQUIRED and is_empty(cleaned.get(name))):
            continue
        if name not in errors:
            errors.setdefault(name, []).append(message)
    if errors:
        raise RecordInvalid(errors)
    return cleaned


def _reference_violations(r: dict[str, Any], today: dt.date):
    for name in sorted(REFERENCE_REQUIRED):
        if is_empty(r.get(name)):
            yield name, _("This field is required.")
    for name in ("started_on", "operational_since", "retired_on"):
        if r.get(name) and r[name] > today + FUTURE_DATE_TOLERANCE:
            yield name, _("Must not be in the future.")
    yield from _date_order_violations(r)
    if (
        r.get("ai_act_risk") == v.AiActRisk.PROHIBITED
        and r.get("publication_level") in v.SHARED_LEVELS
    ):
        yield (
            "publication_level",
            _("A prohibited use case can never be published beyond internal."),
        )


def _rule_violations(r: dict[str, Any], today: dt.date):
    for name, field in FIELDS.items():
        if field.required and is_empty(r.get(name)):
            yield name, _("This field is required.")
    if r.get("language") not in (None, "", "en") and not r.get("title_en"):
        yield "title_en", _("An English title is required when the language is not English.")
    if r.get("stage") == v.Stage.PRODUCTION and not r.get("operational_since"):
        yield "operational_since", _("Required when the stage is production.")
    if r.get("stage") == v.Stage.RETIRED and not r.get("retired_on"):
        yield "retired_on", _("Required when the stage is retired.")
    for name in ("started_on", "operational_since", "retired_on"):
        if r.get(name) and r[name] > today + FUTURE_DATE_TOLERANCE:
            yield name, _("Must not be in the future.")
    yield from _date_order_violations(r)
    if r.get("ai_act_risk") == v.AiActRisk.HIGH:
        if not r.get("human_oversight"):
            yield "human_oversight", _("Required when the AI Act risk class is high.")
        if not r.get("ai_act_justification"):
            yield "ai_act_justification", _("Required when the AI Act risk class is high.")
    if (
        r.get("ai_act_risk") == v.AiActRisk.PROHIBITED
        and r.get("publication_level") in v.SHARED_LEVELS
    ):
        yield (
            "publication_level",
            _("A prohibited use case can never be published beyond internal."),
        )
    if r.get("personal_data") not in (None, v.PersonalData.NONE) and not r.get("dpia_status"):
        yield "dpia_status", _("Required when the use case processes personal data.")


# (earlier, later): the later date may not come before the earlier one.
DATE_ORDER = (
    ("started_on", "operational_since"),
    ("operational_since", "retired_on"),
    ("started_on", "retired_on"),
)


def _date_order_violations(r: dict[str, Any]):
    """A lifecycle runs forward: started <= operational since <= retired, and the next review
    comes after the start."""
    labels = {name: name.replace("_", " ") for name in FIELDS}
    for earlier, later in DATE_ORDER:
        if r.get(earlier) and r.get(later) and r[later] < r[earlier]:
            yield (
                later,
                _("Must not be before %(earlier)s (%(date)s).")
                % {"earlier": labels[earlier], "date": date_format(r[earlier])},
            )
    if r.get("started_on") and r.get("next_review_on") and r["next_review_on"] <= r["started_on"]:
        yield (
            "next_review_on",
            _("Must be after started on (%(date)s).") % {"date": date_format(r["started_on"])},
        )


def publication_gaps(
    record: dict[str, Any], *, today: dt.date | None = None, reference: bool = False
) -> dict[str, list[str]]:
    """What a record (wire form, or typed values as the model holds them) still lacks before it
    may be raised above draft: {field name: [messages]}, empty when it may be published. The
    messages are those the refusal would give (RECORD.md's requirements and cross-field rules;
    a reference register's record: validate_record's `reference` rules)."""
    try:
        validate_record(
            {**record, "publication_level": v.PublicationLevel.INTERNAL},
            today=today,
            reference=reference,
        )
    except RecordInvalid as exc:
        return exc.errors
    return {}
