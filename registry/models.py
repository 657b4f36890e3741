import datetime as dt
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registry import quality, reference
from registry import vocabularies as v
from registry.validation import FIELDS, RecordInvalid, publication_gaps, validate_record

agency_code_validator = RegexValidator(
    r"^[A-Z0-9-]{2,32}$", _("Upper-case letters, digits and '-', 2 to 32 characters.")
)


class Agency(models.Model):
    code = models.CharField(
        _("code"), max_length=32, unique=True, validators=[agency_code_validator]
    )
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(
        _("country"),
        max_length=2,
        validators=[RegexValidator(r"^[A-Z]{2}$", _("ISO 3166 alpha-2 code, or EU."))],
        help_text=_("ISO 3166 alpha-2 code; EU for the European Medicines Agency."),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=v.AgencyKind.choices)
    contact_email = models.EmailField(
        _("contact e-mail"),
        blank=True,
        help_text=_(
            "The agency's functional mailbox: used by its records that state no contact of their "
            "own, and for the agency's notices."
        ),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"

    @property
    def is_reference(self) -> bool:
        """A reference register outside the network, not an agency (registry.reference)."""
        return reference.is_reference(self.code)

    def clean(self) -> None:
        # A reserved code is a register's, never an agency's (docs/protocol.md).
        if self.is_reference != (self.kind == v.AgencyKind.REFERENCE_REGISTER):
            raise ValidationError(
                {
                    "code": _(
                        "Codes beginning with %(prefix)s are reserved for reference registers, "
                        "which are of kind reference register and imported on the hub."
                    )
                    % {"prefix": reference.REFERENCE_PREFIX}
                }
            )


class User(AbstractUser):
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("agency"),
        to_field="code",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text=_("The agency whose records this user maintains."),
    )


class NoUseCaseAttestation(models.Model):
    """An agency's statement that it had no AI use cases to report for a period."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="attestations")
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    attested_at = models.DateTimeField(_("attested at"), auto_now_add=True)

    class Meta:
        verbose_name = _("no-use-case attestation")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="attestation_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency.code}: none {self.period_start}–{self.period_end}"


class UseCaseQuerySet(models.QuerySet):
    def own(self):
        return self.filter(origin_id=settings.NODE_AGENCY)

    def received(self):
        return self.exclude(origin_id=settings.NODE_AGENCY)

    def shared(self):
        return self.filter(publication_level__in=v.SHARED_LEVELS)

    def public(self):
        return self.filter(publication_level=v.PublicationLevel.PUBLIC)

    def publishable(self):
        return self.filter(gaps=[])

    def incomplete(self):
        return self.exclude(gaps=[])

    def review_overdue(self, today: dt.date | None = None):
        """Records still in use whose next review date has passed (registry.quality); never a
        reference register's."""
        today = today or timezone.now().date()
        return (
            self.filter(next_review_on__lt=today)
            .exclude(stage=v.Stage.RETIRED)
            .exclude(origin__code__startswith=reference.REFERENCE_PREFIX)
        )


