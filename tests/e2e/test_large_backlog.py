"""A large backlog through real processes (issue 14, item 8): agency A publishes 3,000 records in
one transaction; they travel to the hub (through the fault proxy) and on to agency B in pages of
50, and B's worker is killed with SIGKILL in the middle of its pull and started again. The
network converges, and both receivers applied each record exactly once: the hub's own answers
(the proxy's record of them, and its ledger of A's pushes), and B's sync runs, whose counts are
saved with each page, so the killed run counts what it committed and nothing more. The
federation is the fault scenarios' (tests/e2e/conftest.py), whose pages are of 50."""

import time

import pytest

from federation import probe
from federation.launcher import Node
from tests.e2e.conftest import FAULTS_PAGE
from tests.e2e.helpers import RECOVERY_SECONDS, assert_nothing_applied_twice, wait_converged

pytestmark = pytest.mark.e2e

RECORDS = 3000


@pytest.fixture(scope="module")
def network(faults_network):
    return faults_network


def publish_in_one_transaction(node: Node, count: int) -> None:
    """What an inventory import does: every record written in one transaction."""
    node.shell(
        "from django.db import transaction\n"
        "from tests.e2e.node_actions import create\n"
        "with transaction.atomic():\n"
        f"    create(count={count}, level='network', title='Backlog')\n",
        timeout=600,
    )


def held_of(node: Node, origin: str) -> int:
    """A count, not the rows: it is polled while B applies thousands of them."""
    with probe._cursor(node) as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM registry_usecase WHERE origin = {probe._placeholder(node)}",
            [origin],
        )
        return int(cursor.fetchone()[0])


def applied_at_hub(hub: Node, agency: str) -> int:
    """The hub's ledger (sync.models.PeerExchange): what it applied of the agency's pushes."""
    with probe._cursor(hub) as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(applied), 0) FROM sync_peerexchange"
            f" WHERE agency = {probe._placeholder(hub)} AND direction = 'push'",
            [agency],
        )
        return int(cursor.fetchone()[0])


def test_three_thousand_records_converge_through_a_worker_killed_mid_pull_each_applied_once(
    hub, agency_a, agency_b, proxy
):
    origin = agency_a.config.agency
    wait_converged(agency_a, hub, agency_b, timeout=RECOVERY_SECONDS)  # counts from a still network
    pulled_before = probe.run_totals(agency_b, "pull")
    received_before = probe.counts(agency_b)["received"]
    hub_applied_before = applied_at_hub(hub, origin)
    held_before = held_of(agency_b, origin)
    started = time.monotonic()
    publish_in_one_transaction(agency_a, RECORDS)
    published = time.monotonic()

    deadline = time.monotonic() + RECOVERY_SECONDS
    while held_of(agency_b, origin) < held_before + RECORDS // 5 and time.monotonic() < deadline:
        time.sleep(0.5)
    agency_b.kill_process("worker")
    held_at_kill = held_of(agency_b, origin) - held_before
    assert RECORDS // 5 <= held_at_kill < RECORDS, f"the kill missed the pull ({held_at_kill})"
    agency_b.start_process("worker")

    wait_converged(agency_a, hub, agency_b, timeout=RECOVERY_SECONDS * 2)
    converged = time.monotonic()
    print(
        f"\n{RECORDS} records in pages of {FAULTS_PAGE}: published in {published - started:.1f}s, "
        f"converged {converged - published:.1f}s later (B's worker killed at {held_at_kill})"
    )
    assert_nothing_applied_twice(proxy)
    assert applied_at_hub(hub, origin) - hub_applied_before == RECORDS
    pulled = probe.run_totals(agency_b, "pull")
    assert pulled["applied"] - pulled_before["applied"] == RECORDS, (pulled_before, pulled)
    assert probe.counts(agency_b)["received"] - received_before == RECORDS
    assert pulled["rejected"] == pulled_before["rejected"], (pulled_before, pulled)
