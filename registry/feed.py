"""The node's change feed: written in the same transaction as each change, read in commit-safe
order (PROTOCOL.md rule 6).

On PostgreSQL every entry carries the id of the transaction that wrote it, and a reader only
serves entries of transactions older than the oldest one still running in this database, in
(txid, seq) order. A transaction that commits late therefore holds the feed back instead of being
skipped. SQLite has a single writer, so commit order is seq order and txid stays 0.
"""

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import NamedTuple

from django.db import connection
from django.db.models import Max, Q
from django.utils import timezone

from registry.canonical import record_hash
from registry.models import FeedEntry, NodeState

FEED_SEQUENCE = "registry_feed_seq"


class Position(NamedTuple):
    txid: int
    seq: int


START = Position(0, 0)


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def current_feed_id() -> uuid.UUID:
    state = NodeState.objects.order_by("pk").first() or NodeState.objects.create()
    return state.feed_id


def reset_feed_id() -> uuid.UUID:
    """Start the feed over (after a restore): followers that see the new id read from the top."""
    state = NodeState.objects.order_by("pk").first() or NodeState.objects.create()
    state.feed_id = uuid.uuid4()
    state.reset_at = timezone.now()
    state.save()
    return state.feed_id


def allocate(count: int) -> tuple[int, list[int]]:
    """The writing transaction's id and `count` fresh sequence numbers, in order."""
    if count == 0:
        return 0, []
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            txid = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [FEED_SEQUENCE, count])
            return txid, [row[0] for row in cursor.fetchall()]
    # SQLite: the write lock is held (IMMEDIATE transactions), so MAX()+1 cannot race.
    top = FeedEntry.objects.aggregate(top=Max("seq"))["top"] or 0
    return 0, list(range(top + 1, top + 1 + count))


def write_entry(
    *,
    origin: str,
    uid: uuid.UUID,
    version: int,
    record: dict | None,
    modified: dt.datetime,
    hash: str | None = None,
    received_from: str = "",
) -> FeedEntry:
    """Upsert the latest state of one record (record None = tombstone)."""
    txid, (seq,) = allocate(1)
    values = {
        "version": version,
        "deleted": record is None,
        "record": record,
        "hash": "" if record is None else (hash or record_hash(record)),
        "modified": modified,
        "seq": seq,
        "txid": txid,
        "received_from": received_from,
    }
    entry, _ = FeedEntry.objects.update_or_create(origin=origin, uid=uid, defaults=values)
    return entry


def read_changes(
    *, after: Position, limit: int, origins: Iterable[str] | None = None
) -> list[FeedEntry]:
    """Entries after `after`, oldest first, never past a transaction that may still commit."""
    return list(changes_after(after=after, origins=origins)[:limit])


def changes_after(*, after: Position, origins: Iterable[str] | None = None):
    """The query behind read_changes, for readers that select only some columns."""
    # "(txid, seq) after the position", written as a range on txid so that the (txid, seq) and
    # (origin, txid, seq) indexes serve it in order and a page stops after `limit` rows (an OR of
    # the two cases made PostgreSQL read and sort the whole rest of the feed for every page).
    entries = FeedEntry.objects.filter(txid__gte=after.txid).exclude(
        txid=after.txid, seq__lte=after.seq
    )
    if origins is not None:
        entries = entries.filter(origin__in=list(origins))
    if is_postgresql():
        horizon = _visible_horizon()
        visible = Q(txid__lt=horizon.xmin)
        if horizon.own_txid != -1:
            # Only a reader inside its own writing transaction (tests) needs the OR, which keeps
            # PostgreSQL from walking the index in order: the usual case stays a plain range.
            visible |= Q(txid=horizon.own_txid)
        entries = entries.filter(visible)
    return entries.order_by("txid", "seq")


class _Horizon(NamedTuple):
    xmin: int
    own_txid: int


# Transaction ids are cluster-wide, so the snapshot's xmin would let a long transaction in any
# other database of the cluster (another node, a test run) stall this feed. The horizon is the
# oldest transaction still in flight that is not known to belong to another database, else the
# snapshot's xmax (every id below it has finished). An in-flight id that pg_stat_activity does not
# (yet) show counts as ours: erring that way only holds the feed back, never skips. The activity
# view is cached per transaction, hence the clear first; its backend_xid is 32 bits, matched
# against the 64-bit snapshot ids.
_HORIZON_SQL = """
WITH snap AS (SELECT pg_current_snapshot() AS s),
     elsewhere AS (SELECT backend_xid::text::bigint AS xid FROM pg_stat_activity
                   WHERE datname IS DISTINCT FROM current_database()
                     AND backend_xid IS NOT NULL)
SELECT COALESCE(
         (SELECT MIN(x::text::bigint) FROM snap, pg_snapshot_xip(snap.s) AS x
          WHERE x::text::bigint % 4294967296 NOT IN (SELECT xid FROM elsewhere)),
         (SELECT pg_snapshot_xmax(s)::text::bigint FROM snap)),
       COALESCE(pg_current_xact_id_if_assigned()::text::bigint, -1)
"""


def _visible_horizon() -> _Horizon:
    with connection.cursor() as cursor:
        # A reader's own uncommitted writes are visible to it (tests run inside one transaction).
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_HORIZON_SQL)
        xmin, own = cursor.fetchone()
    return _Horizon(xmin, own)
