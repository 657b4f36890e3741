"""A hub restored from a backup without `reset_feed` (issue 14, item 4), with real processes on
PostgreSQL: what the agencies pushed after the backup point is gone from the hub, while their
push checkpoints say the hub acknowledged it. Nobody runs a command: the hub's feed id is bound
to its database's incarnation (sync.serving.served_feed_id), which the restore renews, so both
agencies push everything again and the network converges on each agency's records, edits made
after the backup included. The federation is the fault scenarios' (tests/e2e/conftest.py)."""

import os
import subprocess
import urllib.parse
from pathlib import Path

import psycopg
import pytest

from federation import probe
from federation.launcher import Node
from tests.e2e.helpers import RECOVERY_SECONDS, act, key, wait_converged
from tests.e2e.test_restore_e2e import PG_TIMEOUT, pg_tool

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the scenario restores a PostgreSQL dump (SQLite: docs/operations.md)",
    ),
]

SECONDS = 60


@pytest.fixture(scope="module")
def network(faults_network):
    return faults_network


def dump(node: Node, path: Path) -> None:
    """`pg_dump -Fc` of a running node's database (one consistent snapshot)."""
    dumped = subprocess.run(
        [pg_tool("pg_dump"), "-Fc", f"--file={path}", f"--dbname={node.config.database_url}"],
        capture_output=True,
        text=True,
        timeout=PG_TIMEOUT,
    )
    assert dumped.returncode == 0, dumped.stderr[-4000:]


def restore_without_reset_feed(node: Node, path: Path) -> None:
    """Stop the node and `pg_restore --clean` the dump into its database, as an operator who
    forgot `reset_feed` would. The node stays stopped."""
    node.stop()
    database = urllib.parse.urlsplit(node.config.database_url).path.strip("/")
    server = urllib.parse.urlsplit(node.config.database_url)._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
    restored = subprocess.run(
        [
            pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--exit-on-error",
            f"--dbname={node.config.database_url}",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=PG_TIMEOUT,
    )
    assert restored.returncode == 0, restored.stderr[-4000:]


def test_a_hub_restored_without_reset_feed_gets_back_what_the_agencies_pushed_after_the_backup(
    hub, agency_a, agency_b, tmp_path
):
    edited = act(agency_a, "create", count=2, level="network", title="Before the backup")[0]
    act(agency_b, "create", count=1, level="network", title="B before the backup")
    wait_converged(agency_a, hub, agency_b, timeout=SECONDS)
    wait_converged(agency_b, hub, agency_a, timeout=SECONDS)
    backup = tmp_path / "hub.dump"
    dump(hub, backup)

    late_a = act(agency_a, "create", count=3, level="network", title="After the backup")
    assert act(agency_a, "edit", uid=edited, title="Edited after the backup") == 2
    late_b = act(agency_b, "create", count=2, level="network", title="B after the backup")
    wait_converged(agency_a, hub, agency_b, timeout=SECONDS)
    wait_converged(agency_b, hub, agency_a, timeout=SECONDS)
    feed_id_before = hub.node_info()["feed_id"]

    restore_without_reset_feed(hub, backup)
    at_hub = probe.use_cases(hub)
    assert not any(key(agency_a, uid) in at_hub for uid in late_a), "the backup predates them"
    assert not any(key(agency_b, uid) in at_hub for uid in late_b)
    assert at_hub[key(agency_a, edited)].version == 1

    hub.start()
    assert hub.node_info()["feed_id"] != feed_id_before, "the restore shows as a new feed"
    wait_converged(agency_a, hub, agency_b, timeout=RECOVERY_SECONDS)
    wait_converged(agency_b, hub, agency_a, timeout=RECOVERY_SECONDS)
    assert (
        probe.use_cases(hub)[key(agency_a, edited)]
        == probe.use_cases(agency_a)[key(agency_a, edited)]
    )
