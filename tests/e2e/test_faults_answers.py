"""Answers that are not answers, between real processes (issue 14, items 2, 3 and 7): the proxy in
front of the hub drips agency A's answers a byte at a time, or never finishes them, or answers a
200 that is not what PROTOCOL.md says, or describes the hub on another protocol version. Each
time A's run fails within its deadline, nothing of the answer is applied or acknowledged, A
backs off (or, on another protocol version, stops and says why in admin), and once the fault is
gone an admin's "Sync now" brings the network together again."""

import time

import pytest

from federation import probe
from tests.e2e.conftest import HTTP_TIMEOUT_SECONDS, INTERVAL_SECONDS
from tests.e2e.helpers import (
    act,
    assert_nothing_applied_twice,
    key,
    wait_converged,
    wait_until,
)

pytestmark = pytest.mark.e2e

FAULT_SECONDS = 60  # the fault is met at A's next cycle (2 s) and fails within 3 s
LATE = f"no complete answer within {HTTP_TIMEOUT_SECONDS} s"

PULL_FAULTS = {
    "drip": LATE,
    "hang": LATE,
    "html": "the answer is not JSON (text/html",
    "truncate": "the answer is not JSON",
    "no_next": "lacks its 'next' cursor",
    "repeat_cursor": "hands back the cursor it was asked for",
}
PUSH_FAULTS = {
    "drip": LATE,
    "fewer": "results for",
}


def failed_with(node, words: str):
    state = probe.hub_sync(node)
    return state if words in state["last_error"] else None


def recover(proxy, node) -> None:
    proxy.disarm()
    act(node, "sync_hub_now")  # instead of waiting out the back-off (15-30 s)


@pytest.mark.parametrize("spoil", PULL_FAULTS)
def test_a_pulled_page_that_is_not_an_answer_applies_nothing_and_backs_off(
    hub, agency_a, agency_b, proxy, spoil
):
    words = PULL_FAULTS[spoil]
    wait_converged(agency_b, hub, agency_a)
    # A has pulled at least once (repeat_cursor hands back a cursor, so it needs one).
    pull_cursor = wait_until(
        lambda: probe.hub_sync(agency_a)["pull_cursor"], timeout=30, what="A's first pull"
    )
    spoiled_before = proxy.spoiled_count()  # the proxy counts for the whole session
    proxy.arm(spoil=spoil, spoil_method="GET")
    try:  # the federation lives on: whatever fails here, the next test finds it healthy
        uids = act(agency_b, "create", count=3, level="network", title=f"Pulled past a {spoil}")
        wait_until(
            lambda: key(agency_b, uids[-1]) in probe.use_cases(hub),
            timeout=FAULT_SECONDS,
            what="agency B's records to reach the hub",
        )
        state = wait_until(
            lambda: failed_with(agency_a, words),
            timeout=FAULT_SECONDS,
            what=f"agency A's pull to fail on a {spoil} answer with {words!r}",
        )
        assert proxy.spoiled_count() > spoiled_before, "this case's answers were spoiled"
        assert state["waiting"], "A backs off before it tries again"
        at_a = probe.use_cases(agency_a, agency_b.config.agency)
        assert not any(key(agency_b, uid) in at_a for uid in uids), "nothing applied from it"
        assert probe.hub_sync(agency_a)["pull_cursor"] == pull_cursor
    finally:
        recover(proxy, agency_a)
    wait_converged(agency_b, hub, agency_a, timeout=FAULT_SECONDS)


@pytest.mark.parametrize("spoil", PUSH_FAULTS)
def test_a_push_answer_that_is_not_an_answer_acknowledges_nothing_and_backs_off(
    hub, agency_a, agency_b, proxy, spoil
):
    words = PUSH_FAULTS[spoil]
    wait_converged(agency_a, hub, agency_b)
    push_cursor = probe.hub_sync(agency_a)["push_cursor"]
    pushes_before = len(proxy.outcomes())  # the proxy records for the whole session
    proxy.arm(spoil=spoil, spoil_method="POST")
    try:  # the federation lives on: whatever fails here, the next test finds it healthy
        act(agency_a, "create", count=3, level="network", title=f"Pushed past a {spoil}")
        state = wait_until(
            lambda: failed_with(agency_a, words),
            timeout=FAULT_SECONDS,
            what=f"agency A's push to fail on a {spoil} answer with {words!r}",
        )
        assert "spoiled" in proxy.outcomes()[pushes_before:], "this case's pushes were spoiled"
        assert state["waiting"] and state["push_cursor"] == push_cursor, "nothing acknowledged"
    finally:
        recover(proxy, agency_a)
    wait_converged(agency_a, hub, agency_b, timeout=FAULT_SECONDS)
    assert_nothing_applied_twice(proxy)  # the hub answers `unchanged` to the batch sent again


def test_a_hub_on_another_protocol_version_is_not_synced_and_admin_says_why(
    hub, agency_a, agency_b, proxy
):
    proxy.arm(spoil="other_protocol")
    try:  # the federation lives on: whatever fails here, the next test finds it healthy
        state = wait_until(
            lambda: (s := probe.hub_sync(agency_a))["stopped_reason"] and s,
            timeout=FAULT_SECONDS,
            what="agency A to stop syncing with a hub on protocol 2",
        )
        assert "speaks protocol version(s) ['2'], this node 1" in state["stopped_reason"]
        assert not state["waiting"], "no back-off to wait out: it is not retried"
        uid = act(agency_a, "create", count=1, level="network", title="Not sent to protocol 2")[0]
        asked, runs = proxy.spoiled_count(), state["runs"]
        # Three of A's cycles (and the push its new record asks for) pass without a request to it.
        time.sleep(3 * INTERVAL_SECONDS + 1)
        assert proxy.spoiled_count() == asked and probe.hub_sync(agency_a)["runs"] == runs
        assert key(agency_a, uid) not in probe.use_cases(hub)
        assert act(agency_a, "hub_peer_admin_shows", text=state["stopped_reason"])
    finally:
        recover(proxy, agency_a)
    wait_converged(agency_a, hub, agency_b, timeout=FAULT_SECONDS)
    assert probe.hub_sync(agency_a)["stopped_reason"] == ""
