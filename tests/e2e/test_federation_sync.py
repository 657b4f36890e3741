"""A record's whole life at agency A reaches the hub and agency B through real processes: web
servers, Celery workers and beat, HTTP on 127.0.0.1, one database per node."""

import pytest

from federation import probe
from tests.e2e.helpers import act, key, wait_converged

pytestmark = pytest.mark.e2e


def test_create_edit_withdraw_delete_and_republish_converge_at_hub_and_other_agency(
    hub, agency_a, agency_b
):
    shared = act(agency_a, "create", count=3, level="network", title="Lifecycle")
    public = act(agency_a, "create", count=1, level="public", title="Lifecycle public")[0]
    wait_converged(agency_a, hub, agency_b)
    assert probe.use_cases(agency_b)[key(agency_a, public)].version == 1

    edited, withdrawn, deleted = shared
    assert act(agency_a, "edit", uid=edited, title="Lifecycle, renamed") == 2
    assert act(agency_a, "withdraw", uid=withdrawn) == 2
    act(agency_a, "delete", uid=deleted)
    wait_converged(agency_a, hub, agency_b)
    at_b = probe.use_cases(agency_b)
    assert at_b[key(agency_a, edited)].title == "Lifecycle, renamed"
    assert key(agency_a, withdrawn) not in at_b
    assert key(agency_a, deleted) not in at_b
    hub_feed = probe.feed(hub)
    assert hub_feed[key(agency_a, withdrawn)].deleted
    assert hub_feed[key(agency_a, deleted)].deleted
    assert hub_feed[key(agency_a, deleted)].version == 2

    assert act(agency_a, "publish", uid=withdrawn) == 3
    wait_converged(agency_a, hub, agency_b)
    assert probe.use_cases(agency_b)[key(agency_a, withdrawn)].version == 3
    assert not probe.feed(hub)[key(agency_a, withdrawn)].deleted


def test_drafts_and_internal_records_never_leave_their_agency(hub, agency_a, agency_b):
    draft = act(agency_a, "create", count=1, level="draft", title="Private draft")[0]
    internal = act(agency_a, "create", count=1, level="internal", title="Internal only")[0]
    # A shared record created after them: once it has arrived, the others had their chance.
    marker = act(agency_a, "create", count=1, level="network", title="Arrives last")[0]
    wait_converged(agency_a, hub, agency_b)

    assert key(agency_a, marker) in probe.use_cases(agency_b)
    for node in (hub, agency_b):
        for uid in (draft, internal):
            assert key(agency_a, uid) not in probe.use_cases(node)
            assert key(agency_a, uid) not in probe.feed(node)
    assert key(agency_a, draft) not in probe.feed(agency_a)


def test_records_of_both_agencies_meet_at_each_of_them(hub, agency_a, agency_b):
    from_a = act(agency_a, "create", count=2, level="network", title="From A")
    from_b = act(agency_b, "create", count=2, level="network", title="From B")
    wait_converged(agency_a, hub, agency_b)
    wait_converged(agency_b, hub, agency_a)
    assert {key(agency_b, uid) for uid in from_b} <= set(probe.use_cases(agency_a))
    assert {key(agency_a, uid) for uid in from_a} <= set(probe.use_cases(agency_b))
