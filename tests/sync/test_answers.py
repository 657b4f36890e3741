"""Answers that are not answers (issue 14, items 2 and 3), against the client and the engine: a
peer that drips its answer or never finishes it (a real socket: `responses` cannot be slow), and
a 200 that is not what PROTOCOL.md says. Each time nothing is applied, no checkpoint moves, and
the peer backs off."""

import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import responses

from registry import services as registry_services
from registry.models import UseCase
from sync import services
from sync.client import PeerClient, PeerUnavailable
from sync.models import Checkpoint
from tests.factories import UseCaseFactory
from tests.sync.conftest import envelope
from tests.sync.fake_peer import sync

pytestmark = pytest.mark.django_db


# A total deadline per request ------------------------------------------------------------------


@contextmanager
def slow_server(body: bytes, *, every: float, headers_only: bool = False) -> Iterator[str]:
    """A one-connection-at-a-time HTTP server that sends its headers at once, then the body
    one byte every `every` seconds (or never, with headers_only)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                conn.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode())
                for byte in [] if headers_only else body:
                    if stop.wait(every):
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                stop.wait(30 if headers_only else 0)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join()
        listener.close()


PAGE = json.dumps({"changes": [], "next": "n" * 40, "more": False}).encode()


def test_an_answer_dripped_a_byte_at_a_time_fails_at_the_total_deadline():
    # Each byte comes well within the 1 s per read; the whole body would take about 6 s.
    with slow_server(PAGE, every=0.1) as url:
        client = PeerClient(url, "token", timeout=1)
        started = time.monotonic()
        with pytest.raises(PeerUnavailable, match="no complete answer within 1 s"):
            client.get_changes(since=None, limit=10)
        assert time.monotonic() - started < 3


def test_an_answer_whose_body_never_comes_fails_within_the_deadline():
    with slow_server(PAGE, every=0, headers_only=True) as url:
        client = PeerClient(url, "token", timeout=1)
        with pytest.raises(PeerUnavailable, match="GET .*changes"):
            client.get_changes(since=None, limit=10)


def test_an_answer_in_time_is_read_whole():
    with slow_server(PAGE, every=0.001) as url:
        assert PeerClient(url, "token", timeout=5).get_changes(since=None, limit=10)["next"]


# A compressing proxy in front of the hub -------------------------------------------------------


@contextmanager
def gzip_server(body: bytes) -> Iterator[str]:
    """An HTTP server that answers every request with `body` gzip-compressed, as Caddy's `encode
    gzip` or nginx's gzip do for a client that sends Accept-Encoding: gzip (requests does)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    compressed = gzip.compress(body)

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Encoding: gzip\r\nConnection: close\r\n"
                    + f"Content-Length: {len(compressed)}\r\n\r\n".encode()
                    + compressed
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_gzip_answer_from_a_compressing_proxy_is_decoded():
    with gzip_server(PAGE) as url:
        assert PeerClient(url, "token", timeout=5).get_changes(since=None, limit=10) == (
            json.loads(PAGE)
        )


def test_the_size_cap_counts_decompressed_bytes(monkeypatch):
    # 1 MB of JSON whitespace compresses to about 1 kB: the cap must see the megabyte.
    monkeypatch.setattr("sync.client.MAX_ANSWER_BYTES", 100_000)
    with (
        gzip_server(PAGE[:-1] + b" " * 1_000_000 + b"}") as url,
        pytest.raises(PeerUnavailable, match="passes 100000 bytes"),
    ):
        PeerClient(url, "token", timeout=5).get_changes(since=None, limit=10)


# A 200 that is not an answer -------------------------------------------------------------------


def publish(count: int) -> list[UseCase]:
    return [
        registry_services.save_use_case(
            UseCaseFactory.build(publication_level="network", title=f"Use case {n}")
        )
        for n in range(count)
    ]


NOT_A_PAGE = {
    "an HTML page from a proxy": ("<html><body>Welcome</body></html>", "not JSON (text/html)"),
    "truncated JSON": ('{"changes": [{"origin": "FR-ANSM", "uid', "not JSON"),
    "a page without next": ('{"changes": [], "more": false}', "lacks its 'next' cursor"),
    "a page without more": ('{"changes": [], "next": "1"}', "lacks 'more'"),
    "a page longer than asked": (None, "more than the 2 asked"),
}


@pytest.mark.parametrize("case", NOT_A_PAGE)
def test_a_pull_answer_that_is_not_a_page_applies_nothing_and_backs_off(
    mocked, hub, peer, settings, case
):
    settings.SYNC_PULL_PAGE_SIZE = 2
    peer.push = False
    peer.save()
    body, words = NOT_A_PAGE[case]
    if body is None:
        body = json.dumps({"changes": [envelope() for _ in range(3)], "next": "3", "more": True})
    content_type = "text/html" if body.startswith("<") else "application/json"
    mocked.replace(responses.GET, hub.get_route.url, body=body, content_type=content_type)
    outcome = sync(peer)
    assert words in outcome.runs[0].error and outcome.retry_in is not None
    assert not UseCase.objects.exists()
    assert Checkpoint.objects.get(peer=peer, direction="pull").cursor == ""
    peer.refresh_from_db()
    assert peer.next_attempt_at is not None and words in peer.last_error


def test_a_page_that_repeats_its_cursor_with_more_stops_the_pull_at_once(
    mocked, hub, peer, monkeypatch
):
    # Without the check only MAX_PAGES would stop it: 3 stands in for 100,000 here.
    monkeypatch.setattr(services, "MAX_PAGES", 3)
    peer.push = False
    peer.save()
    hub.feed = [envelope(origin="FR-ANSM") for _ in range(2)]
    sync(peer)  # the first page: cursor "2"
    repeat = json.dumps({"changes": [envelope(origin="FR-ANSM")], "next": "2", "more": True})
    mocked.replace(responses.GET, hub.get_route.url, body=repeat)
    outcome = sync(peer, force=True)
    assert "hands back the cursor it was asked for" in outcome.runs[0].error
    assert outcome.runs[0].pages == 0 and outcome.retry_in is not None
    assert UseCase.objects.filter(origin_id="FR-ANSM").count() == 2
    assert Checkpoint.objects.get(peer=peer, direction="pull").cursor == "2"


NOT_RESULTS = {
    "fewer results than envelopes": (lambda sent: sent[:-1], "2 results for 3 envelopes"),
    "a result without a status": (lambda sent: [*sent[:-1], {}], "result 3 has no status"),
    "no results at all": (lambda sent: {"ok": True}, "no results for 3 envelopes"),
}


@pytest.mark.parametrize("case", NOT_RESULTS)
def test_a_push_answer_that_is_not_one_result_per_envelope_acknowledges_nothing(
    mocked, hub, peer, case
):
    peer.pull = False
    peer.save()
    publish(3)
    shape, words = NOT_RESULTS[case]

    def answer(request):
        sent = [{"status": "applied"} for _ in json.loads(request.body)["changes"]]
        return 200, {}, json.dumps(shape(sent))

    mocked.remove(responses.POST, hub.post_route.url)
    mocked.add_callback(responses.POST, hub.post_route.url, callback=answer)
    outcome = sync(peer)
    assert words in outcome.runs[0].error and outcome.retry_in is not None
    assert Checkpoint.objects.get(peer=peer, direction="push").cursor == ""
    assert outcome.runs[0].applied == 0
