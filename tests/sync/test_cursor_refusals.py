"""Which refusal of a pull cursor starts the pull over (issue 14 review, item 3): only the
peer's own problem types for a cursor it does not know (docs/protocol.md: GET changes). A 404 or
405 from a proxy in front of a hub being deployed fails the run and backs off; it must not make
every agency read, and push, everything again."""

import json

import pytest
import responses

from registry import feed
from registry import services as registry_services
from sync import protocol, services, serving
from sync.models import Checkpoint
from tests.factories import UseCaseFactory
from tests.sync.fake_peer import FakeHub

pytestmark = pytest.mark.django_db


def synced_once(mocked, peer) -> FakeHub:
    """A hub this node has pushed one record to and pulled one page from: both cursors set."""
    hub = FakeHub(mocked)
    registry_services.save_use_case(UseCaseFactory.build(publication_level="network"))
    assert services.sync_peer(peer).ok
    assert Checkpoint.objects.get(peer=peer, direction="pull").cursor
    assert Checkpoint.objects.get(peer=peer, direction="push").cursor
    return hub


def refuse_cursors(mocked, hub, status: int, body: dict, content_type: str) -> None:
    def answer(request):
        if "since=" in request.url:
            return status, {"Content-Type": content_type}, json.dumps(body)
        return hub._get(request)

    mocked.remove(responses.GET, hub.get_route.url)
    mocked.add_callback(responses.GET, hub.get_route.url, callback=answer)


PROXY_ANSWERS = {
    "404 from a proxy": (404, {"title": "Not Found", "status": 404}, "application/problem+json"),
    "405 from a proxy": (405, {"detail": "Method Not Allowed"}, "application/json"),
    "400 about:blank": (400, {"type": "about:blank", "title": "Bad request"}, "application/json"),
}


@pytest.mark.parametrize("case", PROXY_ANSWERS)
def test_another_refusal_of_the_cursor_backs_off_and_keeps_both_cursors(mocked, peer, case):
    hub = synced_once(mocked, peer)
    pull_cursor = Checkpoint.objects.get(peer=peer, direction="pull").cursor
    push_cursor = Checkpoint.objects.get(peer=peer, direction="push").cursor
    refuse_cursors(mocked, hub, *PROXY_ANSWERS[case])
    peer.refresh_from_db()
    outcome = services.sync_peer(peer, force=True)
    assert not outcome.ok and outcome.retry_in is not None
    assert Checkpoint.objects.get(peer=peer, direction="pull").cursor == pull_cursor
    assert Checkpoint.objects.get(peer=peer, direction="push").cursor == push_cursor
    assert None not in hub.since_seen[1:], "the pull did not start over"


def test_an_invalid_cursor_starts_the_pull_over_without_pushing_again(mocked, peer):
    hub = synced_once(mocked, peer)
    push_cursor = Checkpoint.objects.get(peer=peer, direction="push").cursor
    problem = {"type": protocol.CURSOR_INVALID_PROBLEM, "title": "Cursor refused", "status": 400}
    refuse_cursors(mocked, hub, 400, problem, protocol.PROBLEM_CONTENT_TYPE)
    peer.refresh_from_db()
    assert services.sync_peer(peer, force=True).ok
    assert hub.since_seen[-1] is None, "read again from the top"
    assert Checkpoint.objects.get(peer=peer, direction="push").cursor == push_cursor


def test_the_feed_answers_each_cursor_refusal_with_its_problem_type(hub_node, agency_token, pull):
    beyond = protocol.encode_cursor(feed.Position(0, 5), serving.served_feed_id())  # feed empty
    for since, problem_type in [
        (beyond, protocol.CURSOR_PAST_END_PROBLEM),
        ("1.2.forged", protocol.CURSOR_INVALID_PROBLEM),
        ("not a cursor", protocol.CURSOR_INVALID_PROBLEM),
    ]:
        answer = pull(agency_token, since=since)
        assert answer.status_code == 400
        assert answer["Content-Type"] == protocol.PROBLEM_CONTENT_TYPE
        assert answer.json()["type"] == problem_type, since
