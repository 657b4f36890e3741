"""Within one sync interval: a record published at agency A reaches the hub as soon as it is
committed (A queues a push; its periodic cycle here is an hour away), and agency B with its next
periodic pull. The federation is its own, with an hour's interval everywhere but at B."""

import pytest

from federation import probe
from tests.e2e.conftest import running_network
from tests.e2e.helpers import act, key, wait_until

pytestmark = pytest.mark.e2e

HOUR = 3600
B_INTERVAL_SECONDS = 5
# Beat notices a changed schedule within its 5 s loop; the pull itself takes a second or two.
SLACK_SECONDS = 15


@pytest.fixture(scope="module")
def network(tmp_path_factory, marker):
    run_dir = tmp_path_factory.mktemp("soon")
    # The Redis databases of the worker-crash federation: the two never run at the same time.
    with running_network(run_dir, f"{marker}-soon", broker_shift=3, interval=HOUR) as network:
        yield network


def test_a_published_record_reaches_the_hub_at_once_and_the_other_agency_within_its_interval(
    hub, agency_a, agency_b
):
    act(agency_b, "set_sync_interval", seconds=B_INTERVAL_SECONDS)
    uid = act(agency_a, "create", count=1, level="network", title="Pushed as it is published")[0]

    wait_until(
        lambda: key(agency_a, uid) in probe.use_cases(hub),
        timeout=SLACK_SECONDS,
        what="the hub to receive the record long before A's hourly sync",
    )
    wait_until(
        lambda: key(agency_a, uid) in probe.use_cases(agency_b),
        timeout=B_INTERVAL_SECONDS + SLACK_SECONDS,
        what="agency B to pull the record within its interval",
    )
