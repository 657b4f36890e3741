"""The catalogue's web pages. Thin views over catalogue.selectors, which decides what each visitor
may see (the same rules as the API); everything a page shows is in its query string, so every
state of a page is a link that can be shared.
"""

import datetime as dt
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import FieldError
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from catalogue import changes, charts, query_text, registers, selectors, statistics_page
from catalogue.filters import (
    FILTERS,
    SOURCE,
    TRUE_WORDS,
    FilterInvalid,
    Source,
    allowed_parameters,
    check_parameters,
    raw_values,
)
from catalogue.response_cache import cache_anonymous_get
from registry import quality, services
from registry import vocabularies as v
from registry.models import Agency, UseCase

PAGE_SIZE = 20
SEARCH_PARAM = "search"
CURSOR_PARAM = "cursor"
PAGE_NUMBER_PARAM = "page"
MAX_PAGE_NUMBER = 1_000_000
SORT_PARAM = "sort"
SORT_OPTIONS = [
    ("relevance", _("Best match")),
    ("title", _("Title, A to Z")),
    ("-title", _("Title, Z to A")),
    ("-modified", _("Last changed, newest first")),
    ("modified", _("Last changed, oldest first")),
    ("agency", _("Agency")),
    ("stage", _("Stage")),
    ("ai_act_risk", _("AI Act risk class")),
]
SIMILAR_LIMIT = 5
PAGE_FACETS = [
    ("agency", _("Agency")),
    ("country", _("Country")),
    ("stage", _("Stage")),
    ("ai_act_risk", _("AI Act risk class")),
    ("regulatory_processes", _("Regulatory process")),
    ("techniques", _("Technique")),
    ("workplan_area", _("Workplan area")),
    ("medicine_scope", _("Medicine scope")),
]
# What the catalogue page accepts (any other parameter is refused with a 400 naming these).
CATALOGUE_PARAMETERS = allowed_parameters(SEARCH_PARAM, SORT_PARAM, CURSOR_PARAM, PAGE_NUMBER_PARAM)
# The statistics count what the catalogue's filters and search select.
# The catalogue's paging and sorting (statistics_page.TRANSIENT_PARAMS) are accepted and
# ignored, so that a catalogue address with /statistics/ for its path still counts its filters.
STATISTICS_PARAMETERS = allowed_parameters(SEARCH_PARAM, *statistics_page.TRANSIENT_PARAMS)
# The agency page takes no filter: its list pages like the catalogue's.
AGENCY_PARAMETERS = (CURSOR_PARAM, PAGE_NUMBER_PARAM)
# What a date filter's chip calls its field (catalogue.filters._dates).
DATE_FILTER_LABELS = {
    "started_on": _("Started"),
    "operational_since": _("In production since"),
    "retired_on": _("Retired"),
    "next_review_on": _("Next review"),
    "modified": _("Last changed"),
    "created": _("Created"),
}
# The review filter's box goes after this facet's.
OVERDUE_AFTER = "stage"


@cache_anonymous_get
def catalogue(request: HttpRequest) -> HttpResponse:
    """The catalogue page: search, facets with counts, results; all state in the query string."""
    return _catalogue(request, template="catalogue/catalogue.html")


@cache_anonymous_get
def catalogue_results(request: HttpRequest) -> HttpResponse:
    """The catalogue page's facets and results alone, for the same query string: what
    catalogue/static/catalogue/catalogue.js swaps into the page when a filter changes, instead
    of reloading it. An address of its own, so that caches never mistake it for the page."""
    response = _catalogue(request, template="catalogue/_catalogue_results.html")
    response["X-Robots-Tag"] = "noindex"
    return response


