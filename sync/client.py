"""The one place that speaks HTTP to peers (PROTOCOL.md: Endpoints).

Every failure becomes one of a few exceptions that say what the engine should do about it:
stop (AuthRejected), wait as told (PeerBusy), or back off and retry (PeerUnavailable).

Each request ends within SYNC_HTTP_TIMEOUT_SECONDS in all. requests' own timeout bounds each
wait for the socket, not the request: a peer (or a proxy in front of it) that drips its answer a
byte at a time would hold a worker, and its lease on the peer, for as long as it likes. The body
is therefore read with stream=True, one socket read at a time (urllib3's read1, decoding any
Content-Encoding the peer or its proxy applied), each read given
only the time left until the deadline, and the request fails as PeerUnavailable once the
deadline passes. This keeps requests (its sessions, TLS and proxy handling, and `responses` in
the unit tests) rather than adding a second HTTP library for one feature: httpx and urllib3 also
time each read, not the whole request. The status line and headers are read within requests'
per-read timeout (they are a few hundred bytes; dripping them is not a fault seen in practice)."""

import datetime as dt
import json
import threading
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import requests
import urllib3
from django.conf import settings

from sync import protocol

PREFIX = "federation/v1/"
MAX_RETRY_AFTER_SECONDS = 24 * 3600
READ_CHUNK_BYTES = 64 * 1024
# No answer of protocol 1 comes near this (a page is at most 1000 records, a push answer one
# short result per envelope): a peer that sends more is not answering.
MAX_ANSWER_BYTES = 64 * 1024 * 1024


class PeerError(Exception):
    def __init__(self, message: str, *, status: int | None = None, problem_type: str = ""):
        super().__init__(message)
        self.status = status
        self.problem_type = problem_type  # an RFC 9457 problem's "type", if the answer was one


class PeerUnavailable(PeerError):
    """Network error, timeout, 5xx or an answer we cannot read: back off and retry."""


class AuthRejected(PeerError):
    """401/403: the token is wrong or revoked. Retrying will not help."""


class PeerBusy(PeerUnavailable):
    """429/503 with Retry-After: come back after `retry_after` seconds."""

    def __init__(self, message: str, *, status: int, retry_after: float):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class RequestRefused(PeerError):
    """Another 4xx: the peer refused what we sent (e.g. an expired cursor)."""


