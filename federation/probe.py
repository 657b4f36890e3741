"""Read-only looks into a node's database, from outside the node: what the demo's progress line
and the end-to-end tests compare. They read the registry's tables directly (SQLite file or
PostgreSQL database) so that watching a node costs no Django start-up and changes nothing."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from federation.launcher import Node


class Held(NamedTuple):
    """A use case as a node holds it."""

    version: int
    publication_level: str
    title: str


class PeerState(NamedTuple):
    """How an agency's syncs with a peer are going (sync.models.Peer)."""

    auth_failed: bool
    last_error: str
    consecutive_failures: int


class FeedState(NamedTuple):
    """A feed entry: the latest state the node serves for (origin, uid)."""

    version: int
    deleted: bool
    hash: str


@contextmanager
def _cursor(node: Node) -> Iterator:
    url = node.config.database_url
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
            yield cursor
        return
    path = node.config.data_dir / "registry.sqlite3"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        yield conn.cursor()
    finally:
        conn.close()


def use_cases(node: Node, origin: str | None = None) -> dict[tuple[str, str], Held]:
    query = "SELECT origin, uid, version, publication_level, title FROM registry_usecase"
    return {
        (origin_, _uid(uid)): Held(version, level, title)
        for origin_, uid, version, level, title in _rows(node, query, origin)
    }


def feed(node: Node, origin: str | None = None) -> dict[tuple[str, str], FeedState]:
    query = "SELECT origin, uid, version, deleted, hash FROM registry_feedentry"
    return {
        (origin_, _uid(uid)): FeedState(version, bool(deleted), hash_)
        for origin_, uid, version, deleted, hash_ in _rows(node, query, origin)
    }


def counts(node: Node) -> dict[str, int]:
    """Own and received use cases, and feed entries (live and tombstones)."""
    agency = node.config.agency
    with _cursor(node) as cursor:
        cursor.execute(
            f"SELECT origin = {_placeholder(node)}, publication_level IN ('network', 'public'),"
            " COUNT(*) FROM registry_usecase GROUP BY 1, 2",
            [agency],
        )
        own = shared = received = 0
        for is_own, is_shared, count in cursor.fetchall():
            if is_own:
                own += count
                shared += count if is_shared else 0
            else:
                received += count
        cursor.execute("SELECT deleted, COUNT(*) FROM registry_feedentry GROUP BY deleted")
        feed_counts = {bool(deleted): count for deleted, count in cursor.fetchall()}
    return {
        "own": own,
        "own_shared": shared,
        "received": received,
        "feed": feed_counts.get(False, 0),
        "tombstones": feed_counts.get(True, 0),
    }


def hub_peer(node: Node) -> PeerState | None:
    """The agency's hub peer (named "hub", as sync.services.hub_peer_from_settings makes it), or
    None before its first sync."""
    with _cursor(node) as cursor:
        cursor.execute(
            "SELECT auth_failed, last_error, consecutive_failures FROM sync_peer"
            f" WHERE name = {_placeholder(node)}",
            ["hub"],
        )
        row = cursor.fetchone()
    return PeerState(bool(row[0]), row[1] or "", row[2]) if row else None


def run_totals(node: Node, direction: str) -> dict[str, int]:
    """What the node's sync runs in one direction ("push" or "pull") answered or applied, summed
    over every run (sync.models.SyncRun; a run's counts are saved with each page it applied)."""
    statuses = ("applied", "unchanged", "stale", "rejected")
    with _cursor(node) as cursor:
        cursor.execute(
            f"SELECT {', '.join(f'COALESCE(SUM({s}), 0)' for s in statuses)}, COUNT(*)"
            f" FROM sync_syncrun WHERE direction = {_placeholder(node)}",
            [direction],
        )
        *sums, runs = cursor.fetchone()
    return {**dict(zip(statuses, map(int, sums), strict=True)), "runs": int(runs)}


def hub_sync(node: Node) -> dict:
    """More of the hub peer's state, as admin > Peers shows it: its last error, why its sync
    stopped (another protocol version), whether it waits out a back-off, its number of runs and
    its push and pull cursors."""
    mark = _placeholder(node)
    with _cursor(node) as cursor:
        cursor.execute(
            "SELECT id, last_error, stopped_reason, next_attempt_at FROM sync_peer"
            f" WHERE name = {mark}",
            ["hub"],
        )
        peer_id, last_error, stopped_reason, next_attempt_at = cursor.fetchone()
        cursor.execute(f"SELECT COUNT(*) FROM sync_syncrun WHERE peer_id = {mark}", [peer_id])
        (runs,) = cursor.fetchone()
        cursor.execute(
            f"SELECT direction, cursor FROM sync_checkpoint WHERE peer_id = {mark}", [peer_id]
        )
        cursors = dict(cursor.fetchall())
    return {
        "last_error": last_error or "",
        "stopped_reason": stopped_reason or "",
        "waiting": next_attempt_at is not None,
        "runs": runs,
        "push_cursor": cursors.get("push", ""),
        "pull_cursor": cursors.get("pull", ""),
    }


def _rows(node: Node, query: str, origin: str | None) -> list[tuple]:
    params: list[str] = []
    if origin is not None:
        query += f" WHERE origin = {_placeholder(node)}"
        params.append(origin)
    with _cursor(node) as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _placeholder(node: Node) -> str:
    return "%s" if node.config.database_url else "?"


def _uid(value) -> str:
    """SQLite stores UUIDs as 32 hex digits, PostgreSQL as uuid: one spelling for comparisons."""
    return str(value).replace("-", "").lower()
