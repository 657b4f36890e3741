"""The federation endpoints (PROTOCOL.md: Endpoints). Thin: HTTP in and out, with every bad
request answered by an RFC 9457 problem body and nothing stored."""

import json
import logging
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sync import auth, ledger, protocol, receiver, serving

log = logging.getLogger(__name__)
READ_CHUNK = 64 * 1024


def problem(status: int, title: str, detail: str = "", **extra) -> JsonResponse:
    body = {"type": "about:blank", "title": title, "status": status, **extra}
    if detail:
        body["detail"] = detail
    return JsonResponse(body, status=status, content_type=protocol.PROBLEM_CONTENT_TYPE)


def json_response(data: dict) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body.encode("utf-8"), content_type="application/json")


def problem_on_error(view):
    """Whatever a view did not foresee still answers a problem body (rule 5: a client never sees
    Django's HTML error page), and is logged with its traceback."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Exception:
            log.exception("Federation %s %s failed", request.method, request.path)
            return problem(500, "Internal server error", "The error was logged on this node.")

    return wrapper


def allow(*methods: str):
    """Like require_http_methods, but the 405 is a problem body too."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method not in methods:
                response = problem(405, "Method not allowed", f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def peer_required(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        request.peer_token = auth.authenticate(request.headers.get("Authorization"))
        if request.peer_token is None:
            response = problem(401, "Authentication required", "Send a valid peer token.")
            response["WWW-Authenticate"] = 'Bearer realm="federation"'
            return response
        return view(request, *args, **kwargs)

    return wrapper


# Exempt from CSRF like every federation endpoint (no cookies here): a POST gets the 405 problem,
# not Django's HTML CSRF page.
@csrf_exempt
@problem_on_error
@allow("GET", "HEAD")
def node(request: HttpRequest) -> HttpResponse:
    return json_response(protocol.node_description(serving.served_feed_id()))


@csrf_exempt
def not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """Any other path under /federation/: a problem body, whatever the method (rule 5)."""
    return problem(404, "Not found", f"No federation endpoint at {request.path}.")


@csrf_exempt
@problem_on_error
@allow("GET", "HEAD", "POST")
@peer_required
def changes(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _receive(request)
    try:
        limit = _limit(request.GET.get("limit"))
        page = serving.changes_page(since=request.GET.get("since"), limit=limit)
    except protocol.InvalidCursor as exc:
        return problem(400, "Cursor refused", str(exc), type=exc.problem_type)
    except ValueError as exc:
        return problem(400, "Bad request", str(exc))
    ledger.record_pull(request.peer_token.agency, page.count)
    return HttpResponse(page.json.encode("utf-8"), content_type="application/json")


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return protocol.DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise ValueError("limit must be a positive integer.")
    return min(int(raw), protocol.MAX_LIMIT)


def _receive(request: HttpRequest) -> HttpResponse:
    if request.content_type != "application/json":
        return problem(415, "Unsupported media type", "Send the batch as application/json.")
    body = _read_body(request)
    if isinstance(body, HttpResponse):
        return body
    try:
        batch = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return problem(400, "Malformed JSON", str(exc)[:200])
    changes = batch.get("changes") if isinstance(batch, dict) else None
    if not isinstance(changes, list):
        return problem(400, "Bad request", 'The body must be an object {"changes": [...]}.')
    if len(changes) > protocol.MAX_BATCH:
        return problem(
            413, "Batch too large", f"At most {protocol.MAX_BATCH} envelopes per request."
        )
    agency = request.peer_token.agency
    results = receiver.receive(
        changes, received_from=agency, may_send=lambda origin: origin == agency
    )
    ledger.record_push(agency, changes, results)
    return json_response({"results": results})


def _read_body(request: HttpRequest) -> bytes | HttpResponse:
    """The body up to the limit, or the problem that answers it."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared:
        if not declared.isascii() or not declared.isdigit():
            return problem(400, "Bad request", "Content-Length must be a number of bytes.")
        if int(declared) > protocol.MAX_BODY_BYTES:
            return _too_large()
        stream = request
    elif request.META.get("wsgi.input_terminated"):
        # Chunked: the server (gunicorn, mod_wsgi) ends the stream where the body ends.
        stream = request.META["wsgi.input"]
    else:
        return problem(411, "Length required", "Send a Content-Length header.")
    body = _read_at_most(stream, protocol.MAX_BODY_BYTES + 1)
    return _too_large() if len(body) > protocol.MAX_BODY_BYTES else body


def _read_at_most(stream, limit: int) -> bytes:
    """Up to `limit` bytes, however few bytes each read hands back."""
    chunks, size = [], 0
    while size < limit:
        chunk = stream.read(min(READ_CHUNK, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _too_large() -> JsonResponse:
    return problem(413, "Body too large", f"At most {protocol.MAX_BODY_BYTES} bytes per request.")
