"""Read-only copies of other agencies' records, as received from peers.

A copy and its feed entry (the node's record of the origin's latest state, which the hub
republishes) are written together in one transaction, set-based: a batch of a thousand copies costs
a handful of statements, not a thousand round trips. The SQL itself refuses to lower a stored
version, so two receivers racing on the same record can never move it backwards.

Copies bypass registry.services (which versions *own* changes) and the change history: the origin
keeps the history of its records; this node keeps the origin's latest state.
"""

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from registry import feed, quality, reference
from registry import vocabularies as v
from registry.models import Agency, FeedEntry, UseCase

# Both SQLite (32766) and PostgreSQL (65535) take this many parameters in one statement.
MAX_PARAMS = 30_000
COUNTRY_PREFIX_RE = re.compile(r"([A-Z]{2})-")


@dataclass(frozen=True, slots=True)
class StoredState:
    version: int
    hash: str
    deleted: bool


class RawJSON(str):
    """A JSON value already serialized (the receiver has the canonical text from checking the
    hash): stored as it is instead of being encoded again."""


@dataclass(frozen=True, slots=True)
class Copy:
    """The origin's latest state of one record: `values` are the validated record (None for a
    tombstone), `record` the wire form exactly as hashed by the origin (a dict, or RawJSON)."""

    origin: str
    uid: uuid.UUID
    version: int
    modified: dt.datetime
    hash: str
    record: dict | RawJSON | None
    values: dict[str, Any] | None


Key = tuple[str, uuid.UUID]


def stored_states(keys: Iterable[Key]) -> dict[Key, StoredState]:
    """The stored version of each record (tombstones included), in one query."""
    wanted = set(keys)
    if not wanted:
        return {}
    # Both columns, so that the (origin, uid) unique index serves the lookup.
    rows = FeedEntry.objects.filter(
        origin__in={origin for origin, _ in wanted}, uid__in={uid for _, uid in wanted}
    ).values_list("origin", "uid", "version", "hash", "deleted")
    return {(o, u): StoredState(ver, h, d) for o, u, ver, h, d in rows if (o, u) in wanted}


def store_copies(copies: list[Copy], *, received_from: str) -> None:
    """Upsert copies, delete copies of tombstones, and write their feed entries, atomically.

    Each (origin, uid) appears at most once; the caller has decided that each is newer than
    what is stored."""
    if not copies:
        return
    if any(copy.origin == settings.NODE_AGENCY for copy in copies):
        raise ValueError("A node never takes its own agency's records from outside.")
    now = timezone.now()
    with transaction.atomic():
        ensure_agencies({copy.origin for copy in copies})
        # The feed entry is the record's version of truth: only copies whose entry this batch
        # really advanced touch the use-case table, so a concurrent receiver that stored a newer
        # version (or a tombstone) first is never undone here.
        written = _upsert_feed_entries(copies, received_from)
        winners = [c for c in copies if (c.origin, c.uid) in written]
        _upsert_use_cases([c for c in winners if c.values is not None], received_from, now)
        _delete_use_cases([c for c in winners if c.values is None])


def ensure_agencies(codes: set[str]) -> None:
    """Create the agencies first heard of through a record; an admin completes them later."""
    known = set(Agency.objects.filter(code__in=codes).values_list("code", flat=True))
    Agency.objects.bulk_create(
        [_new_agency(code) for code in sorted(codes - known)], ignore_conflicts=True
    )


def _new_agency(code: str) -> Agency:
    prefix = COUNTRY_PREFIX_RE.match(code)
    if reference.is_reference(code):  # a register this node does not know yet keeps its code
        register = reference.register_for(code)
        name, country = (register.name, register.country) if register else (code, "EU")
        kind = v.AgencyKind.REFERENCE_REGISTER
        return Agency(code=code, name=name, country=country, kind=kind)
    if code == "EMA":
        return Agency(code=code, name=code, country="EU", kind=v.AgencyKind.EMA)
    country = prefix.group(1) if prefix else "EU"
    return Agency(code=code, name=code, country=country, kind=v.AgencyKind.HUMAN)


def _upsert_use_cases(copies: list[Copy], received_from: str, now: dt.datetime) -> None:
    rows = [
        {
            **copy.values,
            **_quality_columns(copy.values, copy.origin),
            "origin_id": copy.origin,
            "uid": copy.uid,
            "version": copy.version,
            "modified": copy.modified,
            "created": now,
            "source_key": None,
            "source_fingerprint": "",
            "received_at": now,
            "received_from": received_from,
        }
        for copy in copies
    ]
    _upsert(UseCase, rows, keep={"origin", "uid", "created", "source_key", "source_fingerprint"})


