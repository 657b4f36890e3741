"""Peers, tokens, checkpoints and the sync log (PROTOCOL.md: Endpoints, Operations).

The registry owns records and the change feed; this app owns who may talk to this node, whom this
node talks to, how far it got with each of them, and what happened on each run.
"""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.models import Agency, agency_code_validator


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class PeerTokenQuerySet(models.QuerySet):
    def active(self, now=None):
        """Neither revoked nor past the end of its rotation overlap."""
        now = now or timezone.now()
        live = models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        return self.filter(live, revoked_at__isnull=True)


class PeerToken(models.Model):
    """An inbound credential: whoever presents the token is this agency (only its hash is kept)."""

    agency = models.CharField(_("agency"), max_length=32, validators=[agency_code_validator])
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # Set when a newer token for the agency was issued by rotation: both work until then.
    expires_at = models.DateTimeField(_("valid until"), null=True, blank=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    objects = PeerTokenQuerySet.as_manager()

    class Meta:
        ordering = ["agency", "-created"]
        verbose_name = _("peer token")
        verbose_name_plural = _("peer tokens")

    def __str__(self) -> str:
        state = "active" if self.is_active else "revoked" if self.revoked_at else "expired"
        return f"{self.agency} ({state}, issued {self.created:%Y-%m-%d})"

    @property
    def is_active(self) -> bool:
        expired = self.expires_at is not None and self.expires_at <= timezone.now()
        return self.revoked_at is None and not expired


class PeerRole(models.TextChoices):
    HUB = "hub", _("hub: may send records of every origin")
    AGENCY = "agency", _("agency: may send its own records only")


# The peer made from HUB_URL/HUB_TOKEN (sync.services.hub_peer_from_settings).
HUB_PEER_NAME = "hub"


def default_peer_role() -> str:
    """An agency node's peer is its hub; the hub's peers are agencies (it has no hub)."""
    return PeerRole.AGENCY if settings.NODE_ROLE == "hub" else PeerRole.HUB


class Peer(models.Model):
    """An outbound peer: a node this node pushes to and/or pulls from (for an agency, the hub)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.URLField(_("base URL"), help_text=_("e.g. https://hub.example.eu/"))
    token = models.CharField(
        _("token"), max_length=200, help_text=_("Issued by the peer (issue_peer_token there).")
    )
    push = models.BooleanField(_("push own changes"), default=True)
    pull = models.BooleanField(_("pull its feed"), default=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Who the peer is, as this node's admin configured it (never learned from the peer's own
    # GET node, which anyone answering at the URL can forge): the engine checks the peer's
    # description against it and refuses a peer that claims to be someone else.
    agency = models.CharField(
        _("peer agency"),
        max_length=32,
        blank=True,
        validators=[agency_code_validator],
        help_text=_("The peer's agency code. Required for an agency; optional for the hub."),
    )
    role = models.CharField(
        _("peer role"),
        max_length=16,
        blank=True,
        choices=PeerRole.choices,
        help_text=_(
            "Only the hub may send other agencies' records. Blank: an agency on the hub; on an "
            "agency node only the peer from HUB_URL (named 'hub') may leave it blank."
        ),
    )
    # Health and retry state.
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt not before"), null=True, blank=True)
    auth_failed = models.BooleanField(
        _("authentication failed"),
        default=False,
        help_text=_("The peer refused the token (401/403); periodic sync stops until cleared."),
    )
    last_error = models.TextField(_("last error"), blank=True)
    stopped_reason = models.TextField(
        _("sync stopped because"),
        blank=True,
        help_text=_(
            "Set when the peer speaks no protocol version this node speaks; periodic sync stops "
            "until 'Sync now' finds it upgraded or its URL or token changes."
        ),
    )
    # One sync of a peer at a time across all workers: a lease on this row.
    lease_owner = models.CharField(max_length=64, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("peer")
        verbose_name_plural = _("peers")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # A changed token deserves a new try: clear the authentication stop.
        if self.pk:
            old = Peer.objects.filter(pk=self.pk).values_list("token", "url").first()
            if old is not None and old[0] != self.token:
                self.auth_failed = False
                self.next_attempt_at = None
            if old is not None and old != (self.token, self.url):
                self.stopped_reason = ""  # another address or peer may well speak our protocol
        super().save(*args, **kwargs)

    @property
    def trusted_role(self) -> str:
        return self.role or default_peer_role()

    def clean(self) -> None:
        if settings.SYNC_REQUIRE_HTTPS and self.url and not self.url.startswith("https://"):
            raise ValidationError(
                {"url": _("This node sends its token over https only: use an https:// URL.")}
            )
        if self.trusted_role == PeerRole.HUB and settings.NODE_ROLE == "hub":
            raise ValidationError({"role": _("The hub has no hub: its peers are agencies.")})
        if self.trusted_role == PeerRole.AGENCY and not self.agency:
            raise ValidationError({"agency": _("Name the agency this peer is.")})
        # Only the hub may send other agencies' records: on an agency node no new row becomes the
        # hub by leaving the role blank, except the one HUB_URL makes (rows saved before keep
        # theirs: they were configured under the old rule).
        blank_elsewhere = not self.role and self.name != HUB_PEER_NAME
        if settings.NODE_ROLE != "hub" and self.pk is None and blank_elsewhere:
            raise ValidationError({"role": _("Choose the peer's role: hub or agency.")})

    def is_due(self, now=None) -> bool:
        now = now or timezone.now()
        if not self.enabled or self.auth_failed or self.stopped_reason:
            return False
        return self.next_attempt_at is None or self.next_attempt_at <= now


class Direction(models.TextChoices):
    PUSH = "push", _("push")
    PULL = "pull", _("pull")


class Checkpoint(models.Model):
    """How far this node got with a peer in one direction. Written in the same transaction as the
    batch it acknowledges, so a crash repeats work and never skips it."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="checkpoints")
    direction = models.CharField(max_length=4, choices=Direction.choices)
    feed_id = models.CharField(
        max_length=64, help_text=_("Push: this node's feed id. Pull: the peer's feed id.")
    )
    cursor = models.TextField(
        blank=True, help_text=_("Push: own feed position txid:seq. Pull: the peer's cursor.")
    )
    # A hub restored from a backup has lost what was pushed after that point, and says so with a
    # new feed id: a push checkpoint is only good for the peer feed it was saved against.
    peer_feed_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text=_("Push only: the peer's feed id when the cursor was saved."),
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("checkpoint")
        constraints = [
            models.UniqueConstraint(fields=["peer", "direction"], name="checkpoint_peer_direction")
        ]

    def __str__(self) -> str:
        return f"{self.peer} {self.direction} @ {self.cursor or 'start'}"


class SyncRun(models.Model):
    """One push or pull with a peer: what it did, or why it failed."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="runs")
    direction = models.CharField(max_length=4, choices=Direction.choices)
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)
    applied = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    stale = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    auth_failed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started"]
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        indexes = [models.Index(fields=["peer", "-started"], name="syncrun_peer_started")]

    def __str__(self) -> str:
        return f"{self.direction} {self.peer} {self.started:%Y-%m-%d %H:%M:%S}"

    @property
    def ok(self) -> bool:
        return self.finished is not None and not self.error

    def counts(self) -> dict[str, int]:
        return {s: getattr(self, s) for s in ("applied", "unchanged", "stale", "rejected")}


class RefusalStatus(models.TextChoices):
    REJECTED = "rejected", _("rejected")
    STALE = "stale", _("stale: the peer holds a newer version")


class Rejection(models.Model):
    """An own record the peer refused (rejected, or answered stale), with its words, until a newer
    version gets through. Shown to the agency's admins as needing attention."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="rejections")
    origin = models.CharField(max_length=32)
    uid = models.UUIDField()
    version = models.PositiveIntegerField()
    status = models.CharField(
        _("status"), max_length=8, choices=RefusalStatus.choices, default=RefusalStatus.REJECTED
    )
    peer_version = models.PositiveIntegerField(_("version the peer holds"), null=True, blank=True)
    # Set when the peer's feed serves that version as a deletion (sync.services
    # _remember_divergences): a record the peer already dropped needs no clean-up.
    peer_deleted = models.BooleanField(_("the peer holds a deletion"), default=False)
    errors = models.JSONField(default=dict)
    rejected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-rejected_at"]
        verbose_name = _("rejection")
        verbose_name_plural = _("rejections")
        constraints = [
            models.UniqueConstraint(fields=["peer", "origin", "uid"], name="rejection_peer_record")
        ]

    def __str__(self) -> str:
        return f"{self.origin}/{self.uid} v{self.version} {self.status} at {self.peer}"


class ForeignRecord(Rejection):
    """A record the hub serves under this agency's origin that this agency does not hold: pushed
    with its leaked token, or created after the backup this node was restored from
    (sync.foreign)."""

    class Meta:
        proxy = True
        verbose_name = _("record under this agency's name it does not hold")
        verbose_name_plural = _("records under this agency's name it does not hold")


class PeerExchange(models.Model):
    """The hub's ledger: one row per push it received from an agency (counts per status) and per
    page of its feed an agency pulled. Pruned after LEDGER_DAYS by the periodic cycle."""

    agency = models.CharField(_("agency"), max_length=32)
    direction = models.CharField(_("direction"), max_length=4, choices=Direction.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    envelopes = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    stale = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("exchange with an agency")
        verbose_name_plural = _("exchanges with agencies")
        indexes = [models.Index(fields=["agency", "-at"], name="exchange_agency_at")]

    def __str__(self) -> str:
        return f"{self.agency} {self.direction} {self.at:%Y-%m-%d %H:%M:%S}"


class AnsweredRejection(models.Model):
    """A record an agency pushed that this node refused (rejected or stale), with the words it
    answered, open until a later push of the record is applied or unchanged."""

    agency = models.CharField(_("agency"), max_length=32)
    origin = models.CharField(max_length=32)
    uid = models.UUIDField()
    version = models.PositiveIntegerField(_("version sent"))
    stored_version = models.PositiveIntegerField(_("version held here"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=RefusalStatus.choices)
    errors = models.JSONField(default=dict)
    answered_at = models.DateTimeField(_("answered at"), default=timezone.now)

    class Meta:
        ordering = ["-answered_at"]
        verbose_name = _("rejection answered to an agency")
        verbose_name_plural = _("rejections answered to agencies")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "origin", "uid"], name="answeredrejection_agency_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.origin}/{self.uid} v{self.version} {self.status} for {self.agency}"


class ScheduleState(models.Model):
    """The SYNC_INTERVAL_SECONDS last applied to the periodic sync (one row). While the periodic
    task still runs at that interval, a new environment value replaces it at the next migrate;
    once an admin changed it at run time, the admin's interval is kept."""

    env_interval_seconds = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("sync schedule state")

    def __str__(self) -> str:
        return f"SYNC_INTERVAL_SECONDS last applied: {self.env_interval_seconds}"


class AgencySyncStatus(Agency):
    """The agencies as the hub's ledger sees them (sync.ledger.agency_health), for its admin."""

    class Meta:
        proxy = True
        verbose_name = _("agency's sync status")
        verbose_name_plural = _("agencies' sync status")
