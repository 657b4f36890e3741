"""Faults between real processes: the hub goes away and comes back, a batch meets a 500 or a
timeout (test_worker_crash.py: the worker killed mid-batch). Each time the network converges on
agency A's state, and the hub's own answers (seen by the proxy) show that no version of any
record was applied twice."""

import pytest

from federation import probe
from tests.e2e.conftest import HTTP_TIMEOUT_SECONDS
from tests.e2e.helpers import (
    RECOVERY_SECONDS,
    act,
    assert_nothing_applied_twice,
    key,
    wait_converged,
    wait_until,
)

pytestmark = pytest.mark.e2e


def test_changes_made_while_the_hub_is_down_arrive_once_it_is_back(hub, agency_a, agency_b, proxy):
    hub.stop_process("web")
    try:
        refused_before = proxy.unreachable
        uids = act(agency_a, "create", count=5, level="network", title="Made while hub down")
        wait_until(
            lambda: proxy.unreachable > refused_before,
            timeout=30,
            what="agency A to try the hub while it is down",
        )
    finally:
        hub.start_process("web")
        hub.wait_ready()
    wait_converged(agency_a, hub, agency_b, timeout=RECOVERY_SECONDS)
    at_hub = probe.use_cases(hub)
    assert all(at_hub[key(agency_a, uid)].version == 1 for uid in uids)
    assert_nothing_applied_twice(proxy)


def test_a_500_and_a_timeout_mid_batch_lose_nothing_and_apply_nothing_twice(
    hub, agency_a, agency_b, proxy
):
    # Second push: a 500 before the hub sees it. From the fourth on, the first batch the hub
    # applies has its answer withheld past A's timeout, so A must send it again.
    proxy.arm(fail=(2,), hold_from=4, hold_seconds=HTTP_TIMEOUT_SECONDS + 2)
    act(agency_a, "create", count=45, level="network", title="Batched")
    wait_converged(agency_a, hub, agency_b, timeout=RECOVERY_SECONDS * 2)

    outcomes = proxy.outcomes()
    assert "failed" in outcomes and "held" in outcomes
    held = next(push for push in proxy.pushes if push.outcome == "held")
    applied_unheard = {(o, u, v) for o, u, v, status in held.results if status == "applied"}
    assert applied_unheard, "the withheld batch should have been applied at the hub"

    def resent() -> set[tuple[str, str, int]]:
        return {
            (o, u, v)
            for push in proxy.pushes
            if push.number > held.number
            for o, u, v, status in push.results
            if status == "unchanged"
        }

    # The hub and B converge as soon as the withheld batch is applied; A resends it only after
    # its timeout and back-off, so wait for that rather than race it.
    wait_until(
        lambda: applied_unheard <= resent(),
        timeout=RECOVERY_SECONDS,
        what="agency A to resend the batch whose answer it never heard",
    )
    assert_nothing_applied_twice(proxy)
