from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from registry import services as registry_services
from registry import vocabularies as v
from registry.admin import UseCaseAdmin
from registry.models import Agency, UseCase
from sync import auth, foreign, ledger, tasks
from sync.models import (
    AgencySyncStatus,
    AnsweredRejection,
    Checkpoint,
    ForeignRecord,
    Peer,
    PeerExchange,
    PeerToken,
    Rejection,
    SyncRun,
)


class AgencyLedgerAdmin(admin.ModelAdmin):
    """Read-only pages an agency's admins open by their group's view permission: on an agency
    node its own sync runs and refusals; on the hub the rows about their own agency. Another
    agency's admins see none of it; superusers see all."""

    agency_field = ""  # the row's agency on the hub ("" on an agency node: all rows are its own)
    hub_only = False  # the hub's ledger of the agencies: empty, so not shown, on agency nodes

    def has_module_permission(self, request):
        user = request.user
        if self.hub_only and settings.NODE_ROLE != "hub":
            return False
        return user.is_active and user.is_staff and (user.is_superuser or self._may_view(user))

    def has_view_permission(self, request, obj=None):
        if not self.has_module_permission(request):
            return False
        return obj is None or request.user.is_superuser or self._own_row(request.user, obj)

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if request.user.is_superuser or not self.agency_field:
            return rows
        return rows.filter(**{self.agency_field: request.user.agency_id})

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _may_view(self, user) -> bool:
        opts = self.model._meta
        if not user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or not user.agency_id:
            return False
        # On an agency node every run and refusal is the node's own agency's.
        return bool(self.agency_field) or user.agency_id == settings.NODE_AGENCY

    def _own_row(self, user, obj) -> bool:
        if not self.agency_field:
            return user.agency_id == settings.NODE_AGENCY
        return getattr(obj, self.agency_field) == user.agency_id


class PeerForm(forms.ModelForm):
    """The outbound token is written, never shown: the page never sends it back to a browser."""

    token = forms.CharField(
        label=_("token"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Issued by the peer (issue_peer_token there). Not shown again: leave blank to keep "
            "the current token, or enter the new one to rotate (the peer keeps the old one "
            "valid for its overlap window)."
        ),
    )

    class Meta:
        model = Peer
        fields = ["name", "url", "agency", "role", "token", "push", "pull", "enabled",
                  "auth_failed"]  # fmt: skip

    def clean_token(self) -> str:
        token = self.cleaned_data.get("token")
        if token:
            return token
        if self.instance.pk:
            return self.instance.token
        raise forms.ValidationError(_("Enter the token the peer issued to this node."))


