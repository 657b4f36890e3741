"""Deciding what to do with each received envelope (PROTOCOL.md rules 2-4), for a push to this
node and for a page pulled from a peer alike. Storage is registry.received's business."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone

from registry import received, reference
from registry import vocabularies as v
from registry.received import Copy, RawJSON, StoredState
from registry.validation import RecordInvalid, validate_record
from sync import protocol
from sync.protocol import APPLIED, REJECTED, STALE, UNCHANGED, Envelope, EnvelopeInvalid

# (status, errors, the version stored here when the answer is stale or a conflict)
Decision = tuple[str, dict[str, list[str]] | None] | tuple[str, dict | None, int]


def receive(
    changes: list[Any], *, received_from: str, may_send: Callable[[str], bool]
) -> list[dict]:
    """Apply what is newer, answer one result per envelope in order.

    `may_send(origin)` says whether the sending peer may speak for that origin (rule 2)."""
    results: list[dict | None] = [None] * len(changes)
    candidates: list[tuple[int, Envelope]] = []
    for index, data in enumerate(changes):
        try:
            envelope = protocol.parse_envelope(data)
        except EnvelopeInvalid as exc:
            results[index] = protocol.result(exc.origin, exc.uid, REJECTED, exc.errors)
            continue
        if not may_send(envelope.origin):
            problem = {"origin": [f"This peer may not send records of {envelope.origin}."]}
            results[index] = _answer(envelope, (REJECTED, problem))
            continue
        if envelope.content_hash != envelope.hash:
            problem = {"hash": ["Does not match the canonical JSON of the record."]}
            results[index] = _answer(envelope, (REJECTED, problem))
            continue
        candidates.append((index, envelope))

    states = received.stored_states((e.origin, e.uid) for _, e in candidates)
    accepted: dict[tuple, Copy] = {}
    today = timezone.now().date()
    for index, envelope in candidates:
        key = (envelope.origin, envelope.uid)
        decision = _decide(envelope, states.get(key))
        if decision[0] == APPLIED:
            copy, errors = _prepared_copy(envelope, today)
            if errors:
                decision = (REJECTED, errors)
            else:
                accepted[key] = copy
                states[key] = StoredState(envelope.version, envelope.hash, envelope.deleted)
        results[index] = _answer(envelope, decision)
    received.store_copies(list(accepted.values()), received_from=received_from)
    return results


def _decide(envelope: Envelope, stored: StoredState | None) -> Decision:
    """Rule 3: only a higher version applies; a node's own records never change from outside.
    A version more than SYNC_MAX_VERSION_LEAP above the stored one (or above none) is no way to
    take a record over: the origin raises versions one by one, so the jump is a forgery or a
    fault, and applying it would answer the true owner's next edits `stale`."""
    leap = settings.SYNC_MAX_VERSION_LEAP
    if envelope.version > (stored.version if stored else 0) + leap:
        return REJECTED, {
            "version": [
                f"Version {envelope.version} is more than {leap} above the version stored here "
                f"({stored.version if stored else 'none'}): refused."
            ]
        }
    if stored is None or envelope.version > stored.version:
        status, errors = APPLIED, None
    elif envelope.version < stored.version:
        return STALE, None, stored.version
    elif envelope.deleted == stored.deleted and (envelope.deleted or envelope.hash == stored.hash):
        return UNCHANGED, None
    else:
        problem = f"Version {envelope.version} is stored here with other content (conflict)."
        return REJECTED, {"hash": [problem]}, stored.version
    if envelope.origin == settings.NODE_AGENCY:
        return REJECTED, {
            "origin": [f"Records of {envelope.origin} change only at {envelope.origin} itself."]
        }
    if reference.written_here(envelope.origin):
        return REJECTED, {
            "origin": [
                f"{envelope.origin} is a reference register: only the hub writes its records."
            ]
        }
    return status, errors


def _prepared_copy(envelope: Envelope, today) -> tuple[Copy | None, dict | None]:
    values = None
    if not envelope.deleted:
        try:
            values = validate_record(
                envelope.record, today=today, reference=reference.is_reference(envelope.origin)
            )
        except RecordInvalid as exc:
            return None, exc.errors
        if values["publication_level"] not in v.SHARED_LEVELS:
            return None, {"publication_level": ["Only network and public records are shared."]}
    copy = Copy(
        origin=envelope.origin,
        uid=envelope.uid,
        version=envelope.version,
        modified=envelope.modified,
        hash=envelope.hash,
        record=None if envelope.deleted else RawJSON(envelope.record_json),
        values=values,
    )
    return copy, None


def _answer(envelope: Envelope, decision: Decision) -> dict:
    return protocol.result(envelope.origin, str(envelope.uid), *decision)
