"""Serving this node's feed to peers (GET changes): an agency serves its own records, the hub
the whole network, in commit-safe order behind signed cursors."""

from django.conf import settings

from registry import feed
from registry.feed import Position
from sync import protocol


def changes_page(*, since: str | None, limit: int) -> dict:
    """One page of the feed after `since`; raises protocol.InvalidCursor for a bad cursor."""
    feed_id = str(feed.current_feed_id())
    after = protocol.decode_cursor(since, feed_id)
    origins = None if settings.NODE_ROLE == "hub" else [settings.NODE_AGENCY]
    entries = feed.read_changes(after=after, limit=limit + 1, origins=origins)
    more = len(entries) > limit
    entries = entries[:limit]
    if entries:
        after = Position(entries[-1].txid, entries[-1].seq)
    return {
        "changes": [{**protocol.dump_envelope(e), "seq": e.seq} for e in entries],
        "next": protocol.encode_cursor(after, feed_id),
        "more": more,
    }
