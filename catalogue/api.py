"""The catalogue's REST API (/api/v1/): thin views over catalogue.selectors.

Authentication: HTTP Basic (an account of this node, over HTTPS in production) or the admin's
session cookie. Anonymous callers see public records and P-tier fields and are throttled
(settings.API_ANON_THROTTLE). Errors are RFC 9457 problem bodies (application/problem+json).
"""

import logging
from collections.abc import Iterator
from http import HTTPStatus

from django.conf import settings
from django.db.models import Count, Max
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView, exception_handler, set_rollback

from catalogue import changes, exports_xlsx, linked_data, query_text, selectors
from catalogue.crosswalks import nl_register as nl_crosswalk
from catalogue.filters import FILTERS, FilterInvalid, check_parameters
from catalogue.response_cache import cache_anonymous_get
from catalogue.serializers import (
    AgencyListSerializer,
    FacetsSerializer,
    ProblemSerializer,
    StatsSerializer,
    UseCasePageSerializer,
    UseCaseSerializer,
    csv_lines,
    json_chunks,
    use_case_data,
)
from config.client_ip import client_ip
from registry import search as fulltext
from registry.models import Agency, UseCase

PROBLEM_CONTENT_TYPE = "application/problem+json"
logger = logging.getLogger("django.request")


# ---- errors, throttling, base view ------------------------------------------------------------


def problem_exception_handler(exc, context):
    """DRF's handling, reshaped as an RFC 9457 problem; 400s name each bad parameter. Any other
    exception is logged (django.request, as Django logs a 500) and answered as a 500 problem
    that says nothing of its cause: API clients always get a problem body, never an HTML page."""
    response = exception_handler(exc, context)
    if response is None:
        request = context.get("request")
        logger.error(
            "Internal Server Error: %s",
            getattr(request, "path", ""),
            exc_info=exc,
            extra={"status_code": 500, "request": getattr(request, "_request", request)},
        )
        set_rollback()
        response = Response(status=500)
        exc = exceptions.APIException("The server could not answer; try again later.")
    status = response.status_code
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    if isinstance(exc, exceptions.ValidationError):
        body["detail"] = "Invalid request: see errors."
        body["errors"] = _error_lists(response.data)
    else:
        body["detail"] = str(getattr(exc, "detail", "") or body["title"])
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _error_lists(data) -> dict[str, list[str]]:
    if isinstance(data, dict):
        return {
            str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in data.items()
        }
    return {"request": [str(m) for m in (data if isinstance(data, list) else [data])]}


