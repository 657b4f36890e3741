"""A small fault-injecting HTTP proxy between agency A and the hub: the one seam the end-to-end
tests allow. It forwards everything unchanged, and on request answers a chosen POST with a 500
(without forwarding it), or forwards a POST and then holds the answer past the client's timeout
(the hub applied the batch, the agency never hears so), or slows every POST down. It records
what the hub answered to every pushed envelope, so a test can count how often each version was
applied.

It also spoils answers on request (`arm(spoil=...)`, see SPOILS): it forwards the request, then
drips the answer a byte at a time, or sends its headers and never its body, or answers a 200 that
is not an answer (an HTML page, truncated JSON, a page without `next`, a page that hands back
the cursor it was asked for with `more: true`, a push answer with one result too few, a node
description on another protocol version)."""

import contextlib
import http.client
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHANGES_PATH = "/federation/v1/changes"
NODE_PATH = "/federation/v1/node"
# What each spoil does to the answer, and the requests it applies to (method, path).
SPOILS = {
    "drip": "the answer one byte every drip_seconds",
    "hang": "the headers, then nothing until the client gives up",
    "html": "a 200 HTML page, as from a proxy's login or error page",
    "truncate": "the first half of the JSON",
    "no_next": "the changes page without its 'next'",
    "repeat_cursor": "the changes page with the cursor asked for as 'next' and 'more': true",
    "fewer": "the push results without the last one",
    "other_protocol": "the node description with protocol ['2'] only",
}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


@dataclass
class Plan:
    fail: set[int] = field(default_factory=set)  # POST numbers answered 500, never forwarded
    # From this POST number on, the first answer in which the hub applied something is withheld
    # (pushes run several pages in flight, so which POST carries new work is not fixed).
    hold_from: int | None = None
    hold_seconds: float = 0.0
    held: bool = False
    delay_seconds: float = 0.0  # before forwarding every POST
    spoil: str = ""  # one of SPOILS, for requests with spoil_method to the changes (or node) path
    spoil_method: str = "GET"
    drip_seconds: float = 0.5


@dataclass
class Push:
    number: int
    outcome: str  # "forwarded", "failed", "held", "unreachable"
    http_status: int = 0
    # (origin, uid, version, status) per envelope, as the hub answered
    results: list[tuple[str, str, int, str]] = field(default_factory=list)