def _catalogue(request: HttpRequest, *, template: str) -> HttpResponse:
    params = request.GET
    if errors := query_text.query_errors(params, search_param=SEARCH_PARAM):
        # The search box offers the text again, less what made it unsearchable.
        retry = query_text.without_control_characters(params.get(SEARCH_PARAM, ""))
        return _bad_request(request, errors, search=retry)
    try:
        check_parameters(params, allowed=CATALOGUE_PARAMETERS)
    except FilterInvalid as exc:
        return _bad_request(request, exc.errors)
    search = params.get(SEARCH_PARAM, "")
    visible = selectors.visible_use_cases(user=request.user)
    today = timezone.localdate()
    try:
        ordering = selectors.parse_ordering(params.get(SORT_PARAM), searching=bool(search.strip()))
        filtered = selectors.filter_use_cases(
            visible, params=params, user=request.user, today=today
        )
        matches = selectors.search_use_cases(filtered, query=search)
        page = selectors.paginate_use_cases(
            matches, ordering=ordering, cursor=params.get(CURSOR_PARAM), page_size=PAGE_SIZE
        )
    except FilterInvalid as exc:
        return _bad_request(request, exc.errors)
    except selectors.CursorInvalid as exc:
        return _bad_request(request, {CURSOR_PARAM: [str(exc)]})
    except ValueError as exc:  # parse_ordering
        return _bad_request(request, {SORT_PARAM: [str(exc)]})
    agency_names = dict(Agency.objects.values_list("code", "name"))
    facets, total = _facets(params, search, request.user, agency_names, today)
    context = {
        "nav": "catalogue",
        "search": search,
        # The choice as asked: "relevance" stays selected while browsing (it then sorts by
        # title), so a search typed next is ranked by relevance without touching the list.
        "sort": params.get(SORT_PARAM) or "relevance",
        "sort_options": SORT_OPTIONS,
        "facets": facets,
        "kept_filters": _kept_filters(params, facets),
        "active_filters": _active_filters(params, agency_names),
        "total": total,
        "results": _result_items(page.items, search, today),
        "page": _page_links(request, page),
        "export_csv_url": _export_url("api:use-case-export-csv", params),
        "export_json_url": _export_url("api:use-case-export-json", params),
        "export_xlsx_url": _export_url("api:use-case-export-xlsx", params),
        # The same filters and search, without paging or sorting (_export_url drops those).
        "statistics_url": _export_url("catalogue:statistics", params),
        "show_level": selectors.sees_network(request.user),
    }
    return render(request, template, context)


@cache_anonymous_get
def use_case_detail(request: HttpRequest, origin: str, uid: str) -> HttpResponse:
    parsed_uid = _canonical_uid(uid)
    if parsed_uid is None:
        return _not_found(request)
    try:
        use_case = selectors.get_use_case(user=request.user, origin=origin, uid=parsed_uid)
    except UseCase.DoesNotExist:
        return _withdrawn_or_not_found(request, origin=origin, uid=parsed_uid)
    context = {
        "use_case": use_case,
        "visible_fields": selectors.visible_fields(user=request.user),
        "related": _related(use_case, user=request.user),
        "can_edit": request.user.is_authenticated and services.can_edit(request.user, use_case),
        "review_overdue": quality.is_review_overdue(
            use_case.next_review_on, use_case.stage, timezone.localdate(), origin=use_case.origin_id
        ),
        "similar": selectors.cached_counts(
            f"page-similar:{use_case.pk}",
            selectors.visible_use_cases(user=request.user),
            lambda: selectors.similar_use_cases(use_case, user=request.user, limit=SIMILAR_LIMIT),
        ),
    }
    return render(request, "catalogue/use_case.html", context)


@cache_anonymous_get
def agency_list(request: HttpRequest) -> HttpResponse:
    agencies = selectors.cached_counts(
        "page-agencies",
        selectors.visible_use_cases(user=request.user),
        lambda: list(selectors.agency_summaries(user=request.user)),
    )
    context = {"nav": "agencies", "groups": registers.agency_groups(agencies)}
    return render(request, "catalogue/agency_list.html", context)


