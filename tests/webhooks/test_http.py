"""webhooks/http.py: the only outbound HTTP of the webhooks, and its guard against inward
addresses (checked at every call, then the checked address is the one connected to)."""

import ipaddress
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.webhooks.conftest import NAMES
from webhooks import http


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, dict(self.headers), body))
        if self.path == "/slow":
            time.sleep(2)
        status = 302 if self.path == "/moved" else 204
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "ff02::1",
        "::ffff:127.0.0.1",
    ],
)
def test_a_name_resolving_to_an_inward_address_is_refused(address, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    NAMES["inward.example.org"] = address
    with pytest.raises(http.TargetRefused, match="not a public address"):
        http.check_target("https://inward.example.org/hook")


def test_a_public_address_is_allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    assert http.check_target("https://receiver.example.org/hook") == NAMES["receiver.example.org"]


def test_one_inward_address_among_public_ones_is_enough_to_refuse(settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    both = [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.0.0.1")]
    monkeypatch.setattr(http, "resolve", lambda host, port: both)
    with pytest.raises(http.TargetRefused, match="10.0.0.1"):
        http.check_target("https://receiver.example.org/hook")


@pytest.mark.parametrize("url", ["ftp://receiver.example.org/", "file:///etc/passwd", "http:///x"])
def test_only_http_and_https_addresses_with_a_host_are_called(url):
    with pytest.raises(http.TargetRefused, match="http"):
        http.check_target(url)


def test_a_post_reaches_the_receiver_with_its_headers_and_body(server):
    url = f"http://127.0.0.1:{server.server_port}/hooks?x=1"
    answer = http.post(url, body=b'{"a":1}', headers={"webhook-id": "msg_1"}, timeout=3)
    assert (answer.status, answer.ok, answer.error) == (204, True, "")
    path, headers, body = server.seen[0]
    assert (path, headers["webhook-id"], body) == ("/hooks?x=1", "msg_1", b'{"a":1}')


def test_the_post_goes_to_the_checked_address_under_the_url_host_name(server, fake_dns):
    fake_dns["hooks.example.org"] = "127.0.0.1"
    url = f"http://hooks.example.org:{server.server_port}/in"
    answer = http.post(url, body=b"{}", headers={}, timeout=3)
    assert answer.ok
    assert server.seen[0][1]["Host"] == f"hooks.example.org:{server.server_port}"


def test_a_loopback_receiver_is_never_called_unless_allowed(server, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    answer = http.post(f"http://127.0.0.1:{server.server_port}/", body=b"{}", headers={}, timeout=3)
    assert answer.status is None
    assert answer.error.startswith("refused: ")
    assert server.seen == []


def test_a_redirect_is_not_followed_and_is_no_success(server):
    answer = http.post(
        f"http://127.0.0.1:{server.server_port}/moved", body=b"{}", headers={}, timeout=3
    )
    assert (answer.status, answer.ok) == (302, False)
    assert len(server.seen) == 1


def test_a_slow_receiver_fails_within_the_total_timeout(server):
    started = time.monotonic()
    answer = http.post(
        f"http://127.0.0.1:{server.server_port}/slow", body=b"{}", headers={}, timeout=0.5
    )
    assert answer.status is None
    assert "Timeout" in answer.error
    assert time.monotonic() - started < 1.5


def test_a_receiver_that_is_not_there_is_an_error_not_an_exception():
    from federation.processes import free_port

    answer = http.post(f"http://127.0.0.1:{free_port()}/", body=b"{}", headers={}, timeout=3)
    assert answer.status is None
    assert answer.error


@pytest.mark.parametrize(
    ("address", "public"),
    [
        # IPv4-mapped
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:93.184.215.14", True),
        # IPv4-compatible (deprecated)
        ("::127.0.0.1", False),
        ("::169.254.169.254", False),
        ("::1", False),
        ("::", False),
        ("::93.184.215.14", True),
        # NAT64, well-known prefix
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::a00:1", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::5db8:d70e", True),
        # NAT64, local-use prefix: where it leads is the operator's business
        ("64:ff9b:1::7f00:1", False),
        ("64:ff9b:1::5db8:d70e", False),
        # 6to4
        ("2002:7f00:1::", False),
        ("2002:a00:1::1", False),
        ("2002:c0a8:101::1", False),
        ("2002:5db8:d70e::1", True),
        # Teredo (server 65.54.227.120, client 127.0.0.1 obfuscated)
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),
        # site-local (deprecated), unique local, link-local, multicast, documentation
        ("fec0::1", False),
        ("feff::1", False),
        ("fd00::1", False),
        ("fe80::1", False),
        ("ff0e::1", False),
        ("2001:db8::1", False),
        # plainly public
        ("2606:4700:4700::1111", True),
        ("93.184.215.14", True),
    ],
)
def test_ipv6_addresses_that_carry_an_inward_ipv4_address_are_not_public(address, public):
    assert http.is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]:25123/",
        "http://[2002:7f00:1::]:25123/",
        "http://[::127.0.0.1]:25123/",
        "http://[fec0::1]/",
    ],
)
def test_ipv6_literals_that_lead_inward_are_refused(url, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(http.TargetRefused, match="not a public address"):
        http.check_target(url)
