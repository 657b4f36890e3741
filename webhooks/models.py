"""Outgoing webhooks: who is told (Subscription), what each is told (Delivery, one per event and
subscription, its id the Standard Webhooks `webhook-id`) and every try to tell it
(DeliveryAttempt). The events come from the node's change feed (webhooks/services.py)."""

import base64
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# What a Standard Webhooks secret may hold (webhooks.services.secret_errors checks it).
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64


def new_secret() -> str:
    """A Standard Webhooks signing secret: whsec_ and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class SubscriptionQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(enabled=True)


class Subscription(models.Model):
    """A receiver told of the records that match the catalogue's filters. `cursor_*` is the
    position in the node's feed up to which its events are created (webhooks/services.py)."""

    name = models.CharField(_("name"), max_length=200)
    url = models.URLField(_("URL"), max_length=2000)
    filters = models.CharField(
        _("filters"),
        max_length=2000,
        blank=True,
        help_text=_(
            "The catalogue's query parameters, as in its address: "
            "agency=EMA&stage=production&search=signal (no paging or sorting). Empty: every "
            "record."
        ),
    )
    network = models.BooleanField(
        _("network records"),
        default=False,
        help_text=_(
            "Also records published to the network only, with their network-tier fields. "
            "Only for receivers run inside the network."
        ),
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        default=new_secret,
        help_text=_(
            "Standard Webhooks secret: whsec_ and the base64 of 24 to 64 random bytes. A new "
            "subscription is offered one made at random: give it to the receiver."
        ),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
        verbose_name=_("owner"),
        help_text=_("Told by e-mail when the subscription is disabled."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    consecutive_failures = models.PositiveIntegerField(
        _("failed deliveries in a row"), default=0, editable=False
    )
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True, editable=False)
    owner_notified_at = models.DateTimeField(
        _("owner told at"), null=True, blank=True, editable=False
    )
    cursor_txid = models.BigIntegerField(default=0, editable=False)
    cursor_seq = models.BigIntegerField(default=0, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """One event for one subscription: unique per record version, so a repeated dispatch never
    makes a second one, and every attempt sends the same id and body."""

    class Kind(models.TextChoices):
        PUBLISHED = "use_case.published", _("published")
        UPDATED = "use_case.updated", _("updated")
        WITHDRAWN = "use_case.withdrawn", _("withdrawn")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    webhook_id = models.CharField(
        _("webhook id"), max_length=40, unique=True, default=new_webhook_id, editable=False
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    origin = models.CharField(_("origin"), max_length=32)
    uid = models.UUIDField(_("UID"))
    version = models.PositiveIntegerField(_("version"))
    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Also the claim: an attempt pushes it past its own timeout (webhooks/services.py).
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "origin", "uid", "version"],
                name="webhook_delivery_once_per_version",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.kind} {self.origin}/{self.uid} v{self.version}"


class DeliveryAttempt(models.Model):
    """One try to deliver: what came back (a status code) or what went wrong (an error)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    succeeded = models.BooleanField(_("succeeded"), default=False)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"{self.delivery.webhook_id} #{self.number}"
