"""The data side of bench/sync.py, run inside the agency node's process (Django set up as EMA).

Records are realistic: the demo use cases of registry/demo (written for this project), varied by
title and uid, all shared with the network. They are inserted straight into the tables with their
feed entries (what registry.services would write, in bulk), because setup time is not measured.
"""

import datetime as dt
import random
import tempfile
import time
import uuid

from django.conf import settings
from django.db import connection, transaction

from registry import feed, services
from registry.canonical import record_hash
from registry.demo.seed import demo_records, seed_agencies
from registry.models import FeedEntry, UseCase
from registry.validation import validate_record

LEVELS = ("network", "public")


def generate(count: int, *, chunk: int) -> None:
    seed_agencies(settings.NODE_AGENCY)
    # Every record is shared (a prohibited use case never may be).
    templates = [
        validate_record({**wire, "publication_level": "network"})
        for _, wire in demo_records(settings.NODE_AGENCY)
        if wire["ai_act_risk"] != "prohibited"
    ]
    now = dt.datetime.now(dt.UTC)
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        use_cases = [_use_case(templates, start + i, now) for i in range(size)]
        with transaction.atomic():
            UseCase.objects.bulk_create(use_cases, batch_size=chunk)
            txid, seqs = feed.allocate(size)
            FeedEntry.objects.bulk_create(
                [
                    _entry(use_case, txid, seq)
                    for use_case, seq in zip(use_cases, seqs, strict=True)
                ],
                batch_size=chunk,
            )


def _use_case(templates: list[dict], n: int, now: dt.datetime) -> UseCase:
    fields = dict(templates[n % len(templates)])
    fields["title"] = f"{fields['title'][:180]} #{n + 1}"
    if fields.get("title_en"):
        fields["title_en"] = f"{fields['title_en'][:180]} #{n + 1}"
    fields["publication_level"] = LEVELS[n % 2]
    return UseCase(
        origin_id=settings.NODE_AGENCY, uid=uuid.uuid4(), version=1, modified=now, **fields
    )


def _entry(use_case: UseCase, txid: int, seq: int) -> FeedEntry:
    record = use_case.to_record()
    return FeedEntry(
        origin=use_case.origin_id,
        uid=use_case.uid,
        version=use_case.version,
        deleted=False,
        hash=record_hash(record),
        record=record,
        modified=use_case.modified,
        seq=seq,
        txid=txid,
    )


def change(count: int) -> None:
    """Edit `count` random records through the real write path (version + feed in one go)."""
    pks = list(UseCase.objects.own().values_list("pk", flat=True))
    for pk in random.Random(42).sample(pks, count):
        use_case = UseCase.objects.get(pk=pk)
        use_case.summary = f"{use_case.summary[:300]} (revised)"
        services.save_use_case(use_case)


def configure_hub_peer(*, push: bool, pull: bool) -> None:
    from sync import services as sync_services
    from sync.models import Peer

    peer = sync_services.hub_peer_from_settings()
    Peer.objects.filter(pk=peer.pk).update(push=push, pull=pull)


def no_change_cycle() -> dict:
    from sync import services as sync_services

    # Counted with a wrapper rather than connection.queries: that log is capped (at 9,000) and
    # generation has long filled it.
    queries = []
    with connection.execute_wrapper(
        lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)
    ):
        started = time.perf_counter()
        outcomes = sync_services.sync_all(force=True)
        elapsed = time.perf_counter() - started
    if not all(outcome.ok for outcome in outcomes):
        raise SystemExit(f"the no-change cycle failed: {[o.runs for o in outcomes]}")
    return {"seconds": elapsed, "queries": len(queries)}


def run_seconds(since: dt.datetime) -> float:
    """Time the sync runs started since `since` spent (SyncRun started..finished), without the
    sync_now process's own start-up."""
    from sync.models import SyncRun

    runs = SyncRun.objects.filter(started__gte=since, finished__isnull=False)
    return sum((run.finished - run.started).total_seconds() for run in runs)


# The ceiling ------------------------------------------------------------------------------------


def upsert_ceiling(agency_url: str, hub_url: str) -> float:
    """Seconds for PostgreSQL alone to upsert the agency's rows into a table shaped like the hub's
    use-case table: COPY into a staging table, then one INSERT ... ON CONFLICT DO UPDATE."""
    import psycopg

    with psycopg.connect(agency_url) as source, psycopg.connect(hub_url) as target:
        columns = _columns(target)
        column_list = ", ".join(columns)
        with tempfile.TemporaryFile() as rows:
            with source.cursor().copy(
                f"COPY (SELECT {column_list} FROM registry_usecase) TO STDOUT"
            ) as copy:
                for block in copy:
                    rows.write(block)
            target.execute("CREATE TABLE bench_ceiling (LIKE registry_usecase INCLUDING ALL)")
            target.commit()
            rows.seek(0)
            updates = ", ".join(
                f"{c} = EXCLUDED.{c}" for c in columns if c not in ("origin", "uid")
            )
            started = time.perf_counter()
            with target.transaction():
                target.execute(
                    f"CREATE TEMP TABLE bench_staging ON COMMIT DROP AS"
                    f" SELECT {column_list} FROM registry_usecase WITH NO DATA"
                )
                with target.cursor().copy(f"COPY bench_staging ({column_list}) FROM STDIN") as copy:
                    while block := rows.read(1 << 20):
                        copy.write(block)
                target.execute(
                    f"INSERT INTO bench_ceiling ({column_list}) SELECT {column_list}"
                    f" FROM bench_staging ON CONFLICT (origin, uid) DO UPDATE SET {updates}"
                )
            elapsed = time.perf_counter() - started
            target.execute("DROP TABLE bench_ceiling")
            target.commit()
    return elapsed


def _columns(conn) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = 'registry_usecase' AND column_name <> 'id' ORDER BY ordinal_position"
    ).fetchall()
    return [row[0] for row in rows]
