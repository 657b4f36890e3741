"""Request limits and response headers for the whole site (issue 12.2, headers).

RateLimitMiddleware: requests without a signed-in session (an Authorization header alone is no
sign-in) are limited per client address (config.client_ip) in the default cache, with
django-ratelimit:
- catalogue pages, feeds and vocabularies: settings.PAGES_ANON_THROTTLE;
- exports (/api/v1/.../export.*): settings.EXPORTS_ANON_THROTTLE, on top of the API's own
  anonymous throttle (DRF, settings.API_ANON_THROTTLE), since each one streams the catalogue;
- answers 401 to a request that carried credentials (a wrong Basic password) count against
  settings.AUTH_FAILURE_THROTTLE per address, and once over it every request with credentials
  from that address is refused until the window ends: password guessing over the API is slowed
  whatever the user names tried (django-axes locks out per user and address as well).
Over a limit: 429 with Retry-After, a problem body under /api/ (RFC 9457), plain text elsewhere.
The admin (its own lockout), /federation/ (peer tokens) and static files are not limited here.
A rate "" or "0" turns a limit off. A cache that is down lets requests through (fail-open).

SecurityHeadersMiddleware: Permissions-Policy, and the admin's inline styles under the CSP.
"""

import json
import re

from csp.constants import UNSAFE_INLINE
from django.conf import settings
from django.http import HttpResponse
from django_ratelimit.core import get_usage

from config.client_ip import ratelimit_key

EXPORT_PATH = re.compile(r"^/api/v\d+/.*export[^/]*$")
UNLIMITED_PREFIXES = ("/admin/", "/federation/")


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limited = self.refusal(request)
        if limited is not None:
            return limited
        response = self.get_response(request)
        if response.status_code == 401 and "HTTP_AUTHORIZATION" in request.META:
            _usage(request, "auth-failures", settings.AUTH_FAILURE_THROTTLE, increment=True)
        return response

    def refusal(self, request) -> HttpResponse | None:
        path = request.path_info
        if path.startswith(UNLIMITED_PREFIXES) or path.startswith("/" + settings.STATIC_URL):
            return None
        if "HTTP_AUTHORIZATION" in request.META:
            # Only counted, never incremented here: the limit is on failures, and once an
            # address has had its allowance of them, even right credentials wait.
            usage = _usage(request, "auth-failures", settings.AUTH_FAILURE_THROTTLE)
            if usage is not None and usage["count"] >= usage["limit"]:
                return too_many_requests(path, retry_after=max(1, usage["time_left"]))
            # A header alone is no sign-in: pages and exports stay limited below (pages never
            # read it; an export with right credentials is limited like any other).
        if request.user.is_authenticated:
            return None
        if EXPORT_PATH.match(path):
            usage = _usage(request, "exports", settings.EXPORTS_ANON_THROTTLE, increment=True)
        elif path.startswith("/api/"):
            return None  # the API's own throttle (catalogue.api.CatalogueAnonThrottle)
        else:
            usage = _usage(request, "pages", settings.PAGES_ANON_THROTTLE, increment=True)
        if usage is None or not usage["should_limit"]:
            return None
        return too_many_requests(path, retry_after=max(1, usage["time_left"]))


def _usage(request, group: str, rate: str, *, increment: bool = False) -> dict | None:
    if not rate or rate.startswith("0"):
        return None
    return get_usage(
        request,
        group=group,
        key=ratelimit_key,
        rate=rate,
        method=get_usage.ALL,
        increment=increment,
    )


def too_many_requests(path: str, *, retry_after: int) -> HttpResponse:
    """429 with Retry-After (seconds): a problem body for the API, plain text for pages."""
    if path.startswith("/api/"):
        body = {
            "type": "about:blank",
            "title": "Too Many Requests",
            "status": 429,
            "detail": f"Request was throttled. Expected available in {retry_after} seconds.",
        }
        response = HttpResponse(
            json.dumps(body), status=429, content_type="application/problem+json"
        )
    else:
        response = HttpResponse(
            f"Too many requests from your address; try again in {retry_after} seconds.\n",
            status=429,
            content_type="text/plain; charset=utf-8",
        )
    response["Retry-After"] = str(retry_after)
    return response


class SecurityHeadersMiddleware:
    """Permissions-Policy on every answer (settings.PERMISSIONS_POLICY), and the one relaxation
    of the Content-Security-Policy (django-csp, settings.CONTENT_SECURITY_POLICY): inline styles
    in the admin, whose templates (Django's change list, simple-history's) carry a few. Scripts
    stay 'self' only everywhere. Sits inside csp.middleware.CSPMiddleware, which reads the
    _csp_update this sets."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if request.path_info.startswith("/admin/"):
            response._csp_update = {"style-src": [UNSAFE_INLINE]}
        return response
