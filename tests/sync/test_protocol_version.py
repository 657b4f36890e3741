"""A peer whose GET node lists no protocol version this node speaks (issue 14, item 7): it is not
synced, the reason is kept on the peer for admin, and it is not retried in a loop."""

import pytest
import responses

from registry import services as registry_services
from registry.models import UseCase
from sync import services
from sync.models import Peer, SyncRun
from tests.factories import UseCaseFactory
from tests.sync.fake_peer import PEER_URL, sync

pytestmark = pytest.mark.django_db


def publish(count: int) -> list[UseCase]:
    return [
        registry_services.save_use_case(
            UseCaseFactory.build(publication_level="network", title=f"Use case {n}")
        )
        for n in range(count)
    ]


def speaking(mocked, hub, versions) -> None:
    description = {"agency": "EMRN-HUB", "role": "hub", "protocol": versions, "feed_id": "f"}
    mocked.replace(responses.GET, PEER_URL + "federation/v1/node", json=description)


def test_a_peer_on_another_protocol_version_is_stopped_with_its_reason_not_retried(
    mocked, hub, peer
):
    publish(1)
    speaking(mocked, hub, ["2"])
    outcome = sync(peer)
    assert outcome.retry_in is None and [run.direction for run in outcome.runs] == ["push"]
    assert hub.posts == 0 and hub.since_seen == []
    peer.refresh_from_db()
    assert "speaks protocol version(s) ['2'], this node 1" in peer.stopped_reason
    assert peer.next_attempt_at is None and not peer.is_due()
    assert services.due_peer_ids() == []
    assert sync(peer).skipped == "not due" and SyncRun.objects.count() == 1


def test_a_stopped_peer_syncs_again_once_it_speaks_our_version_and_an_admin_asks(mocked, hub, peer):
    publish(1)
    speaking(mocked, hub, ["2"])
    sync(peer)
    speaking(mocked, hub, ["1", "2"])
    assert sync(peer, force=True).ok
    peer.refresh_from_db()
    assert peer.stopped_reason == "" and hub.posts == 1


def test_a_new_url_clears_the_protocol_stop(peer):
    Peer.objects.filter(pk=peer.pk).update(stopped_reason="speaks 2")
    peer.refresh_from_db()
    peer.url = "http://127.0.0.1:10/"
    peer.save()
    assert peer.stopped_reason == "" and peer.is_due()


NOT_NODE_DESCRIPTIONS = {
    "a health endpoint": {"status": "ok"},
    "a maintenance page as JSON": {"message": "Back soon", "protocol": "maintenance"},
    "an empty list": {"agency": "EMRN-HUB", "role": "hub", "protocol": []},
    "versions that are not strings": {"agency": "EMRN-HUB", "role": "hub", "protocol": [1]},
}


@pytest.mark.parametrize("case", NOT_NODE_DESCRIPTIONS)
def test_a_json_answer_that_is_no_node_description_backs_off_and_never_stops_the_peer(
    mocked, hub, peer, case
):
    publish(1)
    mocked.replace(responses.GET, PEER_URL + "federation/v1/node", json=NOT_NODE_DESCRIPTIONS[case])
    outcome = sync(peer)
    assert outcome.retry_in is not None, "backed off, to be retried"
    assert hub.posts == 0 and hub.since_seen == []
    peer.refresh_from_db()
    assert peer.stopped_reason == "" and "lists no protocol versions" in peer.last_error
    assert peer.next_attempt_at is not None