class UseCase(models.Model):
    origin = models.ForeignKey(
        Agency,
        verbose_name=_("origin agency"),
        to_field="code",
        db_column="origin",
        on_delete=models.PROTECT,
        related_name="use_cases",
    )
    uid = models.UUIDField(_("UID"), default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    publication_level = models.CharField(
        _("publication level"),
        max_length=16,
        choices=v.PublicationLevel.choices,
        default=v.PublicationLevel.DRAFT,
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("modified"), editable=False)
    source_key = models.CharField(
        _("import key"),
        max_length=200,
        null=True,
        blank=True,
        editable=False,
        help_text=_("Stable key of the spreadsheet row this record was imported from."),
    )
    # 'identity:content' digests of that row, so a re-import matches rows on their content,
    # never on their position (registry.importers.keys).
    source_fingerprint = models.CharField(
        _("import fingerprint"), max_length=80, blank=True, default="", editable=False
    )
    received_at = models.DateTimeField(_("received at"), null=True, blank=True, editable=False)
    received_from = models.CharField(_("received from"), max_length=32, blank=True, editable=False)
    # Derived from the fields below on every write (registry.quality); never on the wire.
    gaps = models.JSONField(_("lacks before publishing"), default=list, blank=True, editable=False)
    completeness = models.PositiveSmallIntegerField(_("completeness"), default=0, editable=False)
    compliance_flags = models.JSONField(
        _("compliance checks"), default=list, blank=True, editable=False
    )

    # What: RECORD.md, in its order.
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=2, default="en")
    summary = models.TextField(_("summary"), max_length=350, blank=True)
    description = models.TextField(_("description"), blank=True)
    purpose = models.TextField(_("purpose"), blank=True)
    benefits = models.TextField(_("benefits"), blank=True)
    outputs = models.JSONField(_("outputs"), default=list, blank=True)
    regulatory_processes = models.JSONField(_("regulatory processes"), default=list, blank=True)
    medicine_scope = models.CharField(
        _("medicine scope"), max_length=16, choices=v.MedicineScope.choices, blank=True, null=True
    )
    workplan_area = models.CharField(
        _("workplan area"), max_length=32, choices=v.WorkplanArea.choices, blank=True, null=True
    )
    business_unit = models.CharField(_("business unit"), max_length=200, blank=True)
    techniques = models.JSONField(_("techniques"), default=list, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    stage = models.CharField(
        _("stage"), max_length=16, choices=v.Stage.choices, blank=True, null=True
    )
    started_on = models.DateField(_("started on"), null=True, blank=True)
    operational_since = models.DateField(_("operational since"), null=True, blank=True)
    retired_on = models.DateField(_("retired on"), null=True, blank=True)
    next_review_on = models.DateField(_("next review on"), null=True, blank=True)
    ai_act_role = models.CharField(
        _("AI Act role"), max_length=32, choices=v.AiActRole.choices, blank=True, null=True
    )
    ai_act_risk = models.CharField(
        _("AI Act risk class"), max_length=16, choices=v.AiActRisk.choices, blank=True, null=True
    )
    ai_act_justification = models.TextField(_("AI Act justification"), blank=True)
    uses_gpai = models.BooleanField(_("uses a general-purpose AI model"), default=False)
    gpai_model = models.CharField(_("general-purpose AI model"), max_length=200, blank=True)
    eu_database_ref = models.URLField(_("EU database entry"), max_length=2000, blank=True)
    affects_individuals = models.BooleanField(_("affects individuals"), null=True, blank=True)
    personal_data = models.CharField(
        _("personal data"), max_length=32, choices=v.PersonalData.choices, blank=True, null=True
    )
    dpia_status = models.CharField(
        _("DPIA status"), max_length=16, choices=v.DpiaStatus.choices, blank=True, null=True
    )
    legal_basis = models.TextField(_("legal basis"), blank=True)
    data_sources = models.JSONField(_("data sources"), default=list, blank=True)
    human_oversight = models.CharField(
        _("human oversight"), max_length=32, choices=v.HumanOversight.choices, blank=True, null=True
    )
    risks_and_mitigations = models.TextField(_("risks and mitigations"), blank=True)
    monitoring = models.TextField(_("monitoring"), blank=True)
    sourcing = models.CharField(
        _("sourcing"), max_length=16, choices=v.Sourcing.choices, blank=True, null=True
    )
    vendor = models.CharField(_("vendor"), max_length=200, blank=True)
    product = models.CharField(_("product"), max_length=200, blank=True)
    hosting = models.CharField(
        _("hosting"), max_length=16, choices=v.Hosting.choices, blank=True, null=True
    )
    code_url = models.URLField(_("code URL"), max_length=2000, blank=True)
    reusable = models.BooleanField(_("reusable by other agencies"), default=False)
    # Wire name from RECORD.md; an e-mail address or a contact page URL (registry.validation).
    contact_email = models.CharField(_("contact"), max_length=2000, blank=True)
    related = models.JSONField(_("related use cases"), default=list, blank=True)

    # Derived columns are recomputed from each version; history keeps what the agency wrote.
    history = HistoricalRecords(
        excluded_fields=["received_at", "gaps", "completeness", "compliance_flags"]
    )
    objects = UseCaseQuerySet.as_manager()

    class Meta:
        ordering = ["origin_id", "title"]
        verbose_name = _("AI use case")
        verbose_name_plural = _("AI use cases")
        constraints = [
            models.UniqueConstraint(fields=["origin", "uid"], name="usecase_origin_uid_unique"),
            models.UniqueConstraint(
                fields=["origin", "source_key"], name="usecase_origin_source_key_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["stage"]),
            models.Index(fields=["ai_act_risk"]),
            models.Index(fields=["publication_level"]),
            # The catalogue stamp's latest arrival (catalogue.counts.catalogue_stamp).
            models.Index(fields=["received_at"], name="usecase_received_at"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.refresh_quality()
        super().save(*args, **kwargs)

    @property
    def is_own(self) -> bool:
        return self.origin_id == settings.NODE_AGENCY

    @property
    def is_reference(self) -> bool:
        """A record of a reference register outside the network (registry.reference)."""
        return reference.is_reference(self.origin_id)

    @property
    def organisation(self) -> str:
        """The body that runs the system: the origin agency, or the organisation a reference
        register names (its business_unit, registry.reference)."""
        return self.business_unit if self.is_reference else self.origin.name

    @property
    def reference_label(self) -> str:
        """'US federal AI inventory — HHS / FDA' for a reference record, else ''."""
        if not self.is_reference:
            return ""
        return reference.label(self.origin_id, self.business_unit)

    def refresh_quality(self) -> None:
        """Derive gaps, completeness and compliance flags from the record's fields."""
        record = self.to_record()
        gaps = publication_gaps(record, reference=True) if self.is_reference else None
        assessment = quality.assess(record, gaps=gaps)
        self.gaps = [name for name in FIELDS if name in assessment.gaps]  # the form's order
        self.completeness = assessment.completeness
        # The compliance checks are the network's governance of its own agencies' records.
        self.compliance_flags = [] if self.is_reference else assessment.flags

    def to_record(self) -> dict:
        """The wire form of RECORD.md (dates as ISO strings, lists as lists)."""
        record = {}
        for name in FIELDS:
            value = getattr(self, name)
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            record[name] = value
        return record

    def clean(self) -> None:
        try:
            validate_record(self.to_record(), reference=self.is_reference)
        except RecordInvalid as exc:
            model_fields = {field.name for field in self._meta.fields}
            raise ValidationError(
                {
                    (name if name in model_fields else NON_FIELD_ERRORS): messages
                    for name, messages in exc.errors.items()
                }
            ) from None


class NodeState(models.Model):
    """One row: facts about this node's own feed."""

    feed_id = models.UUIDField(default=uuid.uuid4)
    reset_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.feed_id)


class FeedEntry(models.Model):
    """The node's change feed (the outbox): the latest state of every shared record, tombstones
    included, written in the same transaction as the change itself.

    `seq` orders entries; `txid` is the writing PostgreSQL transaction, so a reader can hold back
    entries of transactions that may still be in flight (PROTOCOL.md rule 6).
    """

    origin = models.CharField(max_length=32)
    uid = models.UUIDField()
    version = models.PositiveIntegerField()
    deleted = models.BooleanField(default=False)
    hash = models.CharField(max_length=80, blank=True)
    record = models.JSONField(null=True, blank=True)
    modified = models.DateTimeField()
    seq = models.BigIntegerField()
    txid = models.BigIntegerField(default=0)
    received_from = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("feed entry")
        verbose_name_plural = _("feed entries")
        constraints = [
            models.UniqueConstraint(fields=["origin", "uid"], name="feedentry_origin_uid_unique"),
        ]
        indexes = [
            models.Index(fields=["txid", "seq"], name="feedentry_txid_seq"),
            models.Index(fields=["origin", "txid", "seq"], name="feedentry_origin_txid_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.origin}/{self.uid} v{self.version}{' (deleted)' if self.deleted else ''}"


class Notice(models.Model):
    """An e-mail notice to the agency (registry.notices). The row is claimed before the message is
    sent: (kind, key, period) is unique, so a notice goes out once per event and period whatever
    the number of workers or retries; a claim its worker left unsent is taken over after a
    timeout. The message is kept whole so that the one who takes it over sends the same."""

    class Kind(models.TextChoices):
        REJECTIONS = "rejections", _("records refused by the hub")
        REVIEWS = "reviews", _("reviews due")
        STALE = "stale", _("unchanged in production")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    key = models.CharField(_("key"), max_length=200)
    period = models.CharField(_("period"), max_length=64, blank=True)
    recipients = models.JSONField(_("recipients"), default=list)
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("body"))
    # What the notice reports (the refusals of a digest), so a later digest reports only new ones.
    records = models.JSONField(_("records"), default=list, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("claimed at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [
            models.UniqueConstraint(fields=["kind", "key", "period"], name="notice_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} {self.period}".strip()
