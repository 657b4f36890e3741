"""Two prefork workers, one peer (issue 14, item 1), on PostgreSQL + Redis: agency A runs two
Celery workers that take the same hub peer's sync tasks at once (several queued together, as beat,
a push-soon and a redelivered task do). One of them is paused (SIGSTOP: a frozen VM, a stalled
host) in the middle of a push until its lease on the peer expires and the other takes over, then
resumes. Throughout, the proxy never sees two syncs of the peer at once, A's push checkpoint,
read straight from A's database, never moves backwards, and nothing is applied twice.

PostgreSQL + Redis only: two prefork workers sharing one queue is the production topology; the
embedded default (SQLite, a file-system broker) is for one process of each kind on a laptop."""

import os
import signal
import threading
import time

import psycopg
import pytest

from federation import probe, processes
from federation.launcher import PROJECT_ROOT
from tests.e2e.conftest import running_network
from tests.e2e.helpers import (
    act,
    assert_nothing_applied_twice,
    key,
    wait_converged,
    wait_until,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (
            os.environ.get("DATABASE_URL", "").startswith("postgres")
            and os.environ.get("CELERY_BROKER_URL", "").startswith("redis")
        ),
        reason="two prefork workers on one queue is the PostgreSQL + Redis topology; the "
        "embedded default runs one worker per node",
    ),
]

LEASE_SECONDS = 60  # sync.services.lease_duration() with the suite's 3 s HTTP timeout
PUSH_CONCURRENCY = 2  # SYNC_PUSH_CONCURRENCY's default: pages one sync has in flight at once


@pytest.fixture(scope="module")
def network(tmp_path_factory, marker):
    run_dir = tmp_path_factory.mktemp("two-workers")
    # The Redis databases of the other single-module federations: they never run at once.
    with running_network(run_dir, f"{marker}-two", broker_shift=3) as network:
        yield network


def start_prefork_worker(node, name: str):
    command = [arg for arg in node.worker_command() if arg != "--pool=solo"]
    command = [a for a in command if not a.startswith("--hostname")]
    command += ["--pool=prefork", "--concurrency=2", f"--hostname={name}@%h"]
    with processes.signals_held():
        process = processes.start(
            command, env=node.environment(), cwd=PROJECT_ROOT, log_path=node.log_dir / f"{name}.log"
        )
    node.processes[name] = process  # stopped with the node
    return process


class CursorWatch:
    """Reads A's push checkpoint from its database every 20 ms and keeps every value seen."""

    QUERY = (
        "SELECT c.cursor FROM sync_checkpoint c JOIN sync_peer p ON p.id = c.peer_id "
        "WHERE p.name = 'hub' AND c.direction = 'push'"
    )

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.seen: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _watch(self):
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self._stop.wait(0.02):
                row = conn.execute(self.QUERY).fetchone()
                if row and row[0]:
                    position = tuple(int(part) for part in row[0].split(":"))
                    if not self.seen or self.seen[-1] != position:
                        self.seen.append(position)


def test_two_workers_never_sync_one_peer_at_once_and_its_cursor_never_moves_back(
    hub, agency_a, agency_b, proxy
):
    agency_a.stop_process("worker")
    proxy.arm(delay_seconds=1.0)  # slow pushes, so that the pause lands in the middle of one
    try:
        with CursorWatch(agency_a.config.database_url) as watch:
            # Queued while no worker runs: the first worker starts on a push of ten pages.
            uids = act(agency_a, "create", count=100, level="network", title="Two workers")
            act(agency_a, "queue_hub_syncs", count=3)
            posts = proxy.post_count()
            first = start_prefork_worker(agency_a, "worker")
            wait_until(lambda: proxy.post_count() >= posts + 2, timeout=60, what="A to be pushing")
            processes.signal_group(first, signal.SIGSTOP)  # mid-push, holding the lease
            paused_at = time.monotonic()
            try:
                start_prefork_worker(agency_a, "worker2")
                act(agency_a, "queue_hub_syncs", count=3)
                wait_until(
                    lambda: key(agency_a, uids[-1]) in probe.use_cases(hub),
                    timeout=LEASE_SECONDS + 90,
                    what="the second worker to take the sync over once the lease expired",
                )
            finally:
                processes.signal_group(first, signal.SIGCONT)
            paused = time.monotonic() - paused_at
            # Both workers busy with the same peer at once: more records, several tasks.
            proxy.disarm()
            more = act(agency_a, "create", count=30, level="network", title="Both awake")
            act(agency_a, "queue_hub_syncs", count=6)
            wait_converged(agency_a, hub, agency_b, timeout=90)
            assert key(agency_a, more[-1]) in probe.use_cases(hub)
    finally:
        proxy.disarm()

    assert paused >= LEASE_SECONDS - 5, "the second worker waited for the lease to expire"
    assert watch.seen, "the push checkpoint was watched while it moved"
    assert watch.seen == sorted(watch.seen), f"the cursor moved back: {watch.seen}"
    assert proxy.most_in_flight["POST"] <= PUSH_CONCURRENCY, "two syncs of the peer at once"
    assert proxy.most_in_flight["GET"] <= 1, "two pulls of the peer at once"
    assert_nothing_applied_twice(proxy)
