"""Django admin for agency admins: each sees and edits only their own agency's records; copies that
arrive from other agencies can be browsed, never edited."""

import datetime as dt
import uuid

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator, capfirst, format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from registry import quality, services
from registry import vocabularies as v
from registry.admin_related import RelatedUseCasesAdminMixin
from registry.forms import ENUM_LIST_FIELDS, TEXT_LIST_FIELDS, UseCaseAdminForm
from registry.models import Agency, Notice, NoUseCaseAttestation, UseCase, User
from registry.validation import FIELDS, publication_gaps

EMPTY = "–"

admin.site.site_header = format_lazy(_("AI use-case registry: {}"), settings.NODE_AGENCY)
admin.site.site_title = _("AI use-case registry")
admin.site.index_title = _("Administration")
# The sign-in page offers the agency's identity provider when single sign-on is set up.
admin.site.login_template = "admin/registry/login.html"
# The registrar's list needs the width more than a second menu: the breadcrumbs and the home page
# lead everywhere the sidebar does.
admin.site.enable_nav_sidebar = False


def is_home_agency_admin(user) -> bool:
    return user.is_active and user.is_staff and user.agency_id == settings.NODE_AGENCY


class JsonListFilter(admin.SimpleListFilter):
    """Filter on one value inside a JSON list column; works on SQLite and PostgreSQL."""

    vocabulary: type[models.TextChoices]

    def lookups(self, request, model_admin):
        return self.vocabulary.choices

    def queryset(self, request, queryset):
        if self.value() in self.vocabulary.values:
            # The quoted code cannot be a substring of another code in the same vocabulary.
            return queryset.filter(**{f"{self.parameter_name}__icontains": f'"{self.value()}"'})
        return queryset


class RegulatoryProcessFilter(JsonListFilter):
    title = _("regulatory process")
    parameter_name = "regulatory_processes"
    vocabulary = v.RegulatoryProcess


class TechniqueFilter(JsonListFilter):
    title = _("technique")
    parameter_name = "techniques"
    vocabulary = v.Technique


class OriginFilter(admin.SimpleListFilter):
    """Opens on the agency's own records; the network's copies are one click away."""

    title = _("records")
    parameter_name = "origin"
    OWN, RECEIVED, ALL = "own", "received", "all"

    def lookups(self, request, model_admin):
        return [
            (self.OWN, _("Own records")),
            (self.RECEIVED, _("Network's copies (other agencies)")),
            (self.ALL, _("All")),
        ]

    def __init__(self, request, params, model, model_admin):
        # Picking an agency in the agency filter means its records, own or not; so does searching
        # for a uid, which names one record whoever holds it.
        self.agency_chosen = any(name.startswith("origin__") for name in params) or (
            _as_uid(request.GET.get("q", "")) is not None
        )
        super().__init__(request, params, model, model_admin)

    def value(self):
        return super().value() or (self.ALL if self.agency_chosen else self.OWN)

    def choices(self, changelist):
        # No "All" of Django's own: the default (no parameter) is "own".
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == self.OWN:
            return queryset.own()
        if self.value() == self.RECEIVED:
            return queryset.received()
        return queryset


