"""Related use cases in the admin: a picker that searches the node's view, and a warning of similar
use cases while an admin registers one.

The `related` field posts one "AGENCY uid kind" line per relation in a textarea, so it works
without JavaScript; registry/static/registry/admin/related.js turns the textarea into rows with a
search box, and shows the most similar use cases near the title as the admin types. Both read
through two JSON endpoints of UseCaseAdmin (RelatedUseCasesAdminMixin), over what the admin may
see: their own agency's records at every level and the network's shared copies."""

import json
import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import JsonResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from registry import search as fulltext
from registry import services
from registry import vocabularies as v
from registry.models import UseCase
from registry.validation import CHECKERS, FIELDS

SEARCH_LIMIT = 10
SIMILAR_LIMIT = 5
MAX_TEXT_LENGTH = 1000
SIMILAR_KINDS = (
    v.RelationKind.DUPLICATE_OF,
    v.RelationKind.SAME_PRODUCT,
    v.RelationKind.DERIVED_FROM,
)


# ---- reads ------------------------------------------------------------------------------------


def node_view(user) -> QuerySet[UseCase]:
    """What user may pick from: own records and received copies (registry.services.viewable_by);
    without a user, the node's whole table."""
    use_cases = UseCase.objects.select_related("origin")
    return use_cases if user is None else services.viewable_by(user, use_cases)


def search_by_title(
    *, user, query: str, exclude_pk: int | None = None, limit: int = SEARCH_LIMIT
) -> list[UseCase]:
    """Use cases whose title (or English title) holds every word of query, or whose uid it is."""
    query = fulltext.normalise_query(query)[:MAX_TEXT_LENGTH]
    use_cases = node_view(user).exclude(pk=exclude_pk)
    uid = _as_uuid(query)
    if uid is not None:
        return list(use_cases.filter(uid=uid)[:limit])
    words = fulltext.query_words(query)
    if not words:
        return []
    for word in words:
        use_cases = use_cases.filter(Q(title__icontains=word) | Q(title_en__icontains=word))
    return list(use_cases.order_by("title", "pk")[:limit])


def similar_to_text(
    *,
    user,
    title: str,
    title_en: str = "",
    summary: str = "",
    exclude_pk: int | None = None,
    limit: int = SIMILAR_LIMIT,
) -> list[UseCase]:
    """The catalogue's similarity (registry.search.similar, as in selectors.similar_use_cases)
    for a text being typed, over the node's view: this agency's records and other agencies'."""
    text = " ".join([title_en or title, summary])[:MAX_TEXT_LENGTH]
    use_cases = node_view(user).exclude(pk=exclude_pk)
    ranked = fulltext.similar(use_cases, text).order_by("-search_rank", "pk")
    return list(ranked[: max(0, limit)])


def as_json(use_case: UseCase) -> dict:
    catalogue_url = None
    if use_case.publication_level in v.SHARED_LEVELS:
        catalogue_url = reverse("catalogue:use-case", args=[use_case.origin_id, use_case.uid])
    return {
        "origin": use_case.origin_id,
        "uid": str(use_case.uid),
        "title": use_case.title,
        "agency": use_case.origin.name,
        "stage": use_case.get_stage_display() if use_case.stage else "",
        "url": reverse("admin:registry_usecase_change", args=[use_case.pk]),
        "catalogue_url": catalogue_url,
    }