@cache_anonymous_get
def agency_detail(request: HttpRequest, code: str) -> HttpResponse:
    agency = Agency.objects.filter(code=code).first()
    if agency is None or code in selectors.hub_codes():  # a hub is no agency
        return _not_found(request)
    try:
        check_parameters(request.GET, allowed=AGENCY_PARAMETERS)
    except FilterInvalid as exc:
        return _bad_request(request, exc.errors)
    own = selectors.visible_use_cases(user=request.user).filter(origin=agency)
    try:
        page = selectors.paginate_use_cases(
            own, ordering="title", cursor=request.GET.get(CURSOR_PARAM), page_size=PAGE_SIZE
        )
    except selectors.CursorInvalid as exc:
        return _bad_request(request, {CURSOR_PARAM: [str(exc)]})
    today = timezone.localdate()  # in the key: whether a review is overdue changes at midnight
    mix = selectors.cached_counts(
        f"page-agency|{today.isoformat()}",
        own,
        lambda: {
            **selectors.facet_counts(own, fields=("stage", "ai_act_risk")),
            "last_received": own.aggregate(last=Max("received_at"))["last"],
            "quality": selectors.quality_summary(own, today=today),
        },
    )
    context = {
        "nav": "agencies",
        "agency": agency,
        # Every record, with a stage or not (the stage chart counts only those that state one).
        "total": mix["quality"]["count"],
        "is_home": agency.code == settings.NODE_AGENCY,
        "last_sync": _last_successful_sync(agency.code),
        "sync_health": _sync_health(agency.code),
        "last_received": mix["last_received"],
        "stage_chart": _vocabulary_chart(mix["stage"], v.Stage, _("Use cases by stage"), "stage"),
        "risk_chart": _vocabulary_chart(
            mix["ai_act_risk"], v.AiActRisk, _("Use cases by AI Act risk class"), "risk"
        ),
        "results": _result_items(page.items, "", today),
        "page": _page_links(request, page),
        "catalogue_url": f"{reverse('catalogue:home')}?agency={agency.code}",
        "quality": mix["quality"],
        "overdue": mix["quality"]["flags"][quality.REVIEW_OVERDUE],
        "overdue_url": f"{reverse('catalogue:home')}?agency={agency.code}&review_overdue=1",
    }
    return render(request, "catalogue/agency.html", context)


@cache_anonymous_get
def statistics(request: HttpRequest) -> HttpResponse:
    """Charts and tables over the use cases the visitor may see that match the catalogue's
    filters and search: the catalogue page's query string, counted as /api/v1/stats/ counts it
    (the two share one cached count). Bad filters get the catalogue's 400 page."""
    params = request.GET
    search = params.get(SEARCH_PARAM, "")
    today = timezone.localdate()
    visible = selectors.visible_use_cases(user=request.user)
    if errors := query_text.query_errors(params, search_param=SEARCH_PARAM):
        return _bad_request(request, errors)
    try:
        check_parameters(params, allowed=STATISTICS_PARAMETERS)
        filtered = selectors.filter_use_cases(
            visible, params=params, user=request.user, today=today
        )
    except FilterInvalid as exc:
        return _bad_request(request, exc.errors)
    matches = selectors.search_use_cases(filtered, query=search)
    stats = selectors.catalogue_stats(matches, today=today)
    catalogue_url = reverse("catalogue:home")
    agency_names = dict(Agency.objects.values_list("code", "name"))
    context = {
        "nav": "statistics",
        "total": stats["total"],
        "reference_total": stats["reference_total"],
        "source_links": _source_links(params, show=bool(stats["reference_total"])),
        "search": search,
        "active_filters": _active_filters(params, agency_names),
        "catalogue_url": statistics_page.filtered_url(catalogue_url, params),
        "charts": statistics_page.page_charts(stats, params=params, catalogue_url=catalogue_url),
        "agencies": statistics_page.agency_overview(
            stats, params=params, catalogue_url=catalogue_url, last_sync=_last_contact(visible)
        ),
        "on_hub": settings.NODE_ROLE == "hub",
        "stage_labels": v.Stage.labels,
        "quality": stats["quality"],
    }
    return render(request, "catalogue/statistics.html", context)