class CatalogueAnonThrottle(AnonRateThrottle):
    """Anonymous clients, per IP address; the rate is read at request time (tests change it)."""

    scope = "catalogue_anon"

    def get_rate(self):
        return settings.API_ANON_THROTTLE or None

    def get_ident(self, request):
        """The client's address as every limit of this node reads it (config/client_ip.py)."""
        return client_ip(request)

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class CSVRenderer(BaseRenderer):
    """Lets `Accept: text/csv` negotiate; the CSV itself is streamed by the view. Error bodies
    reaching this renderer are problem documents and go out as JSON."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


class FirstRendererNegotiation(BaseContentNegotiation):
    """Each endpoint answers in one media type whatever the Accept header says (no 406s)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CatalogueView(APIView):
    content_negotiation_class = FirstRendererNegotiation
    authentication_classes = [BasicAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [CatalogueAnonThrottle]
    renderer_classes = [JSONRenderer]
    # The query parameters the view accepts (parameter_names of its OpenAPI parameters); any
    # other is refused with a 400 naming these. None: the view reads none and checks none.
    query_parameters: tuple[str, ...] | None = None

    def get_exception_handler(self):
        return problem_exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.query_parameters is not None:
            try:
                check_parameters(request.query_params, allowed=self.query_parameters)
            except FilterInvalid as exc:
                raise exceptions.ValidationError(exc.errors) from None


class NotFoundView(CatalogueView):
    """Any other path under /api/v1/: a problem body, not the HTML 404 page."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        raise exceptions.NotFound("No such API endpoint.")


# ---- query parameters -------------------------------------------------------------------------


def catalogue_queryset(request, *, today=None):
    """The visible use cases matching the request's filters and search, with the search text;
    review_overdue as of today (default: the server's date)."""
    query = request.query_params.get("search", "")
    qs = selectors.visible_use_cases(user=request.user)
    try:
        qs = selectors.filter_use_cases(
            qs, params=request.query_params, user=request.user, today=today
        )
    except FilterInvalid as exc:
        raise exceptions.ValidationError(exc.errors) from None
    if errors := query_text.search_text_errors(query):
        raise exceptions.ValidationError({"search": errors})
    return selectors.search_use_cases(qs, query=query), query


def _page_size(request) -> int:
    raw = request.query_params.get("page_size")
    if raw in (None, ""):
        return selectors.DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise exceptions.ValidationError({"page_size": ["Must be an integer."]}) from None
    if size < 1:
        raise exceptions.ValidationError({"page_size": ["Must be at least 1."]})
    return min(size, selectors.MAX_PAGE_SIZE)


def _ordering(request, *, searching: bool) -> str:
    try:
        return selectors.parse_ordering(request.query_params.get("ordering"), searching=searching)
    except ValueError as exc:
        raise exceptions.ValidationError({"ordering": [str(exc)]}) from None


def _filter_parameters() -> list[OpenApiParameter]:
    parameters = []
    for name, spec in FILTERS.items():
        tier = " Authenticated users only (network tier)." if spec.network_only else ""
        if spec.choices:
            parameters.append(
                OpenApiParameter(
                    name,
                    str,
                    enum=list(spec.choices.values),
                    many=True,
                    description=f"{spec.description}; several values mean OR.{tier}",
                )
            )
        elif spec.kind == "date":
            parameters.append(
                OpenApiParameter(name, OpenApiTypes.DATE, description=spec.description)
            )
        elif spec.kind in {"bool", "overdue"}:
            parameters.append(
                OpenApiParameter(name, bool, description=f"{spec.description}.{tier}")
            )
        else:
            parameters.append(
                OpenApiParameter(name, str, many=True, description=f"{spec.description}; OR.")
            )
    return parameters


SEARCH_PARAMETER = OpenApiParameter(
    "search",
    {"type": "string", "maxLength": fulltext.MAX_QUERY_LENGTH},
    description='Full-text query: words (all must match), "quoted phrase", OR between '
    "words, -word to leave out; case, accents and Unicode normal form do not matter, with the "
    "same syntax and meaning on every node (registry/search_query.py). A node on PostgreSQL "
    "also matches other forms of a word in the record's language (stemming: 'signals' finds "
    "'signal'); the embedded SQLite default matches whole words only. Results then carry a "
    "highlighted `snippet` "
    "(whole words, HTML-escaped, matches in <mark>) and are ordered by relevance (use cases "
    "whose title matches first) unless `ordering` says otherwise.",
    examples=[OpenApiExample("words", value="signal detection")],
)
LIST_PARAMETERS = [
    *_filter_parameters(),
    SEARCH_PARAMETER,
    OpenApiParameter(
        "ordering",
        str,
        enum=selectors.ordering_choices(),
        description="Sort key; '-' for descending. Default: relevance when searching, else title.",
    ),
    OpenApiParameter("cursor", str, description="Opaque position from a previous `next` link."),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1},
        description=f"1 to {selectors.MAX_PAGE_SIZE} (larger is capped).",
    ),
]


def parameter_names(parameters: list[OpenApiParameter]) -> tuple[str, ...]:
    """The names a view documents, which are the names it accepts (CatalogueView)."""
    return tuple(parameter.name for parameter in parameters)


FILTERED_PARAMETERS = [*_filter_parameters(), SEARCH_PARAMETER]
PROBLEMS = {
    (400, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer, description="Bad parameters (named in errors)."
    ),
    (429, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer, description="Too many requests (anonymous clients)."
    ),
}
NOT_FOUND = {
    (404, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer, description="No such use case visible to the caller."
    )
}
EXAMPLE_USE_CASE = {
    "uid": "1f0e3c8a-58b2-4a55-9c1e-2b7d9b6a5d10",
    "origin": "DE-BFARM",
    "version": 3,
    "agency_name": "Federal Institute for Drugs and Medical Devices",
    "country": "DE",
    "publication_level": "public",
    "created": "2026-05-02T09:12:00Z",
    "modified": "2026-06-01T14:03:11Z",
    "received_at": "2026-06-01T14:05:00Z",
    "received_from": "EMRN-HUB",
    "title": "Signal detection assistant",
    "stage": "pilot",
    "ai_act_risk": "minimal",
    "techniques": ["machine_learning"],
    "regulatory_processes": ["pharmacovigilance"],
    "completeness": 81,
    "compliance": ["review_overdue"],
    "snippet": "Ranks <mark>signal</mark>s so assessors review the strongest first.",
}
EXAMPLE_QUALITY = {
    "count": 2,
    "mean_completeness": 75.5,
    "flags": {
        "high_risk_unjustified": 0,
        "personal_data_without_dpia": 1,
        "production_without_review": 0,
        "review_overdue": 1,
    },
}


