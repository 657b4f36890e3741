"""Django admin for agency admins: each sees and edits only their own agency's records; copies that
arrive from other agencies can be browsed, never edited."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from registry import services
from registry import vocabularies as v
from registry.forms import UseCaseAdminForm
from registry.models import Agency, NoUseCaseAttestation, UseCase, User

admin.site.site_header = format_lazy(_("AI use-case registry: {}"), settings.NODE_AGENCY)
admin.site.site_title = _("AI use-case registry")
admin.site.index_title = _("Administration")


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
    title = _("origin")
    parameter_name = "origin"

    def lookups(self, request, model_admin):
        return [("own", _("Own records")), ("received", _("Received from other agencies"))]

    def queryset(self, request, queryset):
        if self.value() == "own":
            return queryset.own()
        if self.value() == "received":
            return queryset.received()
        return queryset


@admin.register(UseCase)
class UseCaseAdmin(SimpleHistoryAdmin):
    form = UseCaseAdminForm
    # A URL typed without a scheme is taken as https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = (
        "title",
        "origin_code",
        "stage",
        "ai_act_risk",
        "publication_level",
        "version",
        "modified",
    )
    list_filter = (
        "stage",
        "ai_act_risk",
        RegulatoryProcessFilter,
        TechniqueFilter,
        "publication_level",
        OriginFilter,
        "origin",
    )
    search_fields = ("title", "title_en", "summary", "purpose", "business_unit", "product")
    readonly_fields = ("origin", "uid", "version", "created", "modified")
    actions = ("publish_to_network_action", "publish_publicly_action", "withdraw_action")
    fieldsets = (
        (_("What"), {"fields": ("title", "title_en", "language", "summary", "description",
                                "purpose", "benefits", "outputs")}),
        (_("Where in the regulatory system"), {"fields": (
            "regulatory_processes", "medicine_scope", "workplan_area", "business_unit",
            "techniques", "tags")}),
        (_("Lifecycle"), {"fields": (
            "stage", "started_on", "operational_since", "retired_on", "next_review_on")}),
        (_("EU AI Act"), {"fields": (
            "ai_act_role", "ai_act_risk", "ai_act_justification", "uses_gpai", "gpai_model",
            "eu_database_ref")}),
        (_("Data and oversight"), {"fields": (
            "affects_individuals", "personal_data", "dpia_status", "legal_basis", "data_sources",
            "human_oversight", "risks_and_mitigations", "monitoring")}),
        (_("Sourcing"), {"fields": (
            "sourcing", "vendor", "product", "hosting", "code_url", "reusable")}),
        (_("Contact and links"), {"fields": ("contact_email", "related")}),
        (_("Publication"), {"fields": (
            "publication_level", "origin", "uid", "version", "created", "modified")}),
    )  # fmt: skip

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
            return [field.name for field in UseCase._meta.fields]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.origin_id = settings.NODE_AGENCY
        services.save_use_case(obj, user=request.user)

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
        changed = 0
        for use_case in queryset.select_related("origin"):
            if not services.can_edit(request.user, use_case):
                self.message_user(
                    request, _("%s is read-only here.") % use_case, level=messages.WARNING
                )
                continue
            try:
                services.set_publication_level(use_case, level, user=request.user)
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(request, f"{use_case}: {_error_text(exc)}", messages.ERROR)
                continue
            changed += 1
        self.message_user(
            request,
            ngettext("%d use case changed.", "%d use cases changed.", changed) % changed,
            messages.SUCCESS if changed else messages.INFO,
        )


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
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
    list_display = ("code", "name", "country", "kind")
    list_filter = ("kind", "country")
    search_fields = ("code", "name")


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
        return attestations.filter(agency_id=request.user.agency_id)

    def has_module_permission(self, request):
        return request.user.is_superuser or is_home_agency_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.agency = request.user.agency or Agency.objects.get(code=settings.NODE_AGENCY)
            obj.attested_by = request.user
        super().save_model(request, obj, form, change)
