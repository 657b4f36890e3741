"""The Atom feed of catalogue changes, /feeds/use-cases.atom (RFC 4287, Django's syndication
framework): the FEED_SIZE most recent changes a reader may see, newest first, narrowed by the
catalogue's own query parameters (catalogue.filters, `search`). A withdrawal is an entry of its
own ("Withdrawn: title"), shown under the rules of catalogue.changes; for an anonymous reader a
public record moved to network level is one too ("Withdrawn from the public catalogue: title").

Entry ids are tag URIs (RFC 4151) minted from the node's SITE_URL host, one per record and
version: `tag:HOST,2026:use-case/ORIGIN/UID/vVERSION`. They never change for a given version, so a
reader shows each change once, and a new version is a new entry. A record leaving the public
catalogue is `.../vVERSION/left-public`: members see that same version as an update of its own id.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext as _

from catalogue import changes, query_text, selectors
from catalogue.filters import FilterInvalid, allowed_parameters, check_parameters
from catalogue.response_cache import cache_anonymous_get
from registry.models import Agency, UseCase

FEED_SIZE = 50
TAG_DATE = "2026"
# Parameters of the catalogue page that do not select records.
PAGE_ONLY_PARAMETERS = ("cursor", "page", "sort")


def tag_authority() -> str:
    """The host of SITE_URL: configured, so an id does not depend on how the node was reached."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def entry_id(origin: str, uid, version: int, *, left_public: bool = False) -> str:
    suffix = "/left-public" if left_public else ""
    return f"tag:{tag_authority()},{TAG_DATE}:use-case/{origin}/{uid}/v{version}{suffix}"


class UseCaseChangesFeed(Feed):
    feed_type = Atom1Feed

    def __call__(self, request, *args, **kwargs):
        try:
            return super().__call__(request, *args, **kwargs)
        except FilterInvalid as exc:
            return _bad_request(request, exc.errors)

    def get_object(self, request: HttpRequest, *args, **kwargs) -> dict:
        """The changes themselves, read once per request (the Feed instance is shared)."""
        # Unknown parameters are refused as on the catalogue page and in the API.
        check_parameters(request.GET, allowed=allowed_parameters("search", *PAGE_ONLY_PARAMETERS))
        params = request.GET.copy()
        for name in PAGE_ONLY_PARAMETERS:
            params.pop(name, None)
        query = params.get("search", "")
        if errors := query_text.search_text_errors(query):
            raise FilterInvalid({"search": errors})
        today = timezone.localdate()
        visible = selectors.visible_use_cases(user=request.user)
        live = selectors.search_use_cases(
            selectors.filter_use_cases(visible, params=params, user=request.user, today=today),
            query=query,
        )
        withdrawn = changes.withdrawals(
            user=request.user, params=params, today=today, departures=True
        )
        return {
            "query": params.urlencode(),
            "items": changes.recent_changes(live, withdrawn, limit=FEED_SIZE),
            "agencies": dict(Agency.objects.values_list("code", "name")),
        }

    # ---- the feed ---------------------------------------------------------------------------

    def title(self, obj: dict) -> str:
        if obj["query"]:
            return _("Changes to AI use cases (filtered)")
        return _("Changes to AI use cases")

    def subtitle(self, obj: dict) -> str:
        return _(
            "New, changed and withdrawn AI use cases in the catalogue of the European medicines "
            "regulatory network, newest first."
        )

    def link(self, obj: dict) -> str:
        return reverse("catalogue:home") + (f"?{obj['query']}" if obj["query"] else "")

    def feed_url(self, obj: dict) -> str:
        return reverse("catalogue:feed") + (f"?{obj['query']}" if obj["query"] else "")

    def feed_guid(self, obj: dict) -> str:
        query = f"?{obj['query']}" if obj["query"] else ""
        return f"tag:{tag_authority()},{TAG_DATE}:use-cases.atom{query}"

    def author_name(self, obj: dict) -> str:
        return obj["agencies"].get(settings.NODE_AGENCY, settings.NODE_AGENCY)

    def items(self, obj: dict) -> list:
        agencies = obj["agencies"]
        return [(item, agencies.get(_origin(item), _origin(item))) for item in obj["items"]]

    # ---- one entry (item, agency name) ------------------------------------------------------

    def item_title(self, item) -> str:
        change, _agency = item
        if isinstance(change, changes.Withdrawal):
            if change.left_public:
                return _("Withdrawn from the public catalogue: %(title)s") % {"title": change.title}
            return _("Withdrawn: %(title)s") % {"title": change.title}
        return change.title

    def item_description(self, item) -> str:
        """Atom's summary, sent as type="html": the text escaped."""
        change, agency = item
        if isinstance(change, changes.Withdrawal):
            day = change.modified.date().isoformat()
            if change.left_public:
                text = _(
                    "%(agency)s withdrew this use case from the public catalogue on %(day)s."
                ) % {"agency": agency, "day": day}
            else:
                text = _("%(agency)s withdrew this use case from the catalogue on %(day)s.") % {
                    "agency": agency,
                    "day": day,
                }
            return escape(text)
        return escape(change.summary)

    def item_link(self, item) -> str:
        change, _agency = item
        return reverse("catalogue:use-case", args=[_origin(change), str(change.uid)])

    def item_guid(self, item) -> str:
        change, _agency = item
        left_public = isinstance(change, changes.Withdrawal) and change.left_public
        return entry_id(_origin(change), change.uid, change.version, left_public=left_public)

    item_guid_is_permalink = False

    def item_updateddate(self, item):
        return item[0].modified

    def item_author_name(self, item) -> str:
        """The origin agency; for a reference register's record, the body that runs the system
        and its register ('HHS / FDA / CDER — US Federal AI Use Case Inventory (OMB, 2025)')."""
        change, agency = item
        if isinstance(change, UseCase) and change.is_reference:
            return f"{change.business_unit} — {agency}"
        return agency

    def item_categories(self, item) -> list[str]:
        change, _agency = item
        if isinstance(change, changes.Withdrawal):
            return ["withdrawn"]
        return [value for value in (change.stage, change.ai_act_risk) if value]


def _origin(change: UseCase | changes.Withdrawal) -> str:
    return change.origin if isinstance(change, changes.Withdrawal) else change.origin_id


def _bad_request(request: HttpRequest, errors: dict[str, list[str]]) -> HttpResponse:
    """The catalogue's own 400 page, naming each bad parameter."""
    context = {"errors": errors, "nav": "catalogue"}
    return render(request, "catalogue/bad_request.html", context, status=400)


# Anonymous readers share one rendering per address for CATALOGUE_CACHE_SECONDS, like the pages.
use_case_feed = cache_anonymous_get(UseCaseChangesFeed())