def _quality_columns(values: dict[str, Any], origin: str) -> dict[str, Any]:
    # A shared copy passed the validator at its shared level, so it lacks nothing to publish.
    assessment = quality.assess(values, gaps={})
    return {
        "gaps": [],
        "completeness": assessment.completeness,
        # The network's compliance checks govern its agencies' records (UseCase.refresh_quality).
        "compliance_flags": [] if reference.is_reference(origin) else assessment.flags,
    }


def _delete_use_cases(tombstones: list[Copy]) -> None:
    if not tombstones:
        return
    newest = {(c.origin, c.uid): c.version for c in tombstones}
    candidates = UseCase.objects.filter(uid__in=[c.uid for c in tombstones]).values_list(
        "pk", "origin_id", "uid", "version"
    )
    doomed = [pk for pk, o, u, ver in candidates if ver < newest.get((o, u), 0)]
    if doomed:
        # Through the ORM, so whatever refers to a use case is cascaded or protected as declared.
        UseCase.objects.filter(pk__in=doomed).delete()


def _upsert_feed_entries(copies: list[Copy], received_from: str) -> set[Key]:
    txid, seqs = feed.allocate(len(copies))
    rows = [
        {
            "origin": copy.origin,
            "uid": copy.uid,
            "version": copy.version,
            "deleted": copy.record is None,
            "hash": "" if copy.record is None else copy.hash,
            "record": copy.record,
            "modified": copy.modified,
            "seq": seq,
            "txid": txid,
            "received_from": received_from,
        }
        for copy, seq in zip(copies, seqs, strict=True)
    ]
    return _upsert(FeedEntry, rows, keep={"origin", "uid"})


def _upsert(model: type[models.Model], rows: list[dict], *, keep: set[str]) -> set[Key]:
    """INSERT ... ON CONFLICT (origin, uid) DO UPDATE, only ever to a higher version; the
    columns named in `keep` keep their first value. Returns the keys actually written."""
    if not rows:
        return set()
    fields = [f for f in model._meta.concrete_fields if f.name != "id"]
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    columns = ", ".join(qn(f.column) for f in fields)
    assignments = ", ".join(
        f"{qn(f.column)} = excluded.{qn(f.column)}" for f in fields if f.name not in keep
    )
    conflict = (
        f" ON CONFLICT ({qn('origin')}, {qn('uid')}) DO UPDATE SET {assignments}"
        f" WHERE {table}.{qn('version')} < excluded.{qn('version')}"
        f" RETURNING {qn('origin')}, {qn('uid')}"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            written = _insert_copy(cursor, table, columns, conflict, fields, rows)
        else:
            written = _insert_values(cursor, table, columns, conflict, fields, rows)
    # SQLite hands UUIDs back as 32 hex digits, PostgreSQL as UUIDs.
    return {
        (origin, uid if isinstance(uid, uuid.UUID) else uuid.UUID(uid)) for origin, uid in written
    }


def _insert_copy(cursor, table, columns, conflict, fields, rows) -> list[tuple]:
    """PostgreSQL: COPY the batch into a session-local staging table, then one set-based upsert
    from it. COPY is the fastest way into PostgreSQL; the staging table empties itself at commit
    and is emptied after use, so it never holds anything between batches."""
    stage = connection.ops.quote_name(f"staging_{table.strip(chr(34))}")
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS"
        f" AS SELECT {columns} FROM {table} WITH NO DATA"
    )
    json_columns = {i for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
    with cursor.cursor.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
        for row in rows:
            values = [row[f.attname] for f in fields]
            for i in json_columns:
                if values[i] is not None and not isinstance(values[i], RawJSON):
                    values[i] = json.dumps(values[i], ensure_ascii=False)
            copy.write_row(values)
    cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage}{conflict}")
    written = cursor.fetchall()
    cursor.execute(f"DELETE FROM {stage}")
    return written


def _insert_values(cursor, table, columns, conflict, fields, rows) -> list[tuple]:
    """SQLite: multi-row VALUES, as many rows per statement as its parameter limit allows."""
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    step = max(1, MAX_PARAMS // len(fields))
    written = []
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([one_row] * len(chunk))}{conflict}",
            [_prepared(f, row[f.attname]) for row in chunk for f in fields],
        )
        written.extend(cursor.fetchall())
    return written


def _prepared(field: models.Field, value: Any) -> Any:
    if isinstance(value, RawJSON):
        return str(value)  # SQLite keeps JSON as text
    return field.get_db_prep_save(value, connection)
