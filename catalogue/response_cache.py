"""Whole responses of the catalogue's GET pages and API reads, cached for anonymous visitors.

Anonymous visitors all see the same thing (public records, P-tier fields), so one rendering of a
URL serves them all for settings.CATALOGUE_CACHE_SECONDS (0 turns this off): a catalogue may lag
a change by that long. Authenticated users never read or fill this cache (they see network records
and their own agency's links). Only successful answers are kept, never one that sets a cookie.
"""

import functools
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import timezone, translation
from rest_framework.response import Response

KEY_PREFIX = "catalogue:response:"
# The only visibility tier whose answers are cached; part of the key so that another tier,
# should one ever be cached, can never be served an anonymous answer or the reverse.
ANONYMOUS_TIER = "public"


def cache_anonymous_get(view: Callable) -> Callable:
    """Serve a view's anonymous GET answers from the cache. Wraps a page view (request first)
    or, through method_decorator, an API view's get() (called after authentication and the
    anonymous throttle, so throttling still counts every request)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        key = _key(request)
        if key is None:
            return view(request, *args, **kwargs)
        cached = cache.get(key)
        if cached is not None:
            return _unpacked(cached)
        response = view(request, *args, **kwargs)
        if _cacheable(response):
            cache.set(key, _packed(response), settings.CATALOGUE_CACHE_SECONDS)
        return response

    return wrapper


def _key(request) -> str | None:
    """The cache key of an anonymous GET, None when this request must not use the cache."""
    if settings.CATALOGUE_CACHE_SECONDS <= 0 or request.method != "GET":
        return None
    if request.user.is_authenticated or "HTTP_AUTHORIZATION" in request.META:
        return None
    # The host and scheme are in the key because API answers carry absolute `next` links; the
    # day, because whether a review is overdue changes at midnight.
    state = "|".join(
        (
            ANONYMOUS_TIER,
            timezone.localdate().isoformat(),
            request.scheme,
            request.get_host(),
            translation.get_language() or "",
            request.get_full_path(),
        )
    )
    return KEY_PREFIX + hashlib.sha256(state.encode()).hexdigest()


def _cacheable(response) -> bool:
    return (
        response.status_code == 200
        and not getattr(response, "streaming", False)
        and not response.cookies
    )


def _packed(response):
    """A DRF Response is not rendered yet (and cannot be pickled so): keep its data."""
    if isinstance(response, Response):
        return ("api", response.data)
    return ("page", response)


def _unpacked(cached) -> HttpResponse:
    kind, value = cached
    return Response(value) if kind == "api" else value
