"""The one place that sends webhooks over HTTP, and the guard against sending them inward.

A receiver's host is resolved, and every address it resolves to must be a public one: never
loopback, private, link-local, site-local, shared, multicast, reserved or unspecified, nor an
IPv6 address that carries such an IPv4 one (mapped, compatible, NAT64, 6to4, Teredo), unless
WEBHOOKS_ALLOW_PRIVATE_TARGETS is on (tests, a lab). The check runs when a subscription is saved
and again before every attempt, and the request then goes to the address just checked (the Host
header and TLS name stay the URL's), so a DNS answer that changes between check and connect
cannot turn a webhook against the inside. urllib3 rather than requests for that pinning and for
a total timeout; redirects are not followed (a 3xx is a failed attempt).
"""

import ipaddress
import socket
import time
import urllib.parse
from dataclasses import dataclass

import certifi
import urllib3
from django.conf import settings

MAX_ERROR_LENGTH = 500


class TargetRefused(Exception):
    """The URL is not one this node may call."""


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer (refused, timed out, TLS error, ...)
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


IPv4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # ::a.b.c.d (deprecated, RFC 4291)
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: an operator's own


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether address is one a webhook may go to. An IPv6 address that carries an IPv4 one
    (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) is judged by that IPv4 address as well:
    a translator or relay would deliver it there."""
    if isinstance(address, ipaddress.IPv4Address):
        return address.is_global and not address.is_multicast and not address.is_reserved
    if address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    if address in IPv4_COMPATIBLE or address in NAT64_WELL_KNOWN:
        return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address in NAT64_LOCAL_USE:
        return False  # its prefix length, hence where the IPv4 address sits, is local knowledge
    embedded = [*(address.teredo or ()), *filter(None, [address.sixtofour])]
    return (
        all(is_public(ipv4) for ipv4 in embedded)
        and address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_site_local  # fec0::/10, deprecated but still routed inward
    )


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses of host, as the system resolver gives them."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]


def check_target(url: str) -> str:
    """The address to connect to for url; TargetRefused says why not."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetRefused("Use an http:// or https:// address with a host name.")
    try:
        addresses = resolve(parts.hostname, parts.port or 0)
    except (OSError, ValueError) as exc:
        raise TargetRefused(f"{parts.hostname} cannot be resolved: {exc}") from None
    if not addresses:
        raise TargetRefused(f"{parts.hostname} resolves to no address.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        inward = [str(a) for a in addresses if not is_public(a)]
        if inward:
            raise TargetRefused(
                f"{parts.hostname} resolves to {', '.join(inward)}, which is not a public "
                "address (WEBHOOKS_ALLOW_PRIVATE_TARGETS is off)."
            )
    return str(addresses[0])


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST body to url (checked first, then pinned to the checked address). Never raises for
    what the receiver or the network does: that is an Answer with an error."""
    started = time.monotonic()
    try:
        address = check_target(url)
        status = _send(url, address, body=body, headers=headers, timeout=timeout)
        return Answer(status, "", _since(started))
    except TargetRefused as exc:
        return Answer(None, f"refused: {exc}"[:MAX_ERROR_LENGTH], _since(started))
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH], _since(started))


def _send(url: str, address: str, *, body: bytes, headers: dict[str, str], timeout: float) -> int:
    parts = urllib.parse.urlsplit(url)
    options = {
        "host": address,
        "port": parts.port or (443 if parts.scheme == "https" else 80),
        "timeout": urllib3.Timeout(total=timeout),
        "retries": False,
        "maxsize": 1,
    }
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            **options,
            server_hostname=parts.hostname,
            assert_hostname=parts.hostname,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    else:
        pool = urllib3.HTTPConnectionPool(**options)
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    try:
        response = pool.urlopen(
            "POST",
            target,
            body=body,
            headers={**headers, "Host": parts.netloc.rpartition("@")[2]},
            redirect=False,
            preload_content=False,
        )
        response.drain_conn()
        return response.status
    finally:
        pool.close()


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
