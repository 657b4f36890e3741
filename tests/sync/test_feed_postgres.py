"""PROTOCOL.md rule 6 on real PostgreSQL: a follower reading cursor after cursor sees every
committed change even when transactions commit out of sequence order."""

import json
import uuid

import psycopg
import pytest
from django.db import connection

from registry.feed import FEED_SEQUENCE
from sync import serving

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="rule 6 is about PostgreSQL's concurrent commits; set DATABASE_URL to PostgreSQL",
    ),
]


def open_connection(**overrides) -> psycopg.Connection:
    params = {**connection.get_connection_params(), **overrides}
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params)


def write_entry(conn: psycopg.Connection) -> tuple[str, int]:
    """What registry.feed.write_entry does, on a connection of our own (transaction left open)."""
    uid = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO registry_feedentry"
        " (origin, uid, version, deleted, hash, record, modified, seq, txid, received_from)"
        " VALUES ('DE-BFARM', %s, 1, true, '', NULL, now(), nextval(%s),"
        " pg_current_xact_id()::text::bigint, 'DE-BFARM')",
        [uid, FEED_SEQUENCE],
    )
    seq = conn.execute("SELECT seq FROM registry_feedentry WHERE uid = %s", [uid]).fetchone()[0]
    return uid, seq


def naive_read(after_seq: int) -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT uid::text, seq FROM registry_feedentry WHERE seq > %s ORDER BY seq", [after_seq]
        )
        return cursor.fetchall()


def test_a_follower_misses_nothing_when_an_earlier_transaction_commits_later(settings):
    settings.NODE_ROLE, settings.NODE_AGENCY = "hub", "EMRN-HUB"
    slow, fast = open_connection(), open_connection()
    # A long transaction in another database of the cluster must not hold this feed back.
    elsewhere = open_connection(dbname="postgres")
    elsewhere.execute("SELECT pg_current_xact_id()")
    try:
        slow_uid, slow_seq = write_entry(slow)  # takes the lower seq, stays open
        fast_uid, fast_seq = write_entry(fast)
        fast.commit()
        assert slow_seq < fast_seq

        first = json.loads(serving.changes_page(since=None, limit=100).json)
        naive_first = naive_read(0)
        slow.commit()
        second = json.loads(serving.changes_page(since=first["next"], limit=100).json)
        naive_second = naive_read(max(seq for _, seq in naive_first))
    finally:
        for conn in (slow, fast, elsewhere):
            conn.close()

    seen = [c["uid"] for c in first["changes"] + second["changes"]]
    assert sorted(seen) == sorted([slow_uid, fast_uid]), "the cursor reader saw both, once each"
    # A plain `seq > cursor` reader took the later commit first and skipped the earlier one.
    naive_seen = [uid for uid, _ in naive_first + naive_second]
    assert naive_seen == [fast_uid]
    assert slow_uid not in naive_seen
