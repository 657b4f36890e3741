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
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
PROBLEM_CONTENT_TYPE = "application/problem+json"

HASH_RE = re.compile(r"sha256:[0-9a-f]{64}")
TOMBSTONE_HASH = record_hash(None)

APPLIED, UNCHANGED, STALE, REJECTED = "applied", "unchanged", "stale", "rejected"
STATUSES = (APPLIED, UNCHANGED, STALE, REJECTED)


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Envelope:
    origin: str
    uid: uuid.UUID
    version: int
    modified: dt.datetime
    deleted: bool
    hash: str
    record: dict | None


class EnvelopeInvalid(ValueError):
    def __init__(self, errors: dict[str, list[str]], origin: Any = None, uid: Any = None):
        super().__init__(str(errors))
        self.errors = errors
        self.origin = origin if isinstance(origin, str) else None
        self.uid = uid if isinstance(uid, str) else None


def parse_envelope(data: Any) -> Envelope:
    """A wire envelope, strictly typed, or EnvelopeInvalid naming each bad field."""
    if not isinstance(data, dict):
        raise EnvelopeInvalid({"envelope": ["Must be an object."]})
    errors: dict[str, list[str]] = {}
    origin, raw_uid = data.get("origin"), data.get("uid")
    if not isinstance(origin, str) or not AGENCY_CODE_RE.fullmatch(origin):
        errors["origin"] = ["Must be an agency code: upper-case letters, digits, '-', 2-32."]
    uid = _parse_uuid(raw_uid, errors)
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
        if record is not None:
            errors["record"] = ["Must be null when deleted is true."]
        if digest not in (None, "", TOMBSTONE_HASH):
            errors["hash"] = ["A tombstone's hash is null or the hash of null."]
        digest = TOMBSTONE_HASH
    else:
        if not isinstance(record, dict):
            errors["record"] = ["Must be an object (or null with deleted true)."]
        if not isinstance(digest, str) or not HASH_RE.fullmatch(digest):
            errors["hash"] = ["Must be 'sha256:' and 64 lower-case hex digits."]
    if errors:
        raise EnvelopeInvalid(errors, origin, raw_uid)
    return Envelope(origin, uid, version, modified, deleted, digest, record)


def _parse_uuid(raw: Any, errors: dict) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if isinstance(raw, str) else _bad(errors, "uid")
    except ValueError:
        return _bad(errors, "uid")


def _bad(errors: dict, name: str) -> None:
    errors[name] = ["Must be a UUID string."]


def _parse_modified(raw: Any, errors: dict) -> dt.datetime | None:
    try:
        value = parse_datetime(raw) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if value is None:
        errors["modified"] = ["Must be an ISO 8601 date and time."]
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def verified_record_json(envelope: Envelope) -> str | None:
    """The record's canonical JSON if the envelope's hash matches it, else None (a tombstone has
    nothing to verify and answers "null"). The receiver stores this very text."""
    if envelope.deleted:
        return "null"
    try:
        text = canonical_json(envelope.record)
    except (RecursionError, ValueError):  # absurdly nested, or NaN smuggled in
        return None
    if HASH_PREFIX + hashlib.sha256(text).hexdigest() != envelope.hash:
        return None
    return text.decode("utf-8")


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


def result(origin: Any, uid: Any, status: str, errors: dict | None = None) -> dict:
    answer = {"origin": origin, "uid": uid, "status": status}
    if errors:
        answer["errors"] = errors
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
