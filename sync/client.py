"""The one place that speaks HTTP to peers (PROTOCOL.md: Endpoints).

Every failure becomes one of a few exceptions that say what the engine should do about it:
stop (AuthRejected), wait as told (PeerBusy), or back off and retry (PeerUnavailable)."""

import datetime as dt
import threading
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import requests
from django.conf import settings

from sync import protocol

PREFIX = "federation/v1/"
MAX_RETRY_AFTER_SECONDS = 24 * 3600


class PeerError(Exception):
    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


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
            # https peers are verified against SYNC_CA_BUNDLE (a private CA), else certifi's.
            session.verify = settings.SYNC_CA_BUNDLE or True
            self._local.session = session
            self._sessions.append(session)
        return session

    def node(self) -> dict:
        return _object(self._request("GET", "node"), "GET node")

    def get_changes(self, *, since: str | None, limit: int) -> dict:
        params = {"limit": limit}
        if since:
            params["since"] = since
        page = _object(self._request("GET", "changes", params=params), "GET changes")
        if not isinstance(page.get("changes"), list) or not isinstance(page.get("next"), str):
            raise PeerUnavailable("The peer's changes page lacks 'changes' or 'next'.")
        return page

    def post_changes(self, envelopes: list[str]) -> list[dict]:
        """Push serialized envelopes (sync.protocol.envelope_json); one result each, in order."""
        body = protocol.batch_json(envelopes)
        answer = self._request(
            "POST",
            "changes",
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        # PROTOCOL.md names the results, not their wrapper: we answer {"results": [...]}, and take
        # a bare list from a peer that answers so.
        results = answer if isinstance(answer, list) else answer.get("results")
        if not isinstance(results, list) or len(results) != len(envelopes):
            raise PeerUnavailable("The peer did not answer one result per envelope.")
        return results

    def close(self) -> None:
        for session in self._sessions:
            session.close()

    def _request(self, method: str, path: str, **kwargs) -> dict | list:
        url = urljoin(self.base_url, PREFIX + path)
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise PeerUnavailable(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code != 200:
            raise _error_for(response, f"{method} {url}")
        try:
            data = response.json()
        except ValueError as exc:
            raise PeerUnavailable(f"{method} {url}: the answer is not JSON") from exc
        if not isinstance(data, dict | list):
            raise PeerUnavailable(f"{method} {url}: the answer is not a JSON object")
        return data


def _object(data: dict | list, what: str) -> dict:
    if not isinstance(data, dict):
        raise PeerUnavailable(f"{what}: the answer is not a JSON object")
    return data


def _error_for(response: requests.Response, what: str) -> PeerError:
    status = response.status_code
    message = f"{what}: HTTP {status} {_detail(response)}".strip()
    if status in (401, 403):
        return AuthRejected(message, status=status)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status in (429, 503) and retry_after is not None:
        return PeerBusy(message, status=status, retry_after=retry_after)
    if status >= 500 or status == 429:
        return PeerUnavailable(message, status=status)
    return RequestRefused(message, status=status)


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or "")[:200]
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
