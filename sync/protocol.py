"""The executable form of PROTOCOL.md v1: versions, limits, envelopes, hashes and cursors."""

import base64
import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.dateparse import parse_datetime

from registry.canonical import HASH_PREFIX, canonical_json, record_hash
from registry.feed import START, Position
from registry.validation import AGENCY_CODE_RE
from registry.vocabularies import SCHEMA_VERSION

__all__ = ["AGENCY_CODE_RE", "canonical_json", "record_hash"]

PROTOCOL_VERSION = "1"
SUPPORTED_PROTOCOLS = [PROTOCOL_VERSION]
MAX_BATCH = 1000
MAX_BODY_BYTES = 8 * 1024 * 1024
# Versions are stored in a 32-bit column; a larger one is refused rather than failing the insert.
MAX_VERSION = 2**31 - 1
# `modified` must survive storage on every supported database in any time zone (PostgreSQL
# cannot read back a year past 9999, SQLite's naive storage overflows near years 1 and 9999):
# only times from 1900 up to (not including) 2200, in UTC, are taken.
MODIFIED_MIN = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
MODIFIED_MAX = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
# ISO 8601 (seconds optional): a date, a time and a time zone (none given reads as UTC, as the
# protocol's times are), nothing else.
MODIFIED_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?", re.ASCII
)
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
PROBLEM_CONTENT_TYPE = "application/problem+json"
# RFC 9457 problem types a follower acts on (docs/protocol.md: GET changes); every other problem
# is "about:blank". Only these two make it read the feed again from the top: any other refusal
# (a proxy's 404 or 405 during a deploy) is a failure to back off from.
CURSOR_PAST_END_PROBLEM = "urn:emrn-federation:problem:cursor-past-end"
CURSOR_INVALID_PROBLEM = "urn:emrn-federation:problem:cursor-invalid"

HASH_RE = re.compile(r"sha256:[0-9a-f]{64}")
# A NUL character as canonical JSON writes it (an escape not itself escaped).
NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
TOMBSTONE_HASH = record_hash(None)

APPLIED, UNCHANGED, STALE, REJECTED = "applied", "unchanged", "stale", "rejected"
STATUSES = (APPLIED, UNCHANGED, STALE, REJECTED)


class InvalidCursor(ValueError):
    """A cursor that does not parse or was not signed for this node's current feed."""

    problem_type = CURSOR_INVALID_PROBLEM


class CursorPastEnd(InvalidCursor):
    """A valid cursor beyond the newest entry: this node went back in time under its feed id."""

    problem_type = CURSOR_PAST_END_PROBLEM


@dataclass(frozen=True, slots=True)
class Envelope:
    origin: str
    uid: uuid.UUID
    version: int
    modified: dt.datetime
    deleted: bool
    hash: str  # as sent
    record: dict | None
    record_json: str  # the record's canonical JSON ("null" for a tombstone): stored as it is
    content_hash: str  # the hash of record_json, to compare with `hash`


class EnvelopeInvalid(ValueError):
    """`origin` and `uid` are echoed in the result only when valid: anything else a client sent
    could be megabytes long or not even encodable (a lone surrogate)."""

    def __init__(self, errors: dict[str, list[str]], origin: Any = None, uid: Any = None):
        super().__init__(str(errors))
        self.errors = errors
        self.origin = origin if "origin" not in errors else None
        self.uid = str(uid) if uid is not None else None


def parse_envelope(data: Any) -> Envelope:
    """A wire envelope, strictly typed, or EnvelopeInvalid naming each bad field. Whatever passes
    can be stored on every supported database and sent on as UTF-8."""
    if not isinstance(data, dict):
        raise EnvelopeInvalid({"envelope": ["Must be an object."]})
    errors: dict[str, list[str]] = {}
    origin = data.get("origin")
    if not isinstance(origin, str) or not AGENCY_CODE_RE.fullmatch(origin):
        errors["origin"] = ["Must be an agency code: upper-case letters, digits, '-', 2-32."]
    uid = _parse_uuid(data.get("uid"), errors)
    version = data.get("version")
    if type(version) is not int or not 1 <= version <= MAX_VERSION:
        errors["version"] = [f"Must be an integer from 1 to {MAX_VERSION}."]
    modified = _parse_modified(data.get("modified"), errors)
    deleted = data.get("deleted", False)
    if not isinstance(deleted, bool):
        errors["deleted"] = ["Must be true or false."]
        deleted = False
    record, digest = data.get("record"), data.get("hash")
    if deleted:
        digest, record_json = _parse_tombstone(record, digest, errors)
    else:
        record_json = _parse_record(record, digest, errors)
    if errors:
        raise EnvelopeInvalid(errors, origin, uid)
    content_hash = HASH_PREFIX + hashlib.sha256(record_json.encode("utf-8")).hexdigest()
    return Envelope(
        origin, uid, version, modified, deleted, digest, record, record_json, content_hash
    )


