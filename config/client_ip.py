"""The address a request came from, as far as this node can trust it (issue 12.2).

Behind TRUSTED_PROXY_COUNT reverse proxies (0: the node is reached directly), each proxy appends
the address it was reached from to X-Forwarded-For, so the client's address is the entry that
many places from the right: what the outermost trusted proxy saw. Entries further left are
whatever the client wrote and are never used. Every throttle, rate limit and lockout (DRF,
django-ratelimit, django-axes) keys on this one function.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's IP address (text). REMOTE_ADDR without trusted proxies, or when the
    forwarded entry is not an IP address (a misconfigured proxy)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if not forwarded:
        return remote
    # Fewer entries than proxies: the request skipped a proxy; take the outermost entry, as DRF's
    # NUM_PROXIES does, so that the API throttle and the rest agree.
    candidate = forwarded[-min(proxies, len(forwarded))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def ratelimit_key(group: str, request: HttpRequest) -> str:
    """django-ratelimit's key function form of client_ip."""
    return client_ip(request)
