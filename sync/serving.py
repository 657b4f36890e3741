"""Reading this node's feed as wire envelopes, for peers that pull (GET changes) and for pushing.

The database renders each record's JSON, and envelopes are assembled as text: a page of a
thousand records costs one query and no model instances (the push bench depends on it)."""

import uuid
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from registry import feed
from registry.feed import START, Position
from registry.models import NodeState
from sync import protocol


class FeedRow(NamedTuple):
    position: Position
    origin: str
    uid: uuid.UUID
    version: int
    envelope: str  # the wire envelope, serialized


def read_envelopes(
    *, after: Position, limit: int, origins: list[str] | None, with_seq: bool = False
) -> list[FeedRow]:
    rows = (
        feed.changes_after(after=after, origins=origins)
        .annotate(record_json=Cast("record", TextField()))
        .values_list(
            "txid", "seq", "origin", "uid", "version", "modified", "deleted", "hash", "record_json"
        )[:limit]
    )
    return [
        FeedRow(
            Position(txid, seq),
            origin,
            uid,
            version,
            protocol.envelope_json(
                origin=origin,
                uid=uid,
                version=version,
                modified=modified,
                deleted=deleted,
                hash=digest,
                record_json=record_json,
                seq=seq if with_seq else None,
            ),
        )
        for txid, seq, origin, uid, version, modified, deleted, digest, record_json in rows
    ]


def served_origins() -> list[str] | None:
    """An agency serves its own records; the hub the whole network."""
    return None if settings.NODE_ROLE == "hub" else [settings.NODE_AGENCY]


class ChangesPage(NamedTuple):
    json: str  # the answer's body
    count: int  # envelopes on the page


def served_feed_id() -> str:
    """The `feed_id` peers see (PROTOCOL.md, GET node): the node's feed id (NodeState; new at
    `reset_feed`), on PostgreSQL bound to the database's incarnation as well. A restore from a
    dump re-creates the NodeState table and row (a new table oid, a new row xmin; nothing else
    ever rewrites that row), so a node restored from a backup without `reset_feed` still shows
    its followers and pushers a new feed id, and they start over from the top: an agency pushes
    again what the restored hub lost (issue 14, item 4). Still a UUID, still opaque."""
    if not feed.is_postgresql():
        return str(feed.current_feed_id())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT feed_id, tableoid::bigint, xmin::text FROM {NodeState._meta.db_table} "
            "ORDER BY id LIMIT 1"
        )
        state = cursor.fetchone()
    if state is None:
        feed.current_feed_id()  # a new node's first NodeState row
        return served_feed_id()
    feed_id, table_oid, row_xmin = state
    return str(uuid.uuid5(uuid.UUID(str(feed_id)), f"{table_oid}:{row_xmin}"))


def _feed_top() -> Position:
    """The position of the newest entry this node serves (START for an empty feed)."""
    newest = (
        feed.changes_after(after=START, origins=served_origins())
        .order_by("-txid", "-seq")
        .values_list("txid", "seq")
        .first()
    )
    return Position(*newest) if newest else START


def changes_page(*, since: str | None, limit: int) -> ChangesPage:
    """One page of the feed after `since` as a JSON document; raises protocol.InvalidCursor,
    also for a cursor past the newest entry: only a node put back to an older state (a restore
    that kept its feed id: SQLite, a file-system snapshot) can meet one, and the follower that
    sent it must start over or miss what the node writes below it from now on."""
    feed_id = served_feed_id()
    after = protocol.decode_cursor(since, feed_id)
    if after != START and after > _feed_top():
        raise protocol.CursorPastEnd(
            "The cursor is past the end of this feed (the node was restored from a backup): "
            "start again from the beginning."
        )
    rows = read_envelopes(after=after, limit=limit + 1, origins=served_origins(), with_seq=True)
    more = len(rows) > limit
    rows = rows[:limit]
    if rows:
        after = rows[-1].position
    body = protocol.changes_page_json(
        [row.envelope for row in rows], protocol.encode_cursor(after, feed_id), more
    )
    return ChangesPage(body, len(rows))