def _parse_uuid(raw: Any, errors: dict) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if isinstance(raw, str) else _bad(errors, "uid")
    except ValueError:
        return _bad(errors, "uid")


def _bad(errors: dict, name: str) -> None:
    errors[name] = ["Must be a UUID string."]


def _parse_modified(raw: Any, errors: dict) -> dt.datetime | None:
    """A date and time in the storable range, as UTC (a time without a zone is UTC already)."""
    try:
        value = parse_datetime(raw) if isinstance(raw, str) and MODIFIED_RE.fullmatch(raw) else None
        if value is not None:
            value = value.replace(tzinfo=value.tzinfo or dt.UTC).astimezone(dt.UTC)
    except (ValueError, OverflowError):  # no such date, or out of range once in UTC
        value = None
    if value is None or not MODIFIED_MIN <= value < MODIFIED_MAX:
        errors["modified"] = [
            "Must be an ISO 8601 date and time (time zone Z or +hh:mm; none reads as UTC), "
            f"from {MODIFIED_MIN.year} up to {MODIFIED_MAX.year} (UTC)."
        ]
        return None
    return value


def _parse_tombstone(record: Any, digest: Any, errors: dict) -> tuple[str, str]:
    if record is not None:
        errors["record"] = ["Must be null when deleted is true."]
    if digest not in (None, "", TOMBSTONE_HASH):
        errors["hash"] = ["A tombstone's hash is null or the hash of null."]
    return TOMBSTONE_HASH, "null"


def _parse_record(record: Any, digest: Any, errors: dict) -> str:
    """The record's canonical JSON, checked for what no database or UTF-8 text can hold."""
    if not isinstance(digest, str) or not HASH_RE.fullmatch(digest):
        errors["hash"] = ["Must be 'sha256:' and 64 lower-case hex digits."]
    if not isinstance(record, dict):
        errors["record"] = ["Must be an object (or null with deleted true)."]
        return ""
    try:
        text = canonical_json(record).decode("utf-8")
    except RecursionError:
        errors["record"] = ["Nested too deeply."]
    except UnicodeEncodeError:
        errors["record"] = ["Text must be valid Unicode (no lone surrogates such as \\ud800)."]
    except ValueError:
        errors["record"] = ["Numbers must be finite (no NaN or Infinity)."]
    else:
        # The plain substring test first: the regex scans every position of every record.
        if "\\u0000" not in text or not NUL_ESCAPE.search(text):
            return text
        # Neither PostgreSQL text nor jsonb can hold a NUL character.
        errors["record"] = ["Text must not contain NUL characters (\\u0000)."]
    return ""


class AnswerInvalid(ValueError):
    """A 200 answer from a peer that is not what PROTOCOL.md says it answers: nothing of it is
    used, and the sync backs off as from any failed request."""


def check_changes_page(page: Any, *, limit: int, since: str | None) -> dict:
    """A `GET changes` answer (PROTOCOL.md: Endpoints): `changes` a list of at most `limit`,
    `next` a non-empty cursor, `more` true or false; with `more` true, `next` must move on from
    `since` (a peer that hands the same cursor back would be asked for the same page forever).
    The envelopes themselves are checked one by one when applied (parse_envelope)."""
    if not isinstance(page, dict):
        raise AnswerInvalid("the answer is not a JSON object")
    changes, next_cursor, more = page.get("changes"), page.get("next"), page.get("more")
    if not isinstance(changes, list):
        raise AnswerInvalid("the page lacks its 'changes' list")
    if not isinstance(next_cursor, str) or not next_cursor:
        raise AnswerInvalid("the page lacks its 'next' cursor")
    if not isinstance(more, bool):
        raise AnswerInvalid("the page lacks 'more' (true or false)")
    if len(changes) > limit:
        raise AnswerInvalid(f"the page holds {len(changes)} changes, more than the {limit} asked")
    if more and next_cursor == since:
        raise AnswerInvalid("the page hands back the cursor it was asked for with 'more': true")
    return page


