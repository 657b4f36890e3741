"""Reading this node's feed as wire envelopes, for peers that pull (GET changes) and for pushing.

The database renders each record's JSON, and envelopes are assembled as text: a page of a
thousand records costs one query and no model instances (the push bench depends on it)."""

import uuid
from typing import NamedTuple

from django.conf import settings
from django.db.models import TextField
from django.db.models.functions import Cast

from registry import feed
from registry.feed import Position
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


def changes_page(*, since: str | None, limit: int) -> ChangesPage:
    """One page of the feed after `since` as a JSON document; raises protocol.InvalidCursor."""
    feed_id = str(feed.current_feed_id())
    after = protocol.decode_cursor(since, feed_id)
    rows = read_envelopes(after=after, limit=limit + 1, origins=served_origins(), with_seq=True)
    more = len(rows) > limit
    rows = rows[:limit]
    if rows:
        after = rows[-1].position
    body = protocol.changes_page_json(
        [row.envelope for row in rows], protocol.encode_cursor(after, feed_id), more
    )
    return ChangesPage(body, len(rows))