@admin.register(Peer)
class PeerAdmin(admin.ModelAdmin):
    form = PeerForm
    list_display = [
        "name",
        "url",
        "agency",
        "role",
        "enabled",
        "health",
        "last_success_at",
        "lag",
        "consecutive_failures",
        "next_attempt_at",
    ]
    list_filter = ["enabled", "auth_failed"]
    readonly_fields = [
        "last_attempt_at",
        "last_success_at",
        "consecutive_failures",
        "next_attempt_at",
        "last_error",
        "stopped_reason",
        "lease_expires_at",
    ]
    fields = ["name", "url", "agency", "role", "token", "push", "pull", "enabled", "auth_failed",
              *readonly_fields]  # fmt: skip
    actions = ["sync_now"]

    @admin.display(description=_("health"))
    def health(self, peer: Peer) -> str:
        if peer.auth_failed:
            return _("authentication failed")
        if peer.stopped_reason:
            return _("stopped: another protocol version")
        if peer.consecutive_failures:
            return _("failing")
        return _("ok") if peer.last_success_at else _("never synced")

    @admin.display(description=_("lag since last success"))
    def lag(self, peer: Peer):
        if peer.last_success_at is None:
            return "—"
        return str(timezone.now() - peer.last_success_at).split(".")[0]

    @admin.action(description=_("Sync now (in the background)"))
    def sync_now(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        # An explicit request clears the stop and the wait; the lease still forbids overlap.
        queryset.update(auth_failed=False, next_attempt_at=None, stopped_reason="")
        tasks.run_sync_cycle.delay_on_commit(ids)
        self.message_user(
            request, ngettext("%d peer queued.", "%d peers queued.", len(ids)) % len(ids)
        )


@admin.register(SyncRun)
class SyncRunAdmin(AgencyLedgerAdmin):
    list_display = [
        "started",
        "peer",
        "direction",
        "applied",
        "unchanged",
        "stale",
        "rejected",
        "pages",
        "finished",
        "outcome",
    ]
    list_filter = ["peer", "direction", "auth_failed"]
    date_hierarchy = "started"

    @admin.display(description=_("outcome"))
    def outcome(self, run: SyncRun) -> str:
        if run.finished is None:
            return _("running")
        if run.auth_failed:
            return _("authentication failed")
        return run.error[:120] if run.error else _("ok")


@admin.register(Rejection)
class RejectionAdmin(AgencyLedgerAdmin):
    list_display = ["record", "version", "status", "peer_version", "peer", "words", "rejected_at"]
    list_filter = ["status", "peer"]
    search_fields = ["uid"]
    readonly_fields = ["record", "version", "status", "peer_version", "peer", "words", "remedy"]
    fields = readonly_fields
    actions = ["resolve_action"]

    @admin.display(description=_("record"))
    def record(self, rejection: Rejection):
        use_case = _held(rejection)
        if use_case is None:
            return _("%(origin)s/%(uid)s (not held here)") % {
                "origin": rejection.origin,
                "uid": rejection.uid,
            }
        url = reverse("admin:registry_usecase_change", args=[use_case.pk])
        return format_html("<a href='{}'>{}</a>", url, use_case.title)

    @admin.display(description=_("the peer's words"))
    def words(self, rejection: Rejection) -> str:
        return _error_words(rejection.errors)

    @admin.display(description=_("what to do"))
    def remedy(self, rejection: Rejection) -> str:
        held = _held(rejection) is not None
        return ledger.refusal_remedy(rejection.status, rejection.errors, held_here=held)

    @admin.action(
        description=_("Publish again, or withdraw from the network what is not held here")
    )
    def resolve_action(self, request, queryset):
        sent = withdrawn = 0
        for rejection in queryset:
            above = max(rejection.peer_version or 0, rejection.version)
            use_case = _held(rejection)
            try:
                if use_case is not None:
                    registry_services.publish_again(use_case, above=above, user=request.user)
                    sent += 1
                else:
                    registry_services.withdraw_from_network(
                        rejection.origin, rejection.uid, above=above, user=request.user
                    )
                    withdrawn += 1
            except (ValidationError, PermissionDenied, ValueError) as exc:
                self.message_user(
                    request, f"{rejection.origin}/{rejection.uid}: {exc}", messages.ERROR
                )
        if sent or withdrawn:
            self.message_user(
                request,
                _(
                    "%(sent)d sent again and %(withdrawn)d withdrawn from the network, numbered "
                    "above the network's versions; the hub has them at the next sync."
                )
                % {"sent": sent, "withdrawn": withdrawn},
                messages.SUCCESS,
            )


@admin.register(ForeignRecord)
class ForeignRecordAdmin(AgencyLedgerAdmin):
    """What the hub serves under this agency's name and this node does not hold (sync.foreign), with
    the action that tombstones it through the hub. Open to whoever may read the Rejections."""

    list_display = ["uid", "peer_version", "peer", "rejected_at"]
    search_fields = ["uid"]
    readonly_fields = ["uid", "peer_version", "peer", "words", "rejected_at"]
    fields = readonly_fields
    actions = ["tombstone_action"]

    def get_queryset(self, request):
        return foreign.foreign_records()

    def _may_view(self, user) -> bool:
        may_read_rejections = user.has_perm("sync.view_rejection")
        return may_read_rejections and user.agency_id == settings.NODE_AGENCY

    @admin.display(description=_("the peer's words"))
    def words(self, record: ForeignRecord) -> str:
        return _error_words(record.errors)

    @admin.action(description=_("Tombstone through the hub (every node drops them)"))
    def tombstone_action(self, request, queryset):
        try:
            done = foreign.tombstone_foreign_records(queryset, user=request.user)
        except (PermissionDenied, ValueError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(
            request,
            ngettext(
                "%(count)d tombstone written, numbered above the hub's version; the hub and "
                "every agency drop the record after the next sync.",
                "%(count)d tombstones written, numbered above the hub's versions; the hub and "
                "every agency drop the records after the next sync.",
                len(done),
            )
            % {"count": len(done)},
            messages.SUCCESS,
        )


def _held(rejection: Rejection) -> UseCase | None:
    return UseCase.objects.filter(origin_id=rejection.origin, uid=rejection.uid).first()


@admin.register(PeerExchange)
class PeerExchangeAdmin(AgencyLedgerAdmin):
    agency_field = "agency"
    hub_only = True
    list_display = ["at", "agency", "direction", "envelopes", "applied", "unchanged", "stale",
                    "rejected"]  # fmt: skip
    list_filter = ["agency", "direction"]
    date_hierarchy = "at"


@admin.register(AnsweredRejection)
class AnsweredRejectionAdmin(AgencyLedgerAdmin):
    agency_field = "agency"
    hub_only = True
    list_display = ["origin", "uid", "version", "status", "stored_version", "words",
                    "answered_at"]  # fmt: skip
    list_filter = ["agency", "status"]
    search_fields = ["uid"]

    @admin.display(description=_("words answered"))
    def words(self, rejection: AnsweredRejection) -> str:
        return _error_words(rejection.errors)


@admin.register(AgencySyncStatus)
class AgencySyncStatusAdmin(AgencyLedgerAdmin):
    """The hub's view of every agency: when it was last in touch, its last push, open refusals."""

    agency_field = "code"
    hub_only = True
    list_display = ["code", "name", "health", "last_contact", "last_push", "open_refusals"]

    def _may_view(self, user) -> bool:
        return user.has_perm("sync.view_peerexchange") and bool(user.agency_id)

    def get_queryset(self, request):
        # The hub is not an agency of the network; an agency node's list is the hub's business.
        return super().get_queryset(request).exclude(code=settings.NODE_AGENCY)

    def _health(self, agency: Agency) -> ledger.AgencyHealth:
        cached = getattr(agency, "_health", None)
        if cached is None:
            cached = agency._health = ledger.agency_health(agency.code)
        return cached

    @admin.display(description=_("health"))
    def health(self, agency: Agency) -> str:
        return {
            "never": _("never synced"),
            "healthy": _("healthy"),
            "attention": _("needs attention"),
        }[self._health(agency).status]

    @admin.display(description=_("last in touch"))
    def last_contact(self, agency: Agency):
        return self._health(agency).last_contact

    @admin.display(description=_("last push"))
    def last_push(self, agency: Agency):
        return self._health(agency).last_push

    @admin.display(description=_("open refusals"))
    def open_refusals(self, agency: Agency) -> int:
        return self._health(agency).open_refusals


def _error_words(errors: dict) -> str:
    return "; ".join(f"{name}: {' '.join(map(str, problems))}" for name, problems in errors.items())


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = _("network status")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", _("Needs attention (refused by a peer)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(Exists(_refusals_of(OuterRef("origin_id"), OuterRef("uid"))))
        return queryset


def _refusals_of(origin, uid):
    return Rejection.objects.filter(origin=origin, uid=uid)


def sees_refusals(user) -> bool:
    """The agency's own admins (by their group's permission) and superusers: another agency's
    staff may browse this agency's shared records but not what the network refused of them."""
    if user.is_superuser:
        return True
    return user.agency_id == settings.NODE_AGENCY and user.has_perm("sync.view_rejection")


class UseCaseWithNetworkStatusAdmin(UseCaseAdmin):
    """The registry's use-case admin plus what the network made of each own record: sync/ adds
    this (sync depends on registry, never the other way)."""

    list_filter = (
        *UseCaseAdmin.list_filter[:1],
        NeedsAttentionFilter,
        *UseCaseAdmin.list_filter[1:],
    )
    readonly_fields = ("network_status", *UseCaseAdmin.readonly_fields)
    actions = (*UseCaseAdmin.actions, "publish_again_action")

    def get_list_filter(self, request):
        if sees_refusals(request.user):
            return self.list_filter
        return UseCaseAdmin.list_filter

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not sees_refusals(request.user):
            actions.pop("publish_again_action", None)
        return actions

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if not sees_refusals(request.user):
            return fieldsets
        name, options = fieldsets[0]
        fieldsets[0] = (name, {**options, "fields": ("network_status", *options["fields"])})
        return fieldsets

    @admin.display(description=_("network status"))
    def network_status(self, use_case: UseCase):
        if use_case.pk is None:
            return "–"
        if not use_case.is_own:
            return _("A copy of %(origin)s's record, as the network holds it.") % {
                "origin": use_case.origin_id
            }
        refusals = list(_refusals_of(use_case.origin_id, use_case.uid).select_related("peer"))
        if not refusals:
            # The stored level: a form shown again with errors holds what was typed, not saved.
            stored = UseCase.objects.filter(pk=use_case.pk).values_list(
                "publication_level", flat=True
            )
            if stored.first() not in v.SHARED_LEVELS:
                return _("Not shared: this level stays at this agency.")
            return _("Nothing refused: the network holds what this node sent.")
        return format_html_join(
            "",
            "<div class='network-refusal'><p><strong>{}</strong> {}</p><p>{}</p></div>",
            (
                (
                    _("Refused by %(peer)s (%(status)s, version %(version)d):")
                    % {
                        "peer": refusal.peer.agency or refusal.peer.name,
                        "status": refusal.get_status_display(),
                        "version": refusal.version,
                    },
                    _error_words(refusal.errors),
                    ledger.refusal_remedy(refusal.status, refusal.errors),
                )
                for refusal in refusals
            ),
        )

    @admin.action(description=_("Publish again above the network's version (after a restore)"))
    def publish_again_action(self, request, queryset):
        done = 0
        for use_case in queryset:
            held = max(
                (
                    r.peer_version or r.version
                    for r in _refusals_of(use_case.origin_id, use_case.uid)
                ),
                default=0,
            )
            try:
                registry_services.publish_again(use_case, above=held, user=request.user)
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(request, f"“{use_case}”: {exc}", messages.ERROR)
                continue
            done += 1
        self.message_user(
            request,
            ngettext(
                "%d use case sent again, numbered above the network's version",
                "%d use cases sent again, numbered above the network's versions",
                done,
            )
            % done
            + (
                _("; the hub has them within seconds.")
                if settings.HUB_URL
                else _("; they go out once this node syncs with a hub.")
            ),
            messages.SUCCESS if done else messages.WARNING,
        )


admin.site.unregister(UseCase)
admin.site.register(UseCase, UseCaseWithNetworkStatusAdmin)


@admin.register(PeerToken)
class PeerTokenAdmin(admin.ModelAdmin):
    list_display = ["agency", "note", "created", "last_used", "expires_at", "revoked_at"]
    list_filter = ["agency"]
    readonly_fields = ["agency", "created", "last_used", "expires_at", "revoked_at"]
    fields = ["agency", "note", "created", "last_used", "expires_at", "revoked_at"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        count = auth.revoke_tokens(queryset)
        self.message_user(
            request,
            ngettext("%d token revoked.", "%d tokens revoked.", count) % count,
            messages.SUCCESS,
        )

    def has_add_permission(self, request) -> bool:
        # Tokens are issued with `manage.py issue_peer_token`, which shows the clear text once.
        return False


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["peer", "direction", "feed_id", "peer_feed_id", "cursor", "updated"]

    def has_add_permission(self, request) -> bool:
        return False