# ---- endpoints --------------------------------------------------------------------------------


class UseCaseListView(CatalogueView):
    query_parameters = parameter_names([*LIST_PARAMETERS, *changes.OPENAPI_PARAMETERS])

    @extend_schema(
        operation_id="use_cases_list",
        summary="List and search use cases",
        description="The node's whole view (own and received records) as far as the caller may "
        "see it, filtered, searched, sorted, one keyset page at a time: follow `next`.",
        parameters=[*LIST_PARAMETERS, *changes.OPENAPI_PARAMETERS],
        responses={200: changes.ChangesPageSerializer, **PROBLEMS},
        examples=[
            OpenApiExample(
                "A page",
                value={
                    "results": [EXAMPLE_USE_CASE],
                    "next": "http://localhost:8000/api/v1/use-cases/?cursor=WyJ0aXRsZSIsIkEiLDFd",
                    "ordering": "relevance",
                },
                response_only=True,
            )
        ],
    )
    @method_decorator(cache_anonymous_get)
    def get(self, request):
        today = timezone.localdate()
        qs, query = catalogue_queryset(request, today=today)
        if changes.asks_for_changes(request.query_params):
            return _changes_response(request, qs, query=query, today=today)
        ordering = _ordering(request, searching=bool(query.strip()))
        size = _page_size(request)
        try:
            page = selectors.paginate_use_cases(
                qs, ordering=ordering, cursor=request.query_params.get("cursor"), page_size=size
            )
        except selectors.CursorInvalid as exc:
            raise exceptions.ValidationError({"cursor": [str(exc)]}) from None
        fields = selectors.visible_fields(user=request.user)
        snippets = selectors.search_snippets(page.items, query=query) if query.strip() else {}
        results = [
            use_case_data(
                uc,
                fields=fields,
                snippet=snippets.get(uc.pk) if query.strip() else None,
                today=today,
            )
            for uc in page.items
        ]
        next_url = None
        if page.next_cursor:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
        return Response({"results": results, "next": next_url, "ordering": ordering})


def _changes_response(request, qs, *, query: str, today) -> Response:
    """The list for harvesters (changed_since, include_withdrawn): catalogue.changes."""
    params = request.query_params
    try:
        since = changes.parse_changed_since(params.get(changes.CHANGED_SINCE))
        include = changes.parse_include_withdrawn(params.get(changes.INCLUDE_WITHDRAWN))
        if params.get("ordering") not in (None, "", "modified"):
            raise changes.ChangesInvalid({"ordering": ["Changes are listed by modified only."]})
        withdrawn = None
        if include:
            withdrawn = changes.withdrawals(
                user=request.user, params=params, today=today, departures=True
            )
        page = changes.page_of_changes(
            qs, withdrawn, since=since, cursor=params.get("cursor"), page_size=_page_size(request)
        )
    except changes.ChangesInvalid as exc:
        raise exceptions.ValidationError(exc.errors) from None
    fields = selectors.visible_fields(user=request.user)
    live = [item for item in page.items if isinstance(item, UseCase)]
    snippets = selectors.search_snippets(live, query=query) if query.strip() else {}
    results = [
        use_case_data(item, fields=fields, snippet=snippets.get(item.pk), today=today)
        if isinstance(item, UseCase)
        else changes.withdrawal_data(item)
        for item in page.items
    ]
    next_url = None
    if page.next_cursor:
        next_url = replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
    return Response({"results": results, "next": next_url, "ordering": "modified"})


