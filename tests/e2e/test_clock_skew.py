"""An agency whose clock is hours off (issue 14, item 6), with real processes on PostgreSQL:
agency A's web, worker and beat run under libfaketime three hours ahead of the database (and of
the hub and agency B). Its syncs fail for a while (the proxy answers 500) and its worker is
killed mid-push holding its lease; then its clock is put right. Leases and back-off are on the
database's clock (sync.services.database_now), so A's hub peer is due again within seconds and
the lease expires within a minute, not three hours later: the network converges on A's records,
a version edited after the correction (whose `modified` goes back three hours) included.

The federation is the fault scenarios' (tests/e2e/conftest.py); A's processes are restarted
under another clock and back."""

import os
import time
from pathlib import Path

import psycopg
import pytest

from federation import probe
from federation.launcher import Node
from tests.e2e.helpers import RECOVERY_SECONDS, act, key, wait_converged, wait_until

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="SQLite lives on the node's host: its clock is the node's, there is no other",
    ),
]

AHEAD = "+3h"


@pytest.fixture(scope="module")
def network(request):
    if not LIBFAKETIME.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{LIBFAKETIME} is missing: apt-get install faketime (.ci/run)")
        pytest.skip(f"{LIBFAKETIME} is missing: apt-get install faketime")
    return request.getfixturevalue("faults_network")


def restart_with_clock(node: Node, offset: str | None) -> None:
    """Restart every process of the node with its clock `offset` from the real one (None: the
    real clock); its management commands run on that clock too."""
    node.stop()
    env = node.config.extra_env
    for name in ("LD_PRELOAD", "FAKETIME"):
        env.pop(name, None)
    if offset is not None:
        # The monotonic clock is shifted too: with it left alone, libfaketime makes Python's
        # time.sleep fail with EINVAL, and beat dies on its first sleep.
        env.update(LD_PRELOAD=str(LIBFAKETIME), FAKETIME=offset)
    node.start()


def hub_peer_times(node: Node) -> dict[str, float | None]:
    """Seconds from the database's clock to A's hub peer's lease expiry and next attempt."""
    with psycopg.connect(node.config.database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT EXTRACT(EPOCH FROM lease_expires_at - statement_timestamp()),"
            " EXTRACT(EPOCH FROM next_attempt_at - statement_timestamp()),"
            " consecutive_failures FROM sync_peer WHERE name = 'hub'"
        ).fetchone()
    # No row before the node's first cycle makes its hub peer (a fresh federation).
    lease, retry, failures = row or (None, None, None)
    return {
        "lease": None if lease is None else float(lease),
        "retry": None if retry is None else float(retry),
        "failures": failures,
    }


def test_an_agency_hours_ahead_backs_off_and_leases_on_the_database_clock_and_converges(
    hub, agency_a, agency_b, proxy
):
    uids: list[str] = []  # set inside the try; after it only when the try got through
    restart_with_clock(agency_a, AHEAD)
    try:
        printed = agency_a.shell("import time; print(time.time())")
        node_clock = float(printed.strip().splitlines()[-1])
        assert node_clock - time.time() > 2.5 * 3600, "agency A runs three hours ahead"
        wait_until(
            lambda: hub_peer_times(agency_a)["failures"] == 0,
            timeout=RECOVERY_SECONDS,
            what="agency A to sync with the hub on its new clock",
        )
        proxy.arm(fail=range(1, 10_000))  # every push answered 500 from now on
        uids = act(agency_a, "create", count=3, level="network", title="Ahead")
        failed = wait_until(
            lambda: (times := hub_peer_times(agency_a))["failures"] and times,
            timeout=RECOVERY_SECONDS,
            what="agency A's push to fail",
        )
        assert 0 < failed["retry"] < 120, f"back-off on the node's clock: {failed}"

        proxy.arm(delay_seconds=30)  # the next push hangs in the proxy, its lease held
        held = wait_until(
            lambda: (times := hub_peer_times(agency_a))["lease"] and times,
            timeout=RECOVERY_SECONDS,
            what="agency A's worker to hold its lease mid-push",
        )
        assert 0 < held["lease"] < 120, f"lease on the node's clock: {held}"
        agency_a.kill_process("worker")
    finally:
        # The fault scenarios share the federation: A leaves on the right clock whatever failed.
        restart_with_clock(agency_a, None)
        proxy.disarm()
    assert act(agency_a, "edit", uid=uids[0], title="Edited on the right clock") == 2
    started = time.monotonic()
    wait_converged(agency_a, hub, agency_b, timeout=RECOVERY_SECONDS)
    print(f"\nconverged {time.monotonic() - started:.0f}s after the clock was put right")
    at_b = probe.use_cases(agency_b)[key(agency_a, uids[0])]
    assert (at_b.version, at_b.title) == (2, "Edited on the right clock")
