"""A small fault-injecting HTTP proxy between agency A and the hub: the one seam the end-to-end
tests allow. It forwards everything unchanged, and on request answers a chosen POST with a 500
(without forwarding it), or forwards a POST and then holds the answer past the client's timeout
(the hub applied the batch, the agency never hears so), or slows every POST down. It records
what the hub answered to every pushed envelope, so a test can count how often each version was
applied."""

import contextlib
import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHANGES_PATH = "/federation/v1/changes"
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
        self._server.shutdown()
        self._server.server_close()

    def arm(self, *, fail=(), hold_from=None, hold_seconds=0.0, delay_seconds=0.0) -> None:
        """Faults counted from now: fail=(2,) fails the second POST from here on."""
        with self._lock:
            self.plan = Plan(
                fail={self._posts + n for n in fail},
                hold_from=None if hold_from is None else self._posts + hold_from,
                hold_seconds=hold_seconds,
                delay_seconds=delay_seconds,
            )

    def disarm(self) -> None:
        with self._lock:
            self.plan = Plan()

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
            self._relay(b"")

        def do_POST(self):
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
            proxy._record(Push(number, "held" if held else "forwarded", status, results))
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
