"""A Celery worker killed with SIGKILL in the middle of a push: after a restart the network
converges on agency A's state, and the hub's own answers (seen by the proxy) show that nothing
was applied twice. The crash gets a federation of its own (a killed worker leaves its sync lease
behind until it expires, about a minute), so the other tests never wait for it."""

import pytest

from federation import probe
from tests.e2e.conftest import running_network
from tests.e2e.helpers import (
    RECOVERY_SECONDS,
    act,
    assert_nothing_applied_twice,
    key,
    wait_converged,
    wait_until,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def network(tmp_path_factory, marker):
    run_dir = tmp_path_factory.mktemp("crash")
    with running_network(run_dir, f"{marker}-crash", broker_shift=3) as network:
        yield network


def test_a_worker_killed_mid_batch_converges_after_restart_without_duplicates(
    hub, agency_a, agency_b, proxy
):
    proxy.arm(delay_seconds=1.0)  # slow pushes, so the kill lands in the middle
    started = proxy.post_count()
    uids = act(agency_a, "create", count=60, level="network", title="Interrupted")
    wait_until(lambda: proxy.post_count() >= started + 2, timeout=60, what="agency A to be pushing")
    agency_a.kill_process("worker")
    proxy.disarm()
    at_hub = probe.use_cases(hub)
    assert not all(key(agency_a, uid) in at_hub for uid in uids), "the kill came too late"

    agency_a.start_process("worker")
    wait_converged(agency_a, hub, agency_b, timeout=RECOVERY_SECONDS)
    assert_nothing_applied_twice(proxy)