class FaultProxy:
    def __init__(self, target_port: int):
        self.target_port = target_port
        self.plan = Plan()
        self.pushes: list[Push] = []
        self.unreachable = 0
        self.spoiled = 0  # answers spoiled since the proxy started
        # Requests to the changes path being handled now, and the most there ever were at once,
        # per method: one sync pushes at most SYNC_PUSH_CONCURRENCY pages at once, pulls one.
        self.in_flight = {"GET": 0, "POST": 0}
        self.most_in_flight = {"GET": 0, "POST": 0}
        self._released = threading.Event()  # ends every hanging answer
        self._posts = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FaultProxy":
        self._thread.start()
        return self

    def close(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def arm(
        self,
        *,
        fail=(),
        hold_from=None,
        hold_seconds=0.0,
        delay_seconds=0.0,
        spoil="",
        spoil_method="GET",
        drip_seconds=0.5,
    ) -> None:
        """Faults counted from now: fail=(2,) fails the second POST from here on; spoil="html"
        spoils every answer to spoil_method on the changes path (GET node for other_protocol)."""
        if spoil and spoil not in SPOILS:
            raise ValueError(f"no such spoil: {spoil}")
        with self._lock:
            self._released.clear()
            self.plan = Plan(
                fail={self._posts + n for n in fail},
                hold_from=None if hold_from is None else self._posts + hold_from,
                hold_seconds=hold_seconds,
                delay_seconds=delay_seconds,
                spoil=spoil,
                spoil_method=spoil_method,
                drip_seconds=drip_seconds,
            )

    def disarm(self) -> None:
        with self._lock:
            self.plan = Plan()
            self._released.set()

    @contextlib.contextmanager
    def _handling(self, method: str, path: str):
        counted = path.startswith(CHANGES_PATH)
        with self._lock:
            if counted:
                self.in_flight[method] += 1
                self.most_in_flight[method] = max(
                    self.most_in_flight[method], self.in_flight[method]
                )
        try:
            yield
        finally:
            with self._lock:
                if counted:
                    self.in_flight[method] -= 1

    def spoiled_count(self) -> int:
        with self._lock:
            return self.spoiled

    def post_count(self) -> int:
        with self._lock:
            return self._posts

    def applied_counts(self) -> dict[tuple[str, str, int], int]:
        """How many times the hub answered `applied` for each (origin, uid, version)."""
        counts: dict[tuple[str, str, int], int] = {}
        with self._lock:
            for push in self.pushes:
                for origin, uid, version, status in push.results:
                    if status == "applied":
                        key = (origin, uid, version)
                        counts[key] = counts.get(key, 0) + 1
        return counts

    def outcomes(self) -> list[str]:
        with self._lock:
            return [push.outcome for push in self.pushes]

    # --- called from the handler threads -----------------------------------------------------

    def _next_post(self) -> tuple[int, Plan]:
        with self._lock:
            self._posts += 1
            return self._posts, self.plan

    def _take_hold(self, number: int, plan: Plan, results) -> bool:
        with self._lock:
            due = plan.hold_from is not None and number >= plan.hold_from and not plan.held
            if due and any(status == "applied" for *_, status in results):
                plan.held = True
                return True
            return False

    def _spoil_for(self, method: str, path: str) -> str:
        """The spoil to apply to this request's answer, counted, or "" to forward it as is."""
        with self._lock:
            spoil = self.plan.spoil
            wanted = NODE_PATH if spoil == "other_protocol" else CHANGES_PATH
            if not spoil or method != self.plan.spoil_method or not path.startswith(wanted):
                return ""
            if spoil == "repeat_cursor" and "since=" not in path:
                return ""  # the first page: there is no cursor to hand back yet
            self.spoiled += 1
            return spoil

    def _record(self, push: Push) -> None:
        with self._lock:
            self.pushes.append(push)

    def _forward(self, method: str, path: str, headers, body: bytes):
        conn = http.client.HTTPConnection("127.0.0.1", self.target_port, timeout=60)
        try:
            wanted = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(method, path, body=body or None, headers=wanted)
            answer = conn.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            conn.close()


def _handler_for(proxy: FaultProxy):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # the test output stays readable
            pass

        def do_GET(self):
            with proxy._handling("GET", self.path):
                self._get()

        def _get(self):
            spoil = proxy._spoil_for("GET", self.path)
            if not spoil:
                self._relay(b"")
                return
            try:
                status, headers, answer = proxy._forward("GET", self.path, self.headers, b"")
            except OSError:
                self._answer(502, [("Content-Type", "text/plain")], b"hub unreachable")
                return
            self._spoiled(spoil, status, headers, answer)

        def do_POST(self):
            with proxy._handling("POST", self.path):
                self._post()

        def _post(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.startswith(CHANGES_PATH):
                self._relay(body)
                return
            number, plan = proxy._next_post()
            if number in plan.fail:
                proxy._record(Push(number, "failed", 500))
                self._answer(500, [("Content-Type", "text/plain")], b"injected failure")
                return
            if plan.delay_seconds:
                time.sleep(plan.delay_seconds)  # the injected fault: a slow hub
            try:
                status, headers, answer = proxy._forward("POST", self.path, self.headers, body)
            except OSError:
                proxy._record(Push(number, "unreachable"))
                self._answer(502, [("Content-Type", "text/plain")], b"hub unreachable")
                return
            results = _results(body, answer)
            held = proxy._take_hold(number, plan, results)
            spoil = "" if held else proxy._spoil_for("POST", self.path)
            outcome = "held" if held else "spoiled" if spoil else "forwarded"
            proxy._record(Push(number, outcome, status, results))
            if spoil:
                self._spoiled(spoil, status, headers, answer)
                return
            if held:
                time.sleep(plan.hold_seconds)  # past the client's timeout: it gives up
                self.close_connection = True
                return
            self._answer(status, headers, answer)

        def _relay(self, body: bytes):
            try:
                status, headers, answer = proxy._forward(
                    self.command, self.path, self.headers, body
                )
            except OSError:
                with proxy._lock:
                    proxy.unreachable += 1
                self._answer(502, [("Content-Type", "text/plain")], b"hub unreachable")
                return
            self._answer(status, headers, answer)

        def _spoiled(self, spoil: str, status: int, headers, answer: bytes):
            if spoil == "drip":
                self._drip(status, headers, answer)
                return
            if spoil == "hang":
                self._hang(status, headers, len(answer))
                return
            json_type = [("Content-Type", "application/json")]
            if spoil == "html":
                page = b"<!doctype html><html><body><h1>Sign in to the proxy</h1></body></html>"
                self._answer(200, [("Content-Type", "text/html; charset=utf-8")], page)
                return
            if spoil == "truncate":
                self._answer(200, json_type, answer[: len(answer) // 2])
                return
            data = json.loads(answer)
            if spoil == "no_next":
                data.pop("next", None)
            elif spoil == "repeat_cursor":
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                data["next"], data["more"] = query["since"][0], True
            elif spoil == "fewer":
                results = data["results"] if isinstance(data, dict) else data
                del results[-1:]
            elif spoil == "other_protocol":
                data["protocol"] = ["2"]
            self._answer(200, json_type, json.dumps(data).encode("utf-8"))

        def _head(self, status: int, headers, length: int):
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(length))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True

        def _drip(self, status: int, headers, body: bytes):
            self._head(status, headers, len(body))
            for offset in range(len(body)):
                if proxy._released.wait(proxy.plan.drip_seconds):
                    return  # disarmed: the test is over with this answer
                try:
                    self.wfile.write(body[offset : offset + 1])
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up: what the test wants

        def _hang(self, status: int, headers, length: int):
            self._head(status, headers, length)
            proxy._released.wait(120)

        def _answer(self, status: int, headers, body: bytes):
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            # The client may have given up (a timeout, or its worker was killed): expected here.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    return Handler


def _results(request: bytes, answer: bytes) -> list[tuple[str, str, int, str]]:
    """Pair each pushed envelope with the hub's answer for it (same order, PROTOCOL.md)."""
    try:
        sent = json.loads(request)["changes"]
        got = json.loads(answer)
    except (ValueError, KeyError, TypeError):
        return []
    results = got.get("results", []) if isinstance(got, dict) else got
    return [
        (e["origin"], str(e["uid"]).replace("-", "").lower(), e["version"], r.get("status", ""))
        for e, r in zip(sent, results, strict=False)
    ]
