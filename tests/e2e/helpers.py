"""What the end-to-end tests do to and read from running nodes."""

import json
import time
from collections.abc import Callable

from federation import probe
from federation.launcher import Node

SHARED = ("network", "public")
# A failed cycle backs off for 15-30 s (sync.services), so recovery takes about that long.
RECOVERY_SECONDS = 150


def act(node: Node, op: str, **args):
    """Run tests/e2e/node_actions.py's `op` inside `node` and return its JSON result."""
    code = (
        "import json; from tests.e2e.node_actions import run; "
        f"run({op!r}, json.loads({json.dumps(args)!r}))"
    )
    output = node.shell(code)
    return json.loads(output.strip().splitlines()[-1])


def wait_until(check: Callable[[], object], *, timeout: float, what: str, every: float = 0.5):
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def shared_versions(origin_node: Node) -> dict[tuple[str, str], int]:
    """What the network should hold of an agency: its network/public records and versions."""
    origin = origin_node.config.agency
    return {
        key: held.version
        for key, held in probe.use_cases(origin_node, origin).items()
        if held.publication_level in SHARED
    }


def held_versions(node: Node, origin: str) -> dict[tuple[str, str], int]:
    return {key: held.version for key, held in probe.use_cases(node, origin).items()}


def converged(origin_node: Node, *followers: Node) -> bool:
    """Every follower holds exactly the origin's shared records at the origin's versions, and
    the hub's feed serves the origin's feed entry for entry (tombstones included)."""
    origin = origin_node.config.agency
    want = shared_versions(origin_node)
    if any(held_versions(node, origin) != want for node in followers):
        return False
    origin_feed = probe.feed(origin_node, origin)
    return all(
        probe.feed(node, origin) == origin_feed for node in followers if node.config.role == "hub"
    )


def wait_converged(origin_node: Node, *followers: Node, timeout: float = 90) -> None:
    wait_until(
        lambda: converged(origin_node, *followers),
        timeout=timeout,
        what=f"{', '.join(n.config.agency for n in followers)} to converge on "
        f"{origin_node.config.agency}",
    )


def key(node: Node, uid: str) -> tuple[str, str]:
    return (node.config.agency, uid.replace("-", "").lower())


def assert_nothing_applied_twice(proxy) -> None:
    """The hub answered `applied` at most once for every (origin, uid, version) it was sent."""
    twice = {k: n for k, n in proxy.applied_counts().items() if n > 1}
    assert twice == {}
