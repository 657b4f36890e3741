"""Webhooks in the admin: subscriptions (checked by webhooks.services when saved), and their
deliveries with every attempt, read-only. A user who is not a superuser (an agency admin: the
group's permissions in registry.services.AGENCY_ADMIN_PERMISSIONS) sees and owns only his own
subscriptions and their deliveries."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Subscription


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=2000, assume_scheme="https")

    class Meta:
        model = Subscription
        fields = ["name", "url", "filters", "network", "secret", "owner", "enabled"]

    def clean_filters(self) -> str:
        return services.normalise_filters(self.cleaned_data["filters"])

    def clean(self):
        cleaned = super().clean()
        if "url" in cleaned and "filters" in cleaned:
            services.validate_subscription(
                url=cleaned["url"],
                filters=cleaned["filters"],
                network=bool(cleaned.get("network")),
                secret=cleaned.get("secret"),
            )
        return cleaned


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "url", "owner", "enabled", "consecutive_failures", "disabled_at"]
    list_filter = ["enabled", "network"]
    search_fields = ["name", "url"]
    readonly_fields = ["consecutive_failures", "disabled_at", "owner_notified_at", "created"]
    actions = ["enable_again"]

    def get_queryset(self, request):
        subscriptions = super().get_queryset(request).select_related("owner")
        if request.user.is_superuser:
            return subscriptions
        return subscriptions.filter(owner=request.user)

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return self.readonly_fields
        return [*self.readonly_fields, "owner"]

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.owner = request.user
        if not change:
            services.start_at_feed_end(obj)
        super().save_model(request, obj, form, change)
        if change and obj.enabled and "enabled" in form.changed_data:
            # Ticked again on its page (where the e-mail of a disabled one leads): as the action.
            services.enable_again(obj)

    @admin.action(description=_("Enable again (send the pending deliveries now)"))
    def enable_again(self, request, queryset):
        for subscription in queryset:
            services.enable_again(subscription)
        self.message_user(request, _("Enabled."), messages.SUCCESS)


class DeliveryAttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "at", "succeeded", "status_code", "duration_ms", "error"]
    readonly_fields = fields
    extra = 0


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "webhook_id",
        "subscription",
        "kind",
        "origin",
        "uid",
        "version",
        "status",
        "attempts",
        "next_attempt_at",
        "created",
    ]
    # Only the subscriptions of the user's own deliveries (not every subscription's name).
    list_filter = ["status", "kind", ("subscription", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["webhook_id", "uid"]
    list_select_related = ["subscription"]
    inlines = [DeliveryAttemptInline]
    fields = [
        "webhook_id",
        "subscription",
        "kind",
        "origin",
        "uid",
        "version",
        "status",
        "attempts",
        "next_attempt_at",
        "created",
        "delivered_at",
        "body",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        deliveries = super().get_queryset(request)
        if request.user.is_superuser:
            return deliveries
        return deliveries.filter(subscription__owner=request.user)