class UseCaseDetailView(CatalogueView):
    @extend_schema(
        operation_id="use_cases_retrieve",
        summary="One use case",
        description="A use case is identified by its origin agency's code and its uid (a uid is "
        "unique within its origin). 404 when absent or not visible to the caller.",
        responses={200: UseCaseSerializer, **NOT_FOUND, **PROBLEMS},
        examples=[OpenApiExample("A use case", value=EXAMPLE_USE_CASE, response_only=True)],
    )
    @method_decorator(cache_anonymous_get)
    def get(self, request, origin: str, uid):
        try:
            use_case = selectors.get_use_case(user=request.user, origin=origin, uid=uid)
        except UseCase.DoesNotExist:
            raise exceptions.NotFound("No visible use case with this origin and uid.") from None
        fields = selectors.visible_fields(user=request.user)
        return Response(use_case_data(use_case, fields=fields))


class SimilarUseCasesView(CatalogueView):
    @extend_schema(
        operation_id="use_cases_similar",
        summary="Similar use cases at other agencies and in public registers",
        description="Visible use cases of other agencies sharing words with this one's title and "
        "tags, best first (at most 10).",
        responses={200: UseCasePageSerializer, **NOT_FOUND, **PROBLEMS},
        examples=[
            OpenApiExample(
                "Similar",
                value={"results": [EXAMPLE_USE_CASE], "next": None, "ordering": "relevance"},
                response_only=True,
            )
        ],
    )
    def get(self, request, origin: str, uid):
        try:
            use_case = selectors.get_use_case(user=request.user, origin=origin, uid=uid)
        except UseCase.DoesNotExist:
            raise exceptions.NotFound("No visible use case with this origin and uid.") from None
        fields = selectors.visible_fields(user=request.user)
        similar = selectors.similar_use_cases(use_case, user=request.user, limit=10)
        today = timezone.localdate()
        results = [use_case_data(uc, fields=fields, today=today) for uc in similar]
        return Response({"results": results, "next": None, "ordering": "relevance"})


class FacetsView(CatalogueView):
    query_parameters = parameter_names(FILTERED_PARAMETERS)

    @extend_schema(
        operation_id="facets",
        summary="Counts per value",
        description="For the use cases matching the same filters and search as the list: how "
        "many have each value of each enumerated field, agency and country.",
        parameters=FILTERED_PARAMETERS,
        responses={200: FacetsSerializer, **PROBLEMS},
        examples=[
            OpenApiExample(
                "Facets",
                value={
                    "total": 3,
                    "facets": {"stage": {"idea": 0, "pilot": 2, "production": 1}},
                },
                response_only=True,
            )
        ],
    )
    @method_decorator(cache_anonymous_get)
    def get(self, request):
        today = timezone.localdate()
        _, query = catalogue_queryset(request, today=today)  # checks the filters and the search
        facets, total = selectors.catalogue_facet_counts(
            params=request.query_params,
            search=query,
            user=request.user,
            fields=selectors.facet_fields(user=request.user),
            today=today,
        )
        return Response({"total": total, "facets": facets})


