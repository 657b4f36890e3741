"""Issue 12.1 end to end: the real hub pulls from a real impostor process and applies nothing.

The impostor is this file run as a script: a small HTTP server that answers GET node with the
description it is given and serves, at version 2147483647, a forged copy of a record that
DE-BFARM truly owns (the hub holds it at a low version). The hub's admin configured the peer as
an agency (NL-CBG, pulled to reconcile): whoever answers at that URL may not make itself the hub
or EMA, may not speak for DE-BFARM, and may not leap a record's version.

Run as: python tests/e2e/test_forged_identity.py PORT NODE_JSON FEED_JSON
"""

import json
import subprocess
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_INT = 2147483647
CONFIGURED = "NL-CBG"


def serve(port: int, node: dict, feed: list[dict]) -> None:
    class Impostor(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path.startswith("/federation/v1/node"):
                body = node
            elif self.path.startswith("/federation/v1/changes"):
                body = {"changes": feed, "next": str(len(feed)), "more": False}
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Impostor).serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3]))
    raise SystemExit(0)


import pytest  # noqa: E402 (the script above runs without the test dependencies)

from federation import processes  # noqa: E402
from registry.canonical import record_hash  # noqa: E402
from tests.e2e.helpers import act, wait_until  # noqa: E402
from tests.factories import valid_record  # noqa: E402

pytestmark = pytest.mark.e2e


def node_description(agency: str, role: str) -> dict:
    return {"agency": agency, "role": role, "protocol": ["1"], "schema_version": 1,
            "feed_id": "00000000-0000-4000-8000-000000000001"}  # fmt: skip


def forged(origin: str, uid: str) -> dict:
    """A well-formed envelope (true hash) at the highest version the database can hold."""
    record = valid_record(title="Taken over", publication_level="network")
    return {"origin": origin, "uid": uid, "version": MAX_INT, "modified": "2026-11-29T10:00:00Z",
            "deleted": False, "hash": record_hash(record), "record": record, "seq": 1}  # fmt: skip


def start_impostor(node: dict, feed: list[dict]) -> tuple[subprocess.Popen, str]:
    port = processes.free_port()
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__)), str(port), json.dumps(node), json.dumps(feed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"

    def answers():
        try:
            return urllib.request.urlopen(url + "federation/v1/node", timeout=1).status == 200
        except OSError:
            return False

    wait_until(answers, timeout=15, what="the impostor to answer")
    return process, url


PULL_ONCE = """
import json
from sync import services
from sync.models import Peer
peer, _ = Peer.objects.update_or_create(name="impostor", defaults=dict(
    url={url!r}, token="leaked-or-guessed", agency={agency!r}, push=False, enabled=False))
run = services.sync_peer(peer, force=True).runs[-1]
counts = dict(run.counts(), error=run.error, pages=run.pages)
peer.delete()
print(json.dumps(counts))
"""


def pull_once(hub, url: str) -> dict:
    output = hub.shell(PULL_ONCE.format(url=url, agency=CONFIGURED))
    return json.loads(output.strip().splitlines()[-1])


def held_version(node, origin: str, uid: str):
    code = (
        "from registry.models import UseCase; "
        f"print(UseCase.objects.filter(origin_id={origin!r}, uid={uid!r})"
        ".values_list('version', flat=True).first())"
    )
    return node.shell(code).strip().splitlines()[-1]


@pytest.fixture(scope="module")
def owned_record(network):
    """A record of DE-BFARM that the hub holds (version 1)."""
    hub, agency_b = network.federation.hub, network.federation.nodes["DE-BFARM"]
    [uid] = act(agency_b, "create", count=1, level="network", title="Owned by DE-BFARM")
    wait_until(lambda: held_version(hub, "DE-BFARM", uid) == "1", timeout=90, what="the hub copy")
    return uid


def test_the_hub_refuses_a_peer_that_claims_to_be_ema_and_the_hub(hub, owned_record):
    feed = [forged("DE-BFARM", owned_record)]
    impostor, url = start_impostor(node_description("EMA", "hub"), feed)
    try:
        run = pull_once(hub, url)
    finally:
        impostor.kill()
        impostor.wait()
    assert "IdentityMismatch" in run["error"] and "EMA (hub)" in run["error"]
    assert (run["applied"], run["pages"]) == (0, 0)
    assert held_version(hub, "DE-BFARM", owned_record) == "1"


def test_a_peer_that_tells_the_truth_still_cannot_speak_for_others_or_leap_versions(
    hub, owned_record
):
    own_uid = "6f1c2a8e-1a8d-4c51-9d4f-8d3e2f1b7c10"
    feed = [forged("DE-BFARM", owned_record), forged(CONFIGURED, own_uid)]
    impostor, url = start_impostor(node_description(CONFIGURED, "agency"), feed)
    try:
        run = pull_once(hub, url)
    finally:
        impostor.kill()
        impostor.wait()
    assert run["error"] == ""
    assert (run["applied"], run["rejected"]) == (0, 2), "other origin, then the version leap"
    assert held_version(hub, "DE-BFARM", owned_record) == "1"
    assert held_version(hub, CONFIGURED, own_uid) == "None"


def test_the_true_owner_goes_on_editing_after_the_attempt(hub, agency_b, owned_record):
    version = act(agency_b, "edit", uid=owned_record, title="Edited by its owner")
    wait_until(
        lambda: held_version(hub, "DE-BFARM", owned_record) == str(version),
        timeout=90,
        what="the owner's edit at the hub",
    )