def _source_links(params: QueryDict, *, show: bool) -> list[dict]:
    """The statistics of the network's agencies only, or of the other public registers only
    (filter `source`, issue 11), with the visitor's other filters kept; none when no register's
    record is counted and no source is chosen."""
    chosen = raw_values(params, SOURCE)
    if not show and not chosen:
        return []
    url = reverse("catalogue:statistics")
    return [
        {
            "label": label,
            "url": statistics_page.filtered_url(url, params, **{SOURCE: value}),
            "selected": chosen == [value],
        }
        for value, label in Source.choices
    ]


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and feed readers ask for /favicon.ico whatever a page links; the icon itself is
    a static file (served by WhiteNoise, under a hashed name in production, so the redirect is
    temporary)."""
    return HttpResponseRedirect(static("catalogue/favicon.ico"))


def _facets(params, search, user, agency_names, today: dt.date) -> tuple[list[dict], int]:
    """Facet groups for the filter form, counts included, and the number of matches. A facet
    with values chosen is counted as if it had none, so its other values still show how many
    a wider choice would add (values of one facet combine with OR)."""
    names = [name for name, _label in PAGE_FACETS if name in selectors.facet_fields(user=user)]
    counts, total = selectors.catalogue_facet_counts(
        params=params,
        search=search,
        user=user,
        fields=(*names, selectors.REVIEW_OVERDUE),
        widen=True,
        today=today,
    )
    labels = dict(PAGE_FACETS)
    groups = [
        {
            "param": name,
            "label": labels[name],
            "options": _facet_options(name, counts[name], _chosen(params, name), agency_names),
        }
        for name in names
    ]
    position = names.index(OVERDUE_AFTER) + 1 if OVERDUE_AFTER in names else len(names)
    groups.insert(position, _overdue_group(params, counts[selectors.REVIEW_OVERDUE]["1"]))
    return registers.split_agency_facet(groups), total


def _kept_filters(params: QueryDict, facets: list[dict]) -> list[tuple[str, str]]:
    """(name, value) of each chosen filter value the form has no ticked box for (a date range,
    sourcing, a yes/no field, review_overdue=0...): the form carries them as hidden inputs, so
    that ticking a facet, with or without JavaScript, narrows what the address chose instead of
    dropping them (a statistics chart's link, then a tick). Their chips still remove them."""
    ticked = {
        (group["param"], str(option["value"]).upper())
        for group in facets
        for option in group["options"]
        if option["selected"]
    }
    return [
        (name, value)
        for name in FILTERS
        for value in raw_values(params, name)
        if (name, value.upper()) not in ticked
    ]


def _overdue_group(params: QueryDict, count: int) -> dict:
    """One box, "Review overdue", ticked for review_overdue=1 (the filters were validated)."""
    chosen = [value.lower() for value in raw_values(params, selectors.REVIEW_OVERDUE)]
    option = {
        "value": "1",
        "label": quality.FLAG_LABELS[quality.REVIEW_OVERDUE],
        "count": count,
        "selected": bool(chosen) and chosen[0] in TRUE_WORDS,
    }
    return {"param": selectors.REVIEW_OVERDUE, "label": _("Review"), "options": [option]}


def _chosen(params: QueryDict, name: str) -> set[str]:
    values = raw_values(params, name)
    if FILTERS[name].kind in {"agency", "country"}:
        return {value.upper() for value in values}
    return set(values)


def _facet_options(name: str, counts: dict, chosen: set[str], agency_names: dict) -> list[dict]:
    counts = dict(counts)
    for value in chosen - set(counts):
        counts[value] = 0  # still listed, so it can be unticked
    # Values no record has are left out (ticking one could only empty the list).
    return [
        {
            "value": value,
            "label": _option_label(name, value, agency_names),
            "count": n,
            "selected": value in chosen,
        }
        for value, n in counts.items()
        if n or value in chosen
    ]


def _option_label(name: str, value: str, agency_names: dict) -> str:
    spec = FILTERS[name]
    if spec.kind in {"overdue", "bool"}:
        return str(_("yes") if value.lower() in TRUE_WORDS else _("no"))
    if spec.choices:
        return str(spec.choices(value).label)
    if spec.kind == "agency":
        return f"{agency_names.get(value.upper(), value)} ({value.upper()})"
    return value


def _related(use_case: UseCase, *, user) -> list[dict]:
    """The record's `related` links, resolved to the visible local copies where there are any."""
    links = use_case.related or []
    wanted = Q()
    for link in links:
        wanted |= Q(origin_id=link["origin"], uid=link["uid"])
    found = {}
    if links:
        for other in selectors.visible_use_cases(user=user).filter(wanted):
            found[(other.origin_id, str(other.uid))] = other
    return [
        {
            **link,
            "kind_label": v.RelationKind(link["kind"]).label,
            "use_case": found.get((link["origin"], str(link["uid"]))),
        }
        for link in links
    ]


def _last_successful_sync(agency_code: str):
    """When this node and that agency's node last synchronised: the later of this node's last
    successful run against it (it is a peer here, e.g. the hub for an agency node) and its last
    call to this node with its token (e.g. an agency pushing to the hub). The catalogue shows
    this much of sync/ and nothing more."""
    try:
        from sync.models import PeerToken, SyncRun
    except ImportError:
        return None
    try:
        runs = SyncRun.objects.filter(peer__agency=agency_code, finished__isnull=False, error="")
        outbound = runs.aggregate(last=Max("finished"))["last"]
        inbound = PeerToken.objects.filter(agency=agency_code).aggregate(last=Max("last_used"))
    except FieldError:
        return None
    moments = [moment for moment in (outbound, inbound["last"]) if moment]
    return max(moments, default=None)


def _last_contact(visible) -> Callable[[str], dt.datetime | None]:
    """What the statistics page's "Last sync" column shows for an agency. On the hub, the last
    successful sync with it (_last_successful_sync: agencies push to and pull from the hub). An
    agency node talks to the hub alone, and other agencies' records reach it through the hub,
    so there: when this node last received that agency's records (the latest received_at of
    its visible records; None for this node's own)."""
    if settings.NODE_ROLE == "hub":
        return _last_successful_sync
    received = dict(
        visible.exclude(received_at=None)
        .values_list("origin_id")
        .annotate(last=Max("received_at"))
        .values_list("origin_id", "last")
        .order_by()
    )
    return received.get


def _sync_health(agency_code: str):
    """On the hub, how the agency's sync stands (sync.ledger.agency_health: in touch within its
    interval, no refused record open); elsewhere None, since only the hub sees every agency."""
    if settings.NODE_ROLE != "hub" or agency_code == settings.NODE_AGENCY:
        return None
    from sync import ledger

    return ledger.agency_health(agency_code)


def _vocabulary_chart(counts: dict[str, int], choices, title, chart_id: str):
    bars = [charts.Bar(str(choices(code).label), n) for code, n in counts.items()]
    return charts.bar_chart(bars, title=str(title), chart_id=chart_id)


def _result_items(use_cases: list[UseCase], search: str, today: dt.date) -> list[dict]:
    snippets = selectors.search_snippets(use_cases, query=search) if search.strip() else {}
    return [
        {
            "use_case": use_case,
            # registry.search escapes the text and adds only <mark> elements.
            "snippet": mark_safe(snippets.get(use_case.pk, "")),
            "review_overdue": quality.is_review_overdue(
                use_case.next_review_on, use_case.stage, today, origin=use_case.origin_id
            ),
        }
        for use_case in use_cases
    ]


def _active_filters(params: QueryDict, agency_names: dict) -> list[dict]:
    """One removable chip per chosen filter value (the filters were validated before)."""
    chips = []
    facet_labels = dict(PAGE_FACETS)
    for name in FILTERS:
        values = raw_values(params, name)
        for value in values:
            remaining = params.copy()
            remaining.setlist(name, [other for other in values if other != value])
            remaining.pop(CURSOR_PARAM, None)
            remaining.pop(PAGE_NUMBER_PARAM, None)
            if FILTERS[name].kind == "date":
                label = _date_filter_label(name, value)
            else:
                value_label = _option_label(name, value, agency_names)
                label = f"{_filter_label(name, facet_labels)}: {value_label}"
            chips.append({"label": label, "remove_url": f"?{remaining.urlencode()}"})
    return chips


def _filter_label(name: str, facet_labels: dict) -> str:
    """A filter's name as the reader knows it: its facet's heading, else the record field's
    label (RECORD.md, the model's verbose_name), never the raw parameter."""
    if name == selectors.REVIEW_OVERDUE:
        return str(quality.FLAG_LABELS[quality.REVIEW_OVERDUE])
    if name == SOURCE:
        return str(_("Source"))
    if name in facet_labels:
        return str(facet_labels[name])
    return capfirst(str(UseCase._meta.get_field(FILTERS[name].field).verbose_name))


def _date_filter_label(name: str, value: str) -> str:
    """A date filter's chip: "In production since on or after 1 January 2023"."""
    spec = FILTERS[name]
    field = str(DATE_FILTER_LABELS.get(spec.field, spec.field))
    day = date_format(dt.date.fromisoformat(value.strip()), "j F Y")
    if spec.lookup == "gte":
        return str(_("%(field)s on or after %(day)s") % {"field": field, "day": day})
    return str(_("%(field)s on or before %(day)s") % {"field": field, "day": day})


def _page_links(request: HttpRequest, page: selectors.Page) -> dict:
    """First and next page (keyset paging has no cheap way back; the browser's Back button
    has). The page number only labels the page: the cursor alone says where it starts."""
    params = request.GET.copy()
    number = _page_number(params) if params.get(CURSOR_PARAM) else 1
    for transient in (CURSOR_PARAM, PAGE_NUMBER_PARAM):
        params.pop(transient, None)
    links = {"number": number, "first_url": None, "next_url": None}
    if number > 1:
        links["first_url"] = f"?{params.urlencode()}"
    if page.next_cursor:
        params[CURSOR_PARAM] = page.next_cursor
        params[PAGE_NUMBER_PARAM] = str(number + 1)
        links["next_url"] = f"?{params.urlencode()}"
    return links


def _page_number(params: QueryDict) -> int:
    raw = params.get(PAGE_NUMBER_PARAM, "")
    return min(int(raw), MAX_PAGE_NUMBER) if raw.isdigit() and int(raw) > 1 else 2


def _export_url(url_name: str, params: QueryDict) -> str:
    """The API's export of the same filters and search (it streams every matching record)."""
    kept = params.copy()
    for transient in (CURSOR_PARAM, PAGE_NUMBER_PARAM, SORT_PARAM):
        kept.pop(transient, None)
    query = kept.urlencode()
    return reverse(url_name) + (f"?{query}" if query else "")


def _canonical_uid(raw: str) -> uuid.UUID | None:
    """The uid of a use-case address, None unless written as the catalogue writes it (lowercase,
    hyphenated), so that each record has one address."""
    try:
        parsed = uuid.UUID(raw)
    except ValueError:
        return None
    return parsed if str(parsed) == raw else None


def _withdrawn_or_not_found(request: HttpRequest, *, origin: str, uid: uuid.UUID) -> HttpResponse:
    """410 Gone for a record its agency took back from the network or deleted (this node keeps
    its tombstone), when the reader could see it before (the Atom feed's rule: anonymous readers
    learn of withdrawn public records, members of network ones too); otherwise the same 404 as
    for an address that never held anything, so that a record never shown to this reader cannot
    be told apart from nothing."""
    tombstone = (
        changes.withdrawals(user=request.user, params=QueryDict())
        .filter(origin=origin, uid=uid)
        .first()
    )
    if tombstone is None:
        return _not_found(request)
    agency = Agency.objects.filter(code=origin).first()
    context = {"agency_name": agency.name if agency else origin, "withdrawn_on": tombstone.modified}
    return render(request, "catalogue/withdrawn.html", context, status=410)


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any other address under the catalogue that ends with a slash: the catalogue's plain 404,
    with DEBUG on too (an address without the slash still gets CommonMiddleware's redirect)."""
    return _not_found(request)


def _not_found(request: HttpRequest) -> HttpResponse:
    """The page Django's own 404 handler shows with DEBUG off, rendered here so that visitors
    get it with DEBUG on too (raising Http404 would show the debug page then)."""
    return render(request, "404.html", status=404)


def _bad_request(
    request: HttpRequest, errors: dict[str, list[str]], *, search: str | None = None
) -> HttpResponse:
    """The 400 page listing errors by parameter; with search, a search box holding it."""
    context = {"errors": errors, "nav": "catalogue", "search": search}
    return render(request, "catalogue/bad_request.html", context, status=400)