class StatsView(CatalogueView):
    query_parameters = parameter_names(FILTERED_PARAMETERS)

    @extend_schema(
        operation_id="stats",
        summary="Aggregates",
        description="Per agency, country, stage, risk class, technique and regulatory process, "
        "and over time by month of the records' started_on and operational_since (dates of the "
        "record itself; `created` is node-local and left out); `agencies`: each agency's "
        "use cases by stage and risk class and its last change; reference registers outside "
        "the network are marked `reference` and counted in `reference_total`. `quality`: "
        "completeness and "
        "compliance checks overall, per agency and per risk class (review_overdue as of "
        "today). Same filters as the list.",
        parameters=FILTERED_PARAMETERS,
        responses={200: StatsSerializer, **PROBLEMS},
        examples=[
            OpenApiExample(
                "Stats",
                value={
                    "total": 2,
                    "reference_total": 0,
                    "by_agency": [
                        {
                            "code": "EMA",
                            "name": "European Medicines Agency",
                            "reference": False,
                            "count": 2,
                        }
                    ],
                    "by_country": {"EU": 2},
                    "by_stage": {"pilot": 2},
                    "by_risk": {"minimal": 2},
                    "by_technique": {"nlp": 1, "machine_learning": 1},
                    "by_process": {"pharmacovigilance": 2},
                    "started_by_month": [{"month": "2025-03", "count": 2}],
                    "operational_by_month": [],
                    "quality": {
                        "overall": EXAMPLE_QUALITY,
                        "by_agency": [
                            {"code": "EMA", "name": "European Medicines Agency", **EXAMPLE_QUALITY}
                        ],
                        "by_risk": {"minimal": EXAMPLE_QUALITY},
                    },
                    "agencies": [
                        {
                            "code": "EMA",
                            "name": "European Medicines Agency",
                            "reference": False,
                            "count": 2,
                            "by_stage": {"pilot": 2},
                            "by_risk": {"minimal": 2},
                            "last_modified": "2026-06-01T14:03:11Z",
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    @method_decorator(cache_anonymous_get)
    def get(self, request):
        today = timezone.localdate()
        qs, _ = catalogue_queryset(request, today=today)
        return Response(selectors.catalogue_stats(qs, today=today))


class AgencyListView(CatalogueView):
    @extend_schema(
        operation_id="agencies_list",
        summary="Agencies",
        description="Every agency this node knows, with the number of its use cases visible to "
        "the caller.",
        responses={200: AgencyListSerializer, **PROBLEMS},
        examples=[
            OpenApiExample(
                "Agencies",
                value={
                    "results": [
                        {
                            "code": "DE-BFARM",
                            "name": "Federal Institute for Drugs and Medical Devices",
                            "country": "DE",
                            "kind": "human",
                            "use_case_count": 12,
                        }
                    ]
                },
                response_only=True,
            )
        ],
    )
    @method_decorator(cache_anonymous_get)
    def get(self, request):
        visible = selectors.visible_use_cases(user=request.user)
        # A new agency changes no use case: its arrival is part of the key.
        known = Agency.objects.aggregate(n=Count("pk"), last=Max("pk"))
        kind = f"agencies|{known['n']}|{known['last']}"
        results = selectors.cached_counts(kind, visible, lambda: self.summaries(request))
        return Response({"results": results})

    @staticmethod
    def summaries(request) -> list[dict]:
        agencies = selectors.agency_summaries(user=request.user)
        return [
            {
                "code": a.code,
                "name": a.name,
                "country": a.country,
                "kind": a.kind,
                "use_case_count": a.use_case_count,
            }
            for a in agencies
        ]


class ExportView(CatalogueView):
    """A filtered view in full, streamed row by row (constant memory at any size)."""

    export_format = "csv"
    file_name = "use-cases"

    def get(self, request):
        qs, query = catalogue_queryset(request, today=timezone.localdate())
        ordering = _ordering(request, searching=bool(query.strip()))
        rows = selectors.ordered_use_cases(qs, ordering=ordering)
        fields = selectors.visible_fields(user=request.user)
        body, content_type = self.stream(request, rows, fields=fields)
        response = StreamingHttpResponse(body, content_type=content_type)
        name = f"{self.file_name}.{self.export_format}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def stream(self, request, rows, *, fields: tuple[str, ...]) -> tuple[Iterator[str], str]:
        """The body's chunks and content type; a crosswalk export writes its own shape."""
        if self.export_format == "csv":
            return csv_lines(rows, fields=fields), "text/csv; charset=utf-8"
        return json_chunks(rows, fields=fields), "application/json"


EXPORT_PARAMETERS = [*_filter_parameters(), SEARCH_PARAMETER, LIST_PARAMETERS[-3]]


class CSVExportView(ExportView):
    renderer_classes = [CSVRenderer]
    query_parameters = parameter_names(EXPORT_PARAMETERS)
    export_format = "csv"

    @extend_schema(
        operation_id="use_cases_export_csv",
        summary="Export as CSV",
        description="Every use case of the filtered view, one row each; list fields joined with "
        "'|', related links as origin/uid/kind. Same visibility as the list.",
        parameters=EXPORT_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV file"),
            **PROBLEMS,
        },
        examples=[
            OpenApiExample(
                "CSV",
                value="uid,origin,version,...\r\n1f0e3c8a-...,DE-BFARM,3,...\r\n",
                response_only=True,
                media_type="text/csv",
            )
        ],
    )
    def get(self, request):
        return super().get(request)


class JSONExportView(ExportView):
    query_parameters = parameter_names(EXPORT_PARAMETERS)
    export_format = "json"

    @extend_schema(
        operation_id="use_cases_export_json",
        summary="Export as JSON",
        description="Every use case of the filtered view as one JSON array (streamed).",
        parameters=EXPORT_PARAMETERS,
        responses={200: UseCaseSerializer(many=True), **PROBLEMS},
        examples=[OpenApiExample("JSON", value=[EXAMPLE_USE_CASE], response_only=True)],
    )
    def get(self, request):
        return super().get(request)


class XLSXRenderer(CSVRenderer):
    """Lets `Accept` negotiate the spreadsheet; error bodies go out as JSON problems."""

    media_type = exports_xlsx.CONTENT_TYPE
    format = "xlsx"


class XLSXExportView(CatalogueView):
    renderer_classes = [XLSXRenderer]
    query_parameters = parameter_names(EXPORT_PARAMETERS)
    query_parameters = parameter_names(EXPORT_PARAMETERS)

    @extend_schema(
        operation_id="use_cases_export_xlsx",
        summary="Export as a spreadsheet (XLSX)",
        description="Every use case of the filtered view in one worksheet, the CSV export's "
        "columns in its order: list fields joined with '|', dates as dates, timestamps as UTC "
        "date-times, yes/no as booleans; text that a spreadsheet would run as a formula (= + - "
        "@, tab, carriage return first) starts with an apostrophe, as in the CSV. Written in "
        "constant memory, sent once complete. Same filters and visibility as the list.",
        parameters=EXPORT_PARAMETERS,
        responses={
            (200, exports_xlsx.CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="XLSX workbook (Office Open XML)"
            ),
            **PROBLEMS,
        },
    )
    def get(self, request):
        qs, query = catalogue_queryset(request, today=timezone.localdate())
        rows = selectors.ordered_use_cases(
            qs, ordering=_ordering(request, searching=bool(query.strip()))
        )
        workbook = exports_xlsx.write_workbook(
            rows, fields=selectors.visible_fields(user=request.user)
        )
        return FileResponse(
            workbook,
            as_attachment=True,
            filename="use-cases.xlsx",
            content_type=exports_xlsx.CONTENT_TYPE,
        )


# ---- linked data (catalogue.linked_data, docs/linked-data.md) -------------------------------


class JSONLDRenderer(CSVRenderer):
    """Lets the linked-data endpoints negotiate; their bodies are written by the views, error
    bodies (problem documents) go out as JSON."""

    media_type = "application/ld+json"
    format = "jsonld"


class TurtleRenderer(CSVRenderer):
    media_type = "text/turtle"
    format = "ttl"


class LinkedDataSchema(AutoSchema):
    """One OpenAPI operation per format: .jsonld and .ttl are one view class, so the operation id
    is the view's `operation_base` and its format (use_cases_linked_data_ttl)."""

    def get_operation_id(self):
        return f"{self.view.operation_base}_{self.view.fmt}"


class LinkedDataView(CatalogueView):
    fmt = linked_data.JSONLD
    operation_base = "use_cases_linked_data"
    schema = LinkedDataSchema()

    def get_renderers(self):
        return [JSONLDRenderer() if self.fmt == linked_data.JSONLD else TurtleRenderer()]


LINKED_DATA_RESPONSES = {
    (200, "application/ld+json"): OpenApiResponse(OpenApiTypes.OBJECT, description="JSON-LD"),
    (200, "text/turtle"): OpenApiResponse(OpenApiTypes.STR, description="Turtle"),
}


class UseCaseLinkedDataView(LinkedDataView):
    @extend_schema(
        summary="One use case as linked data",
        description="DCAT-AP 3 and DPV (AI, EU AI Act) in JSON-LD (.jsonld) or Turtle (.ttl): "
        "the use case with its agency and the catalogue it belongs to. Same visibility as the "
        "detail.",
        responses={**LINKED_DATA_RESPONSES, **NOT_FOUND, **PROBLEMS},
    )
    @method_decorator(cache_anonymous_get)
    def get(self, request, origin: str, uid):
        try:
            use_case = selectors.get_use_case(user=request.user, origin=origin, uid=uid)
        except UseCase.DoesNotExist:
            raise exceptions.NotFound("No visible use case with this origin and uid.") from None
        graph = linked_data.use_case_graph(
            use_case, fields=selectors.visible_fields(user=request.user)
        )
        body = linked_data.document(graph, self.fmt)
        return HttpResponse(body, content_type=linked_data.CONTENT_TYPES[self.fmt])


class LinkedDataExportView(LinkedDataView):
    query_parameters = parameter_names(EXPORT_PARAMETERS)
    operation_base = "use_cases_export_linked_data"

    @extend_schema(
        summary="Export the catalogue as linked data",
        description="The filtered view as one DCAT-AP 3 catalogue in JSON-LD (export.jsonld) or "
        "Turtle (export.ttl), streamed. Same filters and visibility as the list.",
        parameters=EXPORT_PARAMETERS,
        responses={**LINKED_DATA_RESPONSES, **PROBLEMS},
    )
    def get(self, request):
        qs, query = catalogue_queryset(request, today=timezone.localdate())
        rows = selectors.ordered_use_cases(qs, ordering=_ordering(request, searching=bool(query)))
        fields = selectors.visible_fields(user=request.user)
        body = linked_data.export_chunks(rows, fields=fields, fmt=self.fmt)
        response = StreamingHttpResponse(body, content_type=linked_data.CONTENT_TYPES[self.fmt])
        response["Content-Disposition"] = f'attachment; filename="use-cases.{self.fmt}"'
        return response


# ---- crosswalk to the Dutch algorithm register (catalogue.crosswalks.nl_register) -------------

NL_REGISTER_DOCUMENT = {
    "type": "object",
    "required": ["standard", "standard_version", "registrations", "notes"],
    "properties": {
        "standard": {"type": "string"},
        "standard_version": {"type": "string"},
        "field_config": {"type": "string"},
        "mapping": {"type": "string"},
        "registrations": {
            "type": "array",
            "items": {"type": "object", "additionalProperties": True},
            "description": "Registrations in the field names of the register's config v1.0.",
        },
        "notes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["source_id", "field", "message"],
                "properties": {
                    "source_id": {"type": "string"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
NL_REGISTER_RESPONSE = OpenApiResponse(
    NL_REGISTER_DOCUMENT,
    description="Registrations of publication standard 1.0 and what they could not carry "
    "(docs/crosswalk-nl-register.md).",
)


class NLRegisterUseCaseView(CatalogueView):
    @extend_schema(
        operation_id="use_cases_nl_register",
        summary="One use case for the Dutch algorithm register",
        description="The use case as a registration of the Dutch algorithm register's "
        "publication standard 1.0 (the register's config field names), with notes on what it "
        "could not carry. Same visibility as the use case.",
        responses={(200, "application/json"): NL_REGISTER_RESPONSE, **NOT_FOUND, **PROBLEMS},
    )
    def get(self, request, origin: str, uid):
        try:
            use_case = selectors.get_use_case(user=request.user, origin=origin, uid=uid)
        except UseCase.DoesNotExist:
            raise exceptions.NotFound("No visible use case with this origin and uid.") from None
        document = nl_crosswalk.export_document(
            [use_case],
            fields=selectors.visible_fields(user=request.user),
            url_of=nl_crosswalk.api_url_of(request),
        )
        response = Response(document)
        name = f"{use_case.origin_id}-{use_case.uid}.nl-register.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class NLRegisterExportView(CatalogueView):
    query_parameters = parameter_names(EXPORT_PARAMETERS)

    @extend_schema(
        operation_id="use_cases_export_nl_register",
        summary="Export for the Dutch algorithm register",
        description="Every use case of the filtered view as a registration of the Dutch "
        "algorithm register's publication standard 1.0, streamed, with notes on what could not "
        "be carried. Same filters and visibility as the list.",
        parameters=EXPORT_PARAMETERS,
        responses={(200, "application/json"): NL_REGISTER_RESPONSE, **PROBLEMS},
    )
    def get(self, request):
        qs, query = catalogue_queryset(request, today=timezone.localdate())
        ordering = _ordering(request, searching=bool(query.strip()))
        body = nl_crosswalk.export_chunks(
            selectors.ordered_use_cases(qs, ordering=ordering),
            fields=selectors.visible_fields(user=request.user),
            url_of=nl_crosswalk.api_url_of(request),
        )
        response = StreamingHttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="use-cases.nl-register.json"'
        return response


def only_catalogue_endpoints(endpoints):
    """drf-spectacular preprocessing hook: /api/schema/ documents the catalogue API only."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]
