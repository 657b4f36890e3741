from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sync import auth, tasks
from sync.models import Checkpoint, Peer, PeerToken, Rejection, SyncRun


@admin.register(Peer)
class PeerAdmin(admin.ModelAdmin):
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
        "agency",
        "role",
        "last_attempt_at",
        "last_success_at",
        "consecutive_failures",
        "next_attempt_at",
        "last_error",
        "lease_expires_at",
    ]
    fields = ["name", "url", "token", "push", "pull", "enabled", "auth_failed", *readonly_fields]
    actions = ["sync_now"]

    @admin.display(description=_("health"))
    def health(self, peer: Peer) -> str:
        if peer.auth_failed:
            return _("authentication failed")
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
        queryset.update(auth_failed=False, next_attempt_at=None)
        tasks.run_sync_cycle.delay_on_commit(ids)
        self.message_user(
            request, ngettext("%d peer queued.", "%d peers queued.", len(ids)) % len(ids)
        )


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Rejection)
class RejectionAdmin(admin.ModelAdmin):
    list_display = ["origin", "uid", "version", "peer", "error_summary", "rejected_at"]
    list_filter = ["peer"]
    search_fields = ["uid"]

    @admin.display(description=_("errors"))
    def error_summary(self, rejection: Rejection) -> str:
        return "; ".join(
            f"{name}: {' '.join(map(str, problems))}" for name, problems in rejection.errors.items()
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PeerToken)
class PeerTokenAdmin(admin.ModelAdmin):
    list_display = ["agency", "note", "created", "last_used", "revoked_at"]
    list_filter = ["agency"]
    readonly_fields = ["agency", "created", "last_used", "revoked_at"]
    fields = ["agency", "note", "created", "last_used", "revoked_at"]
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