class ReadinessFilter(admin.SimpleListFilter):
    title = _("ready to publish")
    parameter_name = "ready"

    def lookups(self, request, model_admin):
        return [("yes", _("Complete")), ("no", _("Lacks something"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.publishable()
        if self.value() == "no":
            return queryset.incomplete()
        return queryset


class ComplianceFilter(admin.SimpleListFilter):
    title = _("compliance check")
    parameter_name = "compliance"

    def lookups(self, request, model_admin):
        return list(quality.FLAG_LABELS.items())

    def queryset(self, request, queryset):
        if self.value() == quality.REVIEW_OVERDUE:
            return queryset.review_overdue()
        if self.value() in quality.STORED_FLAGS:
            return queryset.filter(compliance_flags__icontains=f'"{self.value()}"')
        return queryset


@admin.register(UseCase)
class UseCaseAdmin(RelatedUseCasesAdminMixin, SimpleHistoryAdmin):
    form = UseCaseAdminForm
    # A URL typed without a scheme is taken as https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = (
        "short_title",
        "origin_code",
        "stage",
        "ai_act_risk",
        "publication_level",
        "completeness_shown",
        "lacks",
        "modified_on",
    )
    list_display_links = ("short_title",)
    list_filter = (
        OriginFilter,
        ReadinessFilter,
        ComplianceFilter,
        "publication_level",
        "stage",
        "ai_act_risk",
        RegulatoryProcessFilter,
        TechniqueFilter,
        "origin",
    )
    list_per_page = 50
    # "=uid": a uid pasted from a feed, a log or the catalogue finds its record.
    search_fields = ("title", "title_en", "summary", "purpose", "business_unit", "product", "=uid")
    search_help_text = _("Searches titles, summaries, purposes, units and products, or one UID.")
    readonly_fields = (
        "readiness",
        "compliance",
        "origin",
        "uid",
        "version",
        "created",
        "modified",
    )
    actions = ("publish_to_network_action", "publish_publicly_action", "withdraw_action")
    # RECORD.md's order; what few records state is folded away.
    fieldsets = (
        (_("Before publishing"), {"fields": ("readiness", "compliance")}),
        (_("What"), {"fields": ("title", "title_en", "language", "summary", "description",
                                "purpose", "benefits", "outputs")}),
        (_("Where in the regulatory system"), {"fields": (
            "regulatory_processes", "medicine_scope", "workplan_area", "business_unit",
            "techniques", "tags")}),
        (_("Lifecycle"), {"fields": (
            "stage", "started_on", "operational_since", "retired_on", "next_review_on")}),
        (_("EU AI Act"), {"fields": ("ai_act_role", "ai_act_risk", "ai_act_justification")}),
        (_("Data and oversight"), {"fields": (
            "affects_individuals", "personal_data", "dpia_status", "legal_basis", "data_sources",
            "human_oversight", "risks_and_mitigations", "monitoring")}),
        (_("Sourcing"), {"fields": ("sourcing", "vendor", "product")}),
        (_("Contact and related use cases"), {"fields": ("contact_email", "related")}),
        (_("Publication"), {"fields": ("publication_level",)}),
        (_("General-purpose AI and the EU database"), {
            "classes": ("collapse",), "fields": ("uses_gpai", "gpai_model", "eu_database_ref")}),
        (_("Hosting, code and reuse"), {
            "classes": ("collapse",), "fields": ("hosting", "code_url", "reusable")}),
        (_("Identifiers"), {
            "classes": ("collapse",),
            "fields": ("origin", "uid", "version", "created", "modified")}),
    )  # fmt: skip

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return self._read_only_fieldsets()
        return super().get_fieldsets(request, obj)

    def _read_only_fieldsets(self):
        """For a record this user may not change: whose it is first, then its values in words
        (labels, not codes or JSON; yes, no or not answered) without the editing help."""
        first = (_("Whose record"), {"fields": ("agency_shown", "copy_notice", "catalogue_page")})
        rest = [
            (name, {**options, "fields": tuple(_READABLE.get(f, f) for f in options["fields"])})
            for name, options in self.fieldsets[1:]
        ]
        return [first, *rest]

    @admin.display(description=_("agency"))
    def agency_shown(self, use_case: UseCase) -> str:
        return f"{use_case.origin.name} ({use_case.origin_id})"

    @admin.display(description=_("changed by"))
    def copy_notice(self, use_case: UseCase) -> str:
        if use_case.origin_id != settings.NODE_AGENCY:
            return _("A copy of %(agency)s's record: only its agency changes it.") % {
                "agency": use_case.origin.name
            }
        return _("%(agency)s's record: only its agency's admins change it.") % {
            "agency": use_case.origin.name
        }

    @admin.display(description=_("catalogue page"))
    def catalogue_page(self, use_case: UseCase) -> str:
        try:
            # By the URL's name: registry/ imports nothing from the catalogue.
            url = reverse("catalogue:use-case", args=[use_case.origin_id, str(use_case.uid)])
        except NoReverseMatch:
            return EMPTY
        return format_html('<a href="{}">{}</a>', url, _("This use case in the network catalogue"))

    def get_search_results(self, request, queryset, search_term):
        # A UID is matched in its canonical form: with its hyphens, lower case (PostgreSQL
        # compares the text of its uuid column). Anything else typed is no UID and matches none.
        uid = _as_uid(search_term)
        if uid is not None:
            search_term = str(uid)
        return super().get_search_results(request, queryset, search_term)

    def get_list_display(self, request):
        # The agency's own records (the list's default) all share one origin: no column for it.
        origin_chosen = any(name.startswith("origin__") for name in request.GET)
        showing = request.GET.get(OriginFilter.parameter_name, OriginFilter.OWN)
        if showing == OriginFilter.OWN and not origin_chosen:
            return tuple(name for name in self.list_display if name != "origin_code")
        return self.list_display

    @admin.display(description=_("title"), ordering="title")
    def short_title(self, use_case: UseCase) -> str:
        return Truncator(use_case.title).chars(70)

    @admin.display(description=_("complete"), ordering="completeness")
    def completeness_shown(self, use_case: UseCase) -> str:
        return f"{use_case.completeness}%"

    @admin.display(description=_("lacks"))
    def lacks(self, use_case: UseCase) -> str:
        if not use_case.gaps:
            return "–"
        names = [_field_label(name) for name in use_case.gaps]
        return Truncator(", ".join(names)).chars(60)

    @admin.display(description=_("modified"), ordering="modified")
    def modified_on(self, use_case: UseCase) -> str:
        return date_format(timezone.localdate(use_case.modified), "DATE_FORMAT")

    @admin.display(description=_("lacks before publishing"))
    def readiness(self, use_case: UseCase):
        if use_case.pk is None:
            return _("A draft needs only a title and its language; the rest when you publish.")
        gaps = publication_gaps(use_case.to_record())
        if not gaps:
            return format_html(
                "<strong>{}</strong> {}",
                _("Complete:"),
                _("this record may be published (completeness %(score)d%%).")
                % {"score": use_case.completeness},
            )
        return format_html(
            "<p>{}</p><ul class='readiness'>{}</ul>",
            _("Completeness %(score)d%%. Before it can be published it still needs:")
            % {"score": use_case.completeness},
            format_html_join(
                "",
                "<li><a href='#id_{}'>{}</a>: {}</li>",
                ((name, _field_label(name), " ".join(msgs)) for name, msgs in gaps.items()),
            ),
        )

    @admin.display(description=_("compliance checks"))
    def compliance(self, use_case: UseCase):
        found = quality.record_flags(use_case)
        if not found:
            return _("No open compliance check.")
        return format_html_join(
            "", "<p class='compliance-flag'>{}</p>", ((quality.FLAG_LABELS[f],) for f in found)
        )

    @admin.display(description=_("origin"), ordering="origin_id")
    def origin_code(self, use_case: UseCase) -> str:
        return use_case.origin_id

    def get_queryset(self, request):
        return services.viewable_by(request.user, super().get_queryset(request))

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        if not self.has_module_permission(request):
            return False
        return obj is None or services.can_view(request.user, obj)

    def has_add_permission(self, request):
        if settings.NODE_ROLE == "hub":
            return False  # the hub owns no use cases (PROTOCOL.md); it holds the network's copies
        return request.user.is_superuser or is_home_agency_admin(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return self.has_add_permission(request)
        return services.can_edit(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    # simple-history's views ask this one; by default it would only ask the view permission. The
    # record's agency decides here, whatever SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS says.
    def has_view_history_or_change_history_permission(self, request, obj=None):
        return self.has_view_history_permission(request, obj) or self.has_change_history_permission(
            request, obj
        )

    def has_view_history_permission(self, request, obj=None):
        # A shared record's history holds its earlier versions, drafts included: its own agency's.
        user = request.user
        if obj is not None and not user.is_superuser and obj.origin_id != user.agency_id:
            return False
        return self.has_view_permission(request, obj)

    def has_change_history_permission(self, request, obj=None):
        return obj is not None and self.has_change_permission(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history saves a posted revert after checking only the view permission.
        if request.method == "POST":
            use_case = self.get_object(request, unquote(object_id))
            if use_case is None or not self.has_change_history_permission(request, use_case):
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            # Everything shown (simple-history's form view asks this, not the view-only flag).
            return flatten_fieldsets(self.get_fieldsets(request, obj))
        return self.readonly_fields

    def render_change_form(self, request, context, *args, **kwargs):
        form = context.get("adminform").form if context.get("adminform") else None
        if form is not None and form.is_bound and form.errors:
            context["error_summary"] = _error_summary(form)
        return super().render_change_form(request, context, *args, **kwargs)

    def save_model(self, request, obj, form, change):
        before = None
        if change:
            before = UseCase.objects.filter(pk=obj.pk).values_list("publication_level", flat=True)
            before = before.first()
        else:
            obj.origin_id = settings.NODE_AGENCY
        services.save_use_case(obj, user=request.user)
        self.message_user(request, _publication_message(obj, before=before), messages.SUCCESS)
        # It says what was saved and where it goes: Django's "was changed successfully" would
        # only repeat it (message_user below drops it).
        request._use_case_save_said = True

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        if level == messages.SUCCESS and getattr(request, "_use_case_save_said", False):
            request._use_case_save_said = False  # ours went first; this is Django's default
            return
        super().message_user(request, message, level, *args, **kwargs)

    def delete_model(self, request, obj):
        services.delete_use_case(obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for use_case in queryset:
            self.delete_model(request, use_case)

    @admin.action(description=_("Publish to the network"))
    def publish_to_network_action(self, request, queryset):
        self._set_level(request, queryset, v.PublicationLevel.NETWORK)

    @admin.action(description=_("Publish to the public catalogue"))
    def publish_publicly_action(self, request, queryset):
        self._set_level(request, queryset, v.PublicationLevel.PUBLIC)

    @admin.action(description=_("Withdraw from the network (back to internal)"))
    def withdraw_action(self, request, queryset):
        self._set_level(request, queryset, v.PublicationLevel.INTERNAL)

    def _set_level(self, request, queryset, level):
        changed, refused, before = [], 0, None
        for use_case in queryset.select_related("origin"):
            level_before = use_case.publication_level
            if not services.can_edit(request.user, use_case):
                self.message_user(
                    request,
                    _("“%(title)s” is another agency's record: read-only here.")
                    % {"title": use_case},
                    level=messages.WARNING,
                )
                refused += 1
                continue
            try:
                services.set_publication_level(use_case, level, user=request.user)
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(
                    request,
                    _("“%(title)s” was not changed: %(why)s")
                    % {"title": use_case, "why": _error_text(exc)},
                    messages.ERROR,
                )
                refused += 1
                continue
            changed.append(use_case)
            before = level_before if before is None else before
        if not changed:
            if not refused:  # a refusal has said so already
                self.message_user(request, _("No use case was changed."), messages.WARNING)
            return
        titles = ", ".join(f"“{Truncator(u.title).chars(60)}”" for u in changed[:5])
        more = len(changed) - 5
        if more > 0:
            titles += " " + ngettext("and %d more", "and %d more", more) % more
        self.message_user(
            request,
            _publication_message(changed[0], before=before, titles=titles, count=len(changed)),
        )


def _error_summary(form) -> list[dict]:
    """One line per refused field, linking to it (GOV.UK's error summary pattern)."""
    summary = []
    for name, messages_ in form.errors.items():
        field = form.fields.get(name)
        summary.append(
            {
                "anchor": f"id_{name}" if field is not None else "",
                "label": field.label if field is not None else _("The record as a whole"),
                "message": " ".join(messages_),
            }
        )
    return summary


def _field_label(name: str) -> str:
    return str(capfirst(UseCase._meta.get_field(name).verbose_name))


def _publication_message(
    use_case: UseCase, *, before: str | None = None, titles: str = "", count: int = 1
) -> str:
    """What a save or an action did, in the words of the person who did it. `before` is the
    record's level before this change (None: a new record)."""
    titles = titles or f"“{Truncator(use_case.title).chars(60)}”"
    level = use_case.publication_level
    shared = v.SHARED_LEVELS
    reach = ""
    if level in shared:
        if before == level:
            text = _("Saved the changes to %(titles)s; %(reach)s")
            reach = _network_reach(count, changes=True)
        elif level == v.PublicationLevel.PUBLIC and before in shared:
            text = _("Published %(titles)s in the public catalogue as well; %(reach)s")
            reach = _network_reach(count)
        elif level == v.PublicationLevel.PUBLIC:
            text = _(
                "Published %(titles)s in the public catalogue and to the network's agencies; "
                "%(reach)s"
            )
            reach = _network_reach(count)
        elif before in shared:
            text = _(
                "Took %(titles)s out of the public catalogue; the network's agencies keep it. "
                "%(reach)s"
            )
            reach = capfirst(_network_reach(count, changes=True))
        else:
            text = _("Published %(titles)s to the network: %(reach)s")
            reach = _network_reach(count)
    elif before in shared:
        text = _(
            "Withdrew %(titles)s from the network: the other agencies remove their copies at "
            "their next sync. It stays here at level %(level)s."
        )
        if not settings.HUB_URL:
            text = _(
                "Withdrew %(titles)s from the network: the other agencies remove their copies "
                "once this node syncs with a hub. It stays here at level %(level)s."
            )
    elif use_case.gaps:
        text = _(
            "Saved %(titles)s at level %(level)s, seen only at this agency. Before it can be "
            "published it still needs: %(gaps)s."
        )
    else:
        text = _(
            "Saved %(titles)s at level %(level)s, seen only at this agency; it is complete "
            "and can be published."
        )
    return text % {
        "titles": titles,
        "level": use_case.get_publication_level_display(),
        "gaps": ", ".join(_field_label(name) for name in use_case.gaps),
        "reach": reach,
    }


def _network_reach(count: int, *, changes: bool = False) -> str:
    """When the network has it: within seconds at the hub when this node has one (HUB_URL),
    otherwise only once it syncs with one."""
    if not settings.HUB_URL:
        if changes:
            return _("the network gets them once this node syncs with a hub.")
        return ngettext(
            "the network's agencies get it once this node syncs with a hub.",
            "the network's agencies get them once this node syncs with a hub.",
            count,
        )
    if changes:
        return _("the hub has them within seconds, the other agencies at their next sync.")
    return ngettext(
        "the hub has it within seconds, the other agencies at their next sync.",
        "the hub has them within seconds, the other agencies at their next sync.",
        count,
    )


def _as_uid(text: str) -> uuid.UUID | None:
    """The UID typed, with or without hyphens; None for anything else."""
    text = (text or "").strip()
    if len(text) not in (32, 36):
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


class _ReadableValue:
    """A record's field as the change view shows it to someone who may not change the record:
    labels rather than codes or JSON, yes/no/not answered in words, and none of the form's
    editing help (the help texts belong to the field's name, which this one does not take)."""

    def __init__(self, name: str):
        self.name = name
        self.__name__ = f"{name}_shown"  # the row's CSS class: field-<name>_shown
        self.short_description = capfirst(UseCase._meta.get_field(name).verbose_name)

    def __call__(self, use_case: UseCase):
        return _readable(use_case, self.name)


def _readable(use_case: UseCase, name: str):
    field = UseCase._meta.get_field(name)
    value = getattr(use_case, name)
    if name in ENUM_LIST_FIELDS:
        labels = dict(ENUM_LIST_FIELDS[name].choices)
        return ", ".join(str(labels.get(code, code)) for code in value or []) or EMPTY
    if name in TEXT_LIST_FIELDS:
        return ", ".join(value or []) or EMPTY
    if name == "related":
        return _related_shown(value or [])
    if isinstance(field, models.BooleanField):
        return {True: _("Yes"), False: _("No")}.get(value, _("Not answered"))
    if value is None or value == "":
        return EMPTY
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, dt.date):
        return date_format(value, "DATE_FORMAT")
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return format_html('<a href="{}">{}</a>', value, value)
    return value


def _related_shown(links: list[dict]):
    """Each relation's kind and the record it names: its title and admin page when the record is
    shared and held here, otherwise its agency and uid."""
    if not links:
        return EMPTY
    kinds = dict(v.RelationKind.choices)
    wanted = models.Q()
    for link in links:
        wanted |= models.Q(origin_id=link.get("origin"), uid=_as_uid(str(link.get("uid"))))
    held = {
        (u.origin_id, str(u.uid)): u
        for u in UseCase.objects.filter(wanted, publication_level__in=v.SHARED_LEVELS)
    }
    rows = []
    for link in links:
        kind = kinds.get(link.get("kind"), link.get("kind"))
        target = held.get((link.get("origin"), str(link.get("uid"))))
        if target is None:
            rows.append(
                format_html("<li>{}: {} {}</li>", kind, link.get("origin"), link.get("uid"))
            )
            continue
        url = reverse("admin:registry_usecase_change", args=[target.pk])
        rows.append(
            format_html(
                '<li>{}: <a href="{}">{}</a> ({})</li>', kind, url, target.title, target.origin_id
            )
        )
    return format_html(
        "<ul class='related-shown'>{}</ul>", format_html_join("", "{}", ((r,) for r in rows))
    )


_READABLE = {name: _ReadableValue(name) for name in FIELDS}


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        return "; ".join(
            f"{_field_label(field) if field in FIELDS else field}: {' '.join(msgs)}"
            for field, msgs in exc.message_dict.items()
        )
    return str(exc)


class SuperuserOnlyAdmin(admin.ModelAdmin):
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    has_add_permission = has_module_permission

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_module_permission(request)


@admin.register(Agency)
class AgencyAdmin(SuperuserOnlyAdmin):
    """Superusers keep the list of agencies; an agency's own admins keep its functional mailbox."""

    list_display = ("code", "name", "country", "kind", "contact_email")
    list_filter = ("kind", "country")
    search_fields = ("code", "name")

    def get_queryset(self, request):
        agencies = super().get_queryset(request)
        if request.user.is_superuser:
            return agencies
        return agencies.filter(code=request.user.agency_id)

    def has_module_permission(self, request):
        return super().has_module_permission(request) or is_home_agency_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        own = obj is None or obj.code == request.user.agency_id
        return is_home_agency_admin(request.user) and own

    def has_add_permission(self, request):
        return super().has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return super().has_module_permission(request)

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ()
        return ("code", "name", "country", "kind")

    def save_model(self, request, obj, form, change):
        if not change or "contact_email" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        # The records that use the old mailbox as their contact move with it (and the network
        # gets them again): otherwise they would keep an address the agency gave up.
        change_made = services.change_agency_mailbox(obj, obj.contact_email, user=request.user)
        moved = len(change_made.moved)
        if moved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d use case now uses the new mailbox %(mailbox)s as its contact.",
                    "%(count)d use cases now use the new mailbox %(mailbox)s as their contact.",
                    moved,
                )
                % {"count": moved, "mailbox": obj.contact_email},
                messages.SUCCESS,
            )
        elif obj.contact_email:
            self.message_user(
                request, _("No use case used the old mailbox as its contact."), messages.INFO
            )
        for use_case, exc in change_made.refused:
            self.message_user(
                request,
                _("“%(title)s” keeps the old mailbox: %(why)s")
                % {"title": use_case, "why": _error_text(exc)},
                messages.WARNING,
            )


@admin.register(User)
class UserAdmin(DjangoUserAdmin, SuperuserOnlyAdmin):
    list_display = ("username", "email", "agency", "is_staff", "is_superuser", "is_active")
    list_filter = ("agency", "is_staff", "is_superuser", "is_active")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Agency"), {"fields": ("agency",)}),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "agency", "is_staff", "password1", "password2")}),
    )


@admin.register(NoUseCaseAttestation)
class NoUseCaseAttestationAdmin(admin.ModelAdmin):
    list_display = ("agency", "period_start", "period_end", "attested_by", "attested_at")
    readonly_fields = ("agency", "attested_by", "attested_at")

    def get_queryset(self, request):
        attestations = super().get_queryset(request)
        if request.user.is_superuser:
            return attestations
        # User.agency points at Agency.code, the attestation's agency at its primary key.
        return attestations.filter(agency__code=request.user.agency_id)

    def has_module_permission(self, request):
        return request.user.is_superuser or is_home_agency_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def render_change_form(self, request, context, *args, **kwargs):
        form = context.get("adminform").form if context.get("adminform") else None
        if form is not None and form.is_bound and form.errors:
            context["error_summary"] = _error_summary(form)
        return super().render_change_form(request, context, *args, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.agency = request.user.agency or Agency.objects.get(code=settings.NODE_AGENCY)
            obj.attested_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    """What this node sent its agency by e-mail (registry.notices), read-only."""

    list_display = ("created", "kind", "subject", "sent_at")
    list_filter = ("kind",)
    search_fields = ("subject", "body")
    fields = ("kind", "period", "subject", "recipients", "body", "created", "claimed_at", "sent_at")
    readonly_fields = fields

    def has_module_permission(self, request):
        return request.user.is_superuser or is_home_agency_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