class PeerClient:
    def __init__(self, base_url: str, token: str, *, timeout: float | None = None):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.token = token
        self.timeout = timeout or settings.SYNC_HTTP_TIMEOUT_SECONDS
        # One session per thread: pushes run a few pages concurrently, and a requests.Session
        # is not documented as thread-safe.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.token}"
            session.headers["Accept"] = "application/json"
            self._local.session = session
            self._sessions.append(session)
        return session

    def node(self) -> dict:
        return _object(self._request("GET", "node"), "GET node")

    def get_changes(self, *, since: str | None, limit: int) -> dict:
        params = {"limit": limit}
        if since:
            params["since"] = since
        page = self._request("GET", "changes", params=params)
        try:
            return protocol.check_changes_page(page, limit=limit, since=since)
        except protocol.AnswerInvalid as exc:
            raise PeerUnavailable(f"GET changes: {exc}") from exc

    def post_changes(self, envelopes: list[str]) -> list[dict]:
        """Push serialized envelopes (sync.protocol.envelope_json); one result each, in order."""
        body = protocol.batch_json(envelopes)
        answer = self._request(
            "POST",
            "changes",
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        try:
            return protocol.check_push_results(answer, count=len(envelopes))
        except protocol.AnswerInvalid as exc:
            raise PeerUnavailable(f"POST changes: {exc}") from exc

    def close(self) -> None:
        for session in self._sessions:
            session.close()

    def _request(self, method: str, path: str, **kwargs) -> dict | list:
        """The peer's JSON answer (an object or a list); PeerError for anything else, within
        SYNC_HTTP_TIMEOUT_SECONDS from the start of the request (see the module's docstring)."""
        url = urljoin(self.base_url, PREFIX + path)
        what = f"{method} {url}"
        if settings.SYNC_REQUIRE_HTTPS and not url.startswith("https://"):
            raise RequestRefused(
                f"{what}: not sent: this node sends its peer token over https only "
                "(SYNC_REQUIRE_HTTPS); give the peer an https:// URL."
            )
        deadline = time.monotonic() + self.timeout
        try:
            # https peers are verified against SYNC_CA_BUNDLE (a private CA), else the default
            # bundle. Given per request: requests lets REQUESTS_CA_BUNDLE override session.verify.
            response = self.session.request(
                method,
                url,
                timeout=self.timeout,
                stream=True,
                verify=settings.SYNC_CA_BUNDLE or True,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise PeerUnavailable(f"{what}: {exc.__class__.__name__}: {exc}") from exc
        body = self._read_body(response, deadline, what)
        if response.status_code != 200:
            raise _error_for(response.status_code, response.headers, body, what)
        try:
            data = json.loads(body)
        except ValueError as exc:
            kind = response.headers.get("Content-Type", "unknown type")
            raise PeerUnavailable(f"{what}: the answer is not JSON ({kind})") from exc
        if not isinstance(data, dict | list):
            raise PeerUnavailable(f"{what}: the answer is not a JSON object")
        return data

    def _read_body(self, response: requests.Response, deadline: float, what: str) -> bytes:
        """The whole body, read before `deadline` (time.monotonic()) or PeerUnavailable."""
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PeerUnavailable(self._late(what, size))
                _wait_at_most(response, left)
                # Decoded: a hub behind a compressing proxy (Caddy's `encode gzip`, nginx's
                # gzip) answers gzip to the Accept-Encoding that requests sends. urllib3 bounds
                # each decoded read by its size, so the cap below counts decompressed bytes and
                # a small compressed answer cannot inflate past it in one read.
                chunk = response.raw.read1(READ_CHUNK_BYTES, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise PeerUnavailable(f"{what}: the answer passes {MAX_ANSWER_BYTES} bytes")
                chunks.append(chunk)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            response.close()
            if time.monotonic() >= deadline:  # the last read was given what was left, no more
                raise PeerUnavailable(self._late(what, size)) from exc
            raise PeerUnavailable(f"{what}: {exc.__class__.__name__}: {exc}") from exc
        except PeerUnavailable:
            response.close()  # the connection is mid-answer: never reuse it
            raise
        response.raw.release_conn()
        return b"".join(chunks)

    def _late(self, what: str, size: int) -> str:
        return f"{what}: no complete answer within {self.timeout:g} s ({size} bytes received)"


def _wait_at_most(response: requests.Response, seconds: float) -> None:
    """Give the next socket read no longer than `seconds` (the one left until the deadline)."""
    sock = getattr(response.raw.connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(0.001, seconds))


def _object(data: dict | list, what: str) -> dict:
    if not isinstance(data, dict):
        raise PeerUnavailable(f"{what}: the answer is not a JSON object")
    return data


def _error_for(status: int, headers, body: bytes, what: str) -> PeerError:
    message = f"{what}: HTTP {status} {_detail(body)}".strip()
    if status in (401, 403):
        return AuthRejected(message, status=status)
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if status in (429, 503) and retry_after is not None:
        return PeerBusy(message, status=status, retry_after=retry_after)
    if status >= 500 or status == 429:
        return PeerUnavailable(message, status=status)
    return RequestRefused(message, status=status, problem_type=_problem_type(body))


def _problem_type(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    return str(answer.get("type") or "") if isinstance(answer, dict) else ""


def _detail(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    if isinstance(answer, dict):
        return str(answer.get("detail") or answer.get("title") or "")[:200]
    return ""


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait, from either form of Retry-After (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
