"""An agency node restored from a backup (docs/operations.md, "Backups and restore"), with real
processes on PostgreSQL: its records are older there than in the network, so after `reset_feed` a
corrected record goes out with a version the hub already holds. The hub answers `stale` and keeps
the newer pre-restore content; both sides list the record as needing attention (the agency's
Rejection and its admin filter, the hub's AnsweredRejection), and "publish again" above the
network's version makes the hub and the other agency converge on the correction, settling both
refusals. The federation is its own: agency A's processes are stopped for the dump and the
restore."""

import os
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import psycopg
import pytest

from federation import probe
from federation.launcher import Node
from tests.e2e.conftest import running_network
from tests.e2e.helpers import act, key, wait_converged, wait_until

DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not DATABASE_URL.startswith("postgres"),
        reason="the restore scenario restores a PostgreSQL dump",
    ),
]

# The Redis databases of the other single-module federations (worker crash, push soon): modules
# run one after another, and the shared federation keeps the first three numbers meanwhile.
BROKER_SHIFT = 3
SECONDS = 30  # any one step: a push or pull takes a second or two at a 2 s interval
PG_TIMEOUT = 60


def pg_tool(name: str) -> str:
    return shutil.which(name) or f"/usr/bin/{name}"


@pytest.fixture(scope="module")
def network(tmp_path_factory, marker):
    run_dir = tmp_path_factory.mktemp("restore")
    with running_network(run_dir, f"{marker}-restore", broker_shift=BROKER_SHIFT) as network:
        yield network


def dump(node: Node, path: Path) -> None:
    """`pg_dump -Fc` of the node's database, taken with its worker and beat stopped: a dump taken
    mid-sync holds the sync's lease on the hub peer, which (the restore following within the
    lease's minute here) would make the restored node's `sync_now` skip the hub."""
    node.stop_process("beat")
    node.stop_process("worker")
    try:
        dumped = subprocess.run(
            [pg_tool("pg_dump"), "-Fc", f"--file={path}", f"--dbname={node.config.database_url}"],
            capture_output=True,
            text=True,
            timeout=PG_TIMEOUT,
        )
    finally:
        node.start_process("worker")
        node.start_process("beat")
    assert dumped.returncode == 0, dumped.stderr[-4000:]


def restore(node: Node, path: Path) -> None:
    """What an operator does: stop the node, `pg_restore --clean --if-exists` the dump into its
    database (no session left on it), then `reset_feed`. The node stays stopped."""
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
    assert "Feed id changed" in node.manage("reset_feed")


def held(node: Node, origin_node: Node, uid: str) -> tuple[int, str] | None:
    """The version and title of the origin's record as `node` holds it."""
    copy = probe.use_cases(node, origin_node.config.agency).get(key(origin_node, uid))
    return (copy.version, copy.title) if copy else None


def rows(node: Node, query: str) -> list[tuple]:
    """Read the node's database directly (like federation.probe): fast enough to poll."""
    with psycopg.connect(node.config.database_url, autocommit=True) as conn:
        return conn.execute(query).fetchall()


def refusals_at_agency(node: Node) -> list[tuple]:
    """sync.models.Rejection: the agency's own records its hub refused."""
    return rows(
        node, "SELECT uid::text, status, version, peer_version FROM sync_rejection ORDER BY uid"
    )


def refusals_at_hub(node: Node) -> list[tuple]:
    """sync.models.AnsweredRejection: what the hub refused of the agencies' pushes."""
    return rows(
        node,
        "SELECT agency, origin, uid::text, status, version, stored_version"
        " FROM sync_answeredrejection ORDER BY uid",
    )


def test_a_record_corrected_after_a_restore_is_refused_stale_then_published_again_converges(
    hub, agency_a, agency_b, tmp_path
):
    corrected, untouched = act(agency_a, "create", count=2, level="network", title="Restored")
    wait_until(
        lambda: all(held(hub, agency_a, uid) for uid in (corrected, untouched)),
        timeout=SECONDS,
        what="the hub to hold both records at version 1",
    )
    backup = tmp_path / "ema.dump"
    dump(agency_a, backup)

    assert act(agency_a, "edit", uid=corrected, title="Before the restore, v2") == 2
    assert act(agency_a, "edit", uid=corrected, title="Before the restore, v3") == 3
    wait_converged(agency_a, hub, agency_b, timeout=SECONDS)
    assert held(agency_b, agency_a, corrected) == (3, "Before the restore, v3")

    restore(agency_a, backup)
    assert held(agency_a, agency_a, corrected)[0] == 1, "the dump predates the edits"
    assert act(agency_a, "edit", uid=corrected, title="Corrected after the restore") == 2
    pushed = agency_a.manage("sync_now")
    agency_a.start(wait=False)  # comes up while the refusals are looked at

    assert "stale=1" in pushed, pushed
    # The hub (and so the other agency) keeps the newer pre-restore content.
    for node in (hub, agency_b):
        assert held(node, agency_a, corrected) == (3, "Before the restore, v3"), node
    # Both sides show the record as needing attention, and nothing else does.
    assert refusals_at_agency(agency_a) == [(corrected, "stale", 2, 3)]
    assert refusals_at_hub(hub) == [("EMA", "EMA", corrected, "stale", 2, 3)]
    assert act(agency_a, "needing_attention") == [corrected]

    # "Publish again" above the version the hub said it holds.
    above = refusals_at_agency(agency_a)[0][3]
    assert act(agency_a, "publish_again", uid=corrected, above=above) == 4
    agency_a.wait_ready()
    wait_until(
        lambda: all(
            held(node, agency_a, corrected) == (4, "Corrected after the restore")
            for node in (hub, agency_b)
        ),
        timeout=SECONDS,
        what="the hub and agency B to hold the correction at version 4",
    )
    wait_converged(agency_a, hub, agency_b, timeout=SECONDS)
    wait_until(
        lambda: refusals_at_agency(agency_a) == [] and refusals_at_hub(hub) == [],
        timeout=SECONDS,
        what="both refusals to be settled (and so the admin's filter to list nothing)",
    )
    assert held(agency_b, agency_a, untouched)[0] == 1
