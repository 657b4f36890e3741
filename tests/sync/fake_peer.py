"""A peer faked at the HTTP seam (sync/client.py) with `responses`: it answers like a hub would,
and remembers what it was sent."""

import json
import re
import uuid
from urllib.parse import parse_qs, urlparse

import responses

PEER_URL = "http://127.0.0.1:9/"


class FakeHub:
    def __init__(self, mocked: responses.RequestsMock, *, agency="EMRN-HUB", role="hub"):
        self.mocked = mocked
        self.agency, self.role = agency, role
        self.feed_id = str(uuid.uuid4())
        self.received: list[dict] = []  # every envelope pushed, in order, repeats included
        self.posts = 0
        self.batches: list[list[dict]] = []  # the envelopes of each answered POST
        self.feed: list[dict] = []  # envelopes the hub serves, in feed order
        self.since_seen: list[str | None] = []
        self.status_for = lambda envelope: "applied"
        self.stored_version_for = lambda envelope: None  # what a stale answer says it holds
        # Canned failures: the n-th POST (1-based), or every GET node, answers this instead.
        self.post_failures: dict[int, tuple[int, dict, str]] = {}
        # Pages go out concurrently, so "the n-th POST" is a race between pages: this answers the
        # first POST that carries the uid instead, whichever thread sends it.
        self.fail_once_for: dict[str, tuple[int, dict, str]] = {}
        self.node_failure: tuple[int, dict, str] | None = None
        mocked.add_callback(responses.GET, PEER_URL + "federation/v1/node", callback=self._node)
        self.post_route = mocked.add_callback(
            responses.POST, PEER_URL + "federation/v1/changes", callback=self._post
        )
        self.get_route = mocked.add_callback(
            responses.GET,
            re.compile(re.escape(PEER_URL) + r"federation/v1/changes.*"),
            callback=self._get,
        )

    def _node(self, request):
        if self.node_failure:
            return self.node_failure
        body = {
            "agency": self.agency,
            "role": self.role,
            "protocol": ["1"],
            "schema_version": 1,
            "feed_id": self.feed_id,
        }
        return 200, {}, json.dumps(body)

    def _post(self, request):
        self.posts += 1
        if self.posts in self.post_failures:
            return self.post_failures[self.posts]
        changes = json.loads(request.body)["changes"]
        for e in changes:
            if e["uid"] in self.fail_once_for:
                return self.fail_once_for.pop(e["uid"])
        self.received.extend(changes)
        self.batches.append(changes)
        results = []
        for e in changes:
            status = self.status_for(e)
            answer = {"origin": e["origin"], "uid": e["uid"], "status": status}
            if status == "rejected":
                answer["errors"] = {"summary": ["Too long."]}
            if status == "stale" and self.stored_version_for(e) is not None:
                answer["stored_version"] = self.stored_version_for(e)
            results.append(answer)
        return 200, {}, json.dumps({"results": results})

    def _get(self, request):
        query = parse_qs(urlparse(request.url).query)
        since = query.get("since", [None])[0]
        limit = int(query.get("limit", ["500"])[0])
        self.since_seen.append(since)
        start = int(since) if since else 0
        page = self.feed[start : start + limit]
        body = {
            "changes": [{**e, "seq": start + i + 1} for i, e in enumerate(page)],
            "next": str(start + len(page)),
            "more": start + len(page) < len(self.feed),
        }
        return 200, {}, json.dumps(body)


def sync(peer, **kwargs):
    """One sync of `peer` as stored now (services.sync_peer on a fresh read of its row)."""
    from sync import services

    peer.refresh_from_db()
    return services.sync_peer(peer, **kwargs)