def _link_parts(use_case: UseCase) -> tuple[str, str, str]:
    facts = [use_case.origin.name]
    if use_case.stage:
        facts.append(str(use_case.get_stage_display()))
    return as_json(use_case)["url"], use_case.title, ", ".join(facts)


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def _as_pk(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


# ---- the form field ---------------------------------------------------------------------------


def parse_relations(value) -> list[dict]:
    """A JSON list (the wire form) or one "AGENCY uid kind" per line, checked by RECORD.md's
    validator; exact repeats dropped. ValidationError names the line it cannot read."""
    if isinstance(value, list):
        items = value
    elif (value or "").strip().startswith("["):
        try:
            items = json.loads(value)
        except ValueError:
            raise ValidationError(_("This is not a valid JSON list."), code="invalid") from None
    else:
        lines = enumerate(value.splitlines(), 1)
        items = [_parse_line(number, line) for number, line in lines if line.strip()]
    try:
        links = CHECKERS["related"](items, FIELDS["related"])
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid") from None
    return list({(link["origin"], link["uid"], link["kind"]): link for link in links}.values())


def _parse_line(number: int, line: str) -> dict:
    parts = line.split()
    if len(parts) != 3:
        raise ValidationError(
            _(
                "Line %(number)d: write the agency code, the uid and the kind, separated by "
                "spaces (for example DE-BFARM 1b4e28ba-2fa1-11d2-883f-0016d3cca427 same_product)."
            ),
            code="invalid",
            params={"number": number},
        )
    return {"origin": parts[0].upper(), "uid": parts[1], "kind": parts[2].lower()}


def relations_text(links: list[dict]) -> str:
    return "\n".join(f"{link['origin']} {link['uid']} {link['kind']}" for link in links)


class RelatedUseCasesWidget(forms.Textarea):
    """The textarea of lines, wrapped in #related-picker with what related.js needs."""

    template_name = "admin/registry/usecase/related_widget.html"

    class Media:
        css = {"all": ("registry/admin/related.css",)}
        js = ("registry/admin/related.js",)

    def __init__(self, attrs=None):
        super().__init__({"rows": 3, "class": "vLargeTextField related-value", **(attrs or {})})
        self.user = None
        self.exclude_pk = None

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        try:
            links = parse_relations(value or "")
        except ValidationError:
            links = None  # the admin fixes the text first; the script leaves it alone
        context["picker"] = {
            "rows": _resolved(links or [], user=self.user),
            "enhance": links is not None,
            "search_url": _admin_url("related_search"),
            "similar_url": _admin_url("similar"),
            "exclude": self.exclude_pk or "",
            "kinds": [[value, str(label)] for value, label in v.RelationKind.choices],
            "similar_kinds": [str(kind) for kind in SIMILAR_KINDS],
        }
        return context


def _admin_url(name: str) -> str:
    try:
        return reverse(f"admin:registry_usecase_{name}")
    except NoReverseMatch:
        return ""


def _resolved(links: list[dict], *, user) -> list[dict]:
    """Each link with the title, agency and admin page of the record it names, where visible."""
    wanted = Q()
    for link in links:
        wanted |= Q(origin_id=link["origin"], uid=link["uid"])
    found = {}
    if links:
        found = {(u.origin_id, str(u.uid)): as_json(u) for u in node_view(user).filter(wanted)}
    rows = []
    for link in links:
        known = found.get((link["origin"], link["uid"]), {"title": "", "agency": "", "url": ""})
        rows.append({**known, **link})
    return rows


class RelatedUseCasesField(forms.Field):
    """Relations to use cases of the node's view. A link stored before stays acceptable when its
    record has left the view since (another agency withdrew it): saving must not drop it."""

    widget = RelatedUseCasesWidget

    def __init__(self, *, user=None, instance=None, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            _(
                "Search and add the related use cases, each with its kind. Without JavaScript: "
                "one per line, agency code, uid and kind (duplicate_of, derived_from, "
                "same_product or supersedes)."
            ),
        )
        super().__init__(**kwargs)
        self.user = user
        self.instance = instance
        self.stored = set()
        if instance is not None:
            self.stored = {(link["origin"], str(link["uid"])) for link in instance.related or []}
        self.widget.user = user
        self.widget.exclude_pk = instance.pk if instance is not None else None

    def prepare_value(self, value):
        try:
            return relations_text(parse_relations(value or ""))
        except ValidationError:
            return value

    def to_python(self, value) -> list[dict]:
        return parse_relations(value or "")

    def validate(self, value):
        super().validate(value)
        visible = set()
        if value:
            wanted = Q()
            for link in value:
                wanted |= Q(origin_id=link["origin"], uid=link["uid"])
            pairs = node_view(self.user).filter(wanted).values_list("origin_id", "uid")
            visible = {(origin, str(uid)) for origin, uid in pairs}
        errors = [self._refusal(link, visible) for link in value]
        errors = [error for error in errors if error is not None]
        if errors:
            raise ValidationError(errors)

    def _refusal(self, link: dict, visible: set) -> ValidationError | None:
        key = (link["origin"], link["uid"])
        instance = self.instance
        if instance is not None and instance.pk and key == (instance.origin_id, str(instance.uid)):
            return ValidationError(
                _("%(origin)s %(uid)s is this use case itself."),
                code="self",
                params={"origin": key[0], "uid": key[1]},
            )
        if key not in visible and key not in self.stored:
            return ValidationError(
                _(
                    "%(origin)s %(uid)s is not a use case of this node (its own records and the "
                    "network's copies): check the agency code and the uid, or find it by searching."
                ),
                code="unknown",
                params={"origin": key[0], "uid": key[1]},
            )
        return None


# ---- the admin --------------------------------------------------------------------------------


class RelatedUseCasesAdminMixin:
    """For UseCaseAdmin: the picker's and the duplicate warning's JSON endpoints, the form's user,
    and a warning of similar use cases when a new one has been saved."""

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        own = [
            path(
                "related-search/",
                self.admin_site.admin_view(self.related_search_view),
                name=f"{prefix}_related_search",
            ),
            path(
                "similar/",
                self.admin_site.admin_view(self.similar_view),
                name=f"{prefix}_similar",
            ),
        ]
        return own + super().get_urls()  # before "<path:object_id>/", which takes anything

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request_user": request.user})

    def may_relate(self, request) -> bool:
        return self.has_add_permission(request) or self.has_change_permission(request)

    def related_search_view(self, request):
        if not self.may_relate(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        found = search_by_title(
            user=request.user,
            query=request.GET.get("q", ""),
            exclude_pk=_as_pk(request.GET.get("exclude")),
        )
        return JsonResponse({"results": [as_json(use_case) for use_case in found]})

    def similar_view(self, request):
        if not self.may_relate(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        found = similar_to_text(
            user=request.user,
            title=request.GET.get("title", ""),
            title_en=request.GET.get("title_en", ""),
            summary=request.GET.get("summary", ""),
            exclude_pk=_as_pk(request.GET.get("exclude")),
        )
        return JsonResponse({"results": [as_json(use_case) for use_case in found]})

    def response_add(self, request, obj, post_url_continue=None):
        # Here rather than in save_model, which UseCaseAdmin defines without calling super.
        self.warn_of_similar(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def warn_of_similar(self, request, use_case: UseCase) -> None:
        linked = {(link["origin"], str(link["uid"])) for link in use_case.related or []}
        found = similar_to_text(
            user=request.user,
            title=use_case.title,
            title_en=use_case.title_en,
            summary=use_case.summary,
            exclude_pk=use_case.pk,
            limit=SIMILAR_LIMIT + len(linked),
        )
        found = [u for u in found if (u.origin_id, str(u.uid)) not in linked][:SIMILAR_LIMIT]
        if not found:
            return
        listed = format_html_join("; ", '<a href="{}">{}</a> ({})', map(_link_parts, found))
        self.message_user(
            request,
            format_html(
                "{} {}. {}",
                _("Similar use cases exist already:"),
                listed,
                _(
                    "If one of them is the same work, record the relation under “Related use "
                    "cases” (duplicate of, same product, derived from)."
                ),
            ),
            messages.WARNING,
        )
