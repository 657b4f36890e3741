"""A node served over https sends its peer tokens over https only (SYNC_REQUIRE_HTTPS, on by
default when SITE_URL is https): an http:// peer is refused in the admin's form and by the sync
client before anything is sent (docs/security.md, Transport)."""

import socket
import threading

import pytest
from django.core.exceptions import ValidationError

from sync.client import PeerClient, RequestRefused
from sync.models import Peer


@pytest.fixture
def listener():
    """A loopback socket that records whether anyone connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(2)
    seen = []

    def accept():
        try:
            connection, _ = server.accept()
            seen.append(connection.recv(4096))
            connection.close()
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", seen
    server.close()
    thread.join(timeout=3)


def test_the_client_never_sends_a_token_over_http_when_https_is_required(settings, listener):
    settings.SYNC_REQUIRE_HTTPS = True
    url, seen = listener
    with pytest.raises(RequestRefused, match="over https only"):
        PeerClient(url, "SECRET-TOKEN").node()
    assert seen == []  # nothing left this node, token included


def test_without_the_requirement_an_http_peer_is_still_reached(settings, listener):
    settings.SYNC_REQUIRE_HTTPS = False
    url, seen = listener
    with pytest.raises(Exception):  # noqa: B017 (the listener answers nothing useful)
        PeerClient(url, "SECRET-TOKEN", timeout=1).node()
    assert seen and b"Bearer SECRET-TOKEN" in seen[0]


def test_the_admin_refuses_an_http_peer_url_when_https_is_required(settings, db):
    settings.SYNC_REQUIRE_HTTPS = True
    peer = Peer(name="hub", url="http://hub.example.eu", role="hub", agency="EMRN-HUB")
    with pytest.raises(ValidationError) as refused:
        peer.full_clean(exclude=["token"])
    assert "https" in str(refused.value.message_dict["url"])