def check_push_results(answer: Any, *, count: int) -> list[dict]:
    """The results of a `POST changes` of `count` envelopes: one object with a known `status`
    per envelope, in order (PROTOCOL.md: Endpoints). Taken as {"results": [...]}, as this node
    answers, or as a bare list (the protocol names the results, not their wrapper)."""
    results = answer if isinstance(answer, list) else answer.get("results")
    if not isinstance(results, list) or len(results) != count:
        got = len(results) if isinstance(results, list) else "no"
        raise AnswerInvalid(f"{got} results for {count} envelopes (one per envelope expected)")
    for number, item in enumerate(results, 1):
        if not isinstance(item, dict) or item.get("status") not in STATUSES:
            raise AnswerInvalid(f"result {number} has no status of {', '.join(STATUSES)}")
    return results


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def envelope_json(
    *,
    origin: str,
    uid: uuid.UUID,
    version: int,
    modified: dt.datetime,
    deleted: bool,
    hash: str,
    record_json: str | None,
    seq: int | None = None,
) -> str:
    """One wire envelope as JSON text, around a record already rendered as JSON."""
    tail = "" if seq is None else f',"seq":{int(seq)}'
    digest = TOMBSTONE_HASH if deleted else hash
    return (
        f'{{"origin":{json.dumps(origin)},"uid":"{uid}","version":{int(version)},'
        f'"modified":"{format_time(modified)}","deleted":{"true" if deleted else "false"},'
        f'"hash":{json.dumps(digest)},"record":{"null" if deleted else record_json}{tail}}}'
    )


def batch_json(envelopes: list[str]) -> str:
    return '{"changes":[' + ",".join(envelopes) + "]}"


def changes_page_json(envelopes: list[str], next_cursor: str, more: bool) -> str:
    return (
        '{"changes":[' + ",".join(envelopes) + f'],"next":{json.dumps(next_cursor)},'
        f'"more":{"true" if more else "false"}}}'
    )


def result(
    origin: Any,
    uid: Any,
    status: str,
    errors: dict | None = None,
    stored_version: int | None = None,
) -> dict:
    """One push result (PROTOCOL.md `POST changes`). `stored_version`, an addition to protocol 1,
    is the version this node holds when it answers `stale` or a conflict, so the origin knows
    which version it has to pass (docs/protocol.md)."""
    answer = {"origin": origin, "uid": uid, "status": status}
    if errors:
        answer["errors"] = errors
    if stored_version is not None:
        answer["stored_version"] = stored_version
    return answer


# Cursors: opaque to clients, a signed feed position. The signature binds the feed id, so a
# cursor from before a feed reset (or from another node) is refused like a forged one.


def _signature(feed_id: str, position: Position) -> str:
    mac = salted_hmac(
        "sync.protocol.cursor", f"{feed_id}:{position.txid}:{position.seq}", algorithm="sha256"
    )
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode("ascii")


def encode_cursor(position: Position, feed_id: str) -> str:
    return f"{position.txid}.{position.seq}.{_signature(str(feed_id), position)}"


def decode_cursor(cursor: str | None, feed_id: str) -> Position:
    if cursor is None or cursor == "":
        return START
    parts = cursor.split(".")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts[:2]):
        raise InvalidCursor("The cursor is malformed.")
    position = Position(int(parts[0]), int(parts[1]))
    if not constant_time_compare(parts[2], _signature(str(feed_id), position)):
        raise InvalidCursor("The cursor was not issued by this node's current feed.")
    return position


def node_description(feed_id: str) -> dict:
    return {
        "agency": settings.NODE_AGENCY,
        "role": settings.NODE_ROLE,
        "protocol": SUPPORTED_PROTOCOLS,
        "schema_version": SCHEMA_VERSION,
        "feed_id": str(feed_id),
    }
