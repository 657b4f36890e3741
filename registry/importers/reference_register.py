"""Import a reference register's public file on the hub, as records of the register's reserved
origin (registry.reference), never as an agency's.

The file is read and mapped by the format's own reader (us_omb, nl_register); each record then
names the organisation that runs the system in `business_unit` and is validated with the rules
a reference record can honestly meet (validate_record(reference=True)). The register is the
source of truth and nobody edits its records here, so a re-import simply makes the stored
records what the file says: new rows are created, changed ones updated, rows the file no longer
has are deleted (their tombstones tell the network). docs/import-mapping.md, "Reference
registers".
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from registry import reference, services
from registry import vocabularies as v
from registry.importers import nl_register, us_omb
from registry.importers.base import ImportRefused, MapOptions, SourceRow
from registry.importers.keys import DuplicateId, assign_keys
from registry.importers.text import (
    http_url,
    literal_list,
    meaningful,
    one_line,
    paragraphs,
    plain_text,
    shorten,
)
from registry.models import Agency, UseCase
from registry.validation import FIELDS, RecordInvalid, validate_record

READERS = {us_omb.FORMAT: us_omb, nl_register.FORMAT: nl_register}
CREATED, UPDATED, UNCHANGED, DELETED = "created", "updated", "unchanged", "deleted"
BATCH_ROWS = 500


@dataclass
class ReferenceReport:
    register: reference.Register
    rows: int
    dry_run: bool = False
    counts: dict[str, int] = field(
        default_factory=lambda: {CREATED: 0, UPDATED: 0, UNCHANGED: 0, DELETED: 0}
    )
    skipped: list[str] = field(default_factory=list)  # "row 12 (key): field: message"
    # Ids the file gives to more than one row (registry.importers.keys), each matched on content.
    duplicate_ids: list[DuplicateId] = field(default_factory=list)

    def summary(self) -> str:
        """'REF-US-OMB: created 3600, updated 0, unchanged 0, deleted 0, skipped 11'."""
        parts = [f"{name} {count}" for name, count in self.counts.items()]
        return f"{self.register.code}: {', '.join(parts)}, skipped {len(self.skipped)}"


def import_reference_register(
    *,
    path: Path,
    register_key: str,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ReferenceReport:
    """Make the register's records on this hub what the file at `path` says. Raises
    ImportRefused (unknown register, not a hub) and SourceInvalid (not the register's format)
    before any write; a row without a title or organisation, or with a value that cannot be
    stored, is skipped and reported with the validator's reasons."""
    register = _check_request(register_key)
    module = READERS[register.format]
    if not dry_run:
        ensure_register_agency(register)
    existing = {
        uc.source_key: uc
        for uc in UseCase.objects.filter(origin_id=register.code, source_key__isnull=False)
    }
    # Matched on content, never on position (registry.importers.keys), as an agency's import.
    keyed = assign_keys(
        module.read_rows(Path(path)),
        {key: uc.source_fingerprint for key, uc in existing.items()},
    )
    rows = keyed.rows
    report = ReferenceReport(
        register=register, rows=len(rows), dry_run=dry_run, duplicate_ids=keyed.duplicate_ids
    )
    today = timezone.now().date()
    options = MapOptions(today=today, contact_email="")  # no invented mailbox
    for start in range(0, len(rows), BATCH_ROWS):
        # One commit per batch, not per row: a 3,600-row file in seconds, not minutes, on SQLite.
        with transaction.atomic():
            for row in rows[start : start + BATCH_ROWS]:
                outcome = _import_row(
                    register, module, row, options, existing.get(row.key), dry_run
                )
                if outcome in report.counts:
                    report.counts[outcome] += 1
                else:
                    report.skipped.append(outcome)
        if progress:
            progress(min(start + BATCH_ROWS, len(rows)), len(rows))
    keys = {row.key for row in rows}
    for key, use_case in existing.items():
        if key not in keys:
            report.counts[DELETED] += 1
            if not dry_run:
                services.delete_use_case(use_case)
    return report


def _check_request(register_key: str) -> reference.Register:
    if register_key not in reference.REGISTERS:
        known = ", ".join(reference.REGISTERS)
        raise ImportRefused(f"Unknown reference register {register_key!r}: use one of {known}.")
    if settings.NODE_ROLE != "hub":
        raise ImportRefused(
            "Reference registers are imported on the hub, which serves them to every agency; "
            "an agency imports its own inventory with import_inventory."
        )
    return reference.REGISTERS[register_key]


def ensure_register_agency(register: reference.Register) -> Agency:
    """The register's row among the agencies, of kind reference_register (never an agency)."""
    agency, _ = Agency.objects.update_or_create(
        code=register.code,
        defaults={
            "name": register.name,
            "country": register.country,
            "kind": v.AgencyKind.REFERENCE_REGISTER,
        },
    )
    return agency


def _import_row(register, module, row: SourceRow, options, current, dry_run: bool) -> str:
    record = reference_record(register, row, module.map_row(row, options))
    try:
        cleaned = validate_record(record, today=options.today, reference=True)
    except RecordInvalid as exc:
        reasons = "; ".join(f"{name}: {' '.join(m)}" for name, m in exc.errors.items())
        return f"row {row.number} ({row.key}): {reasons}"
    if current is not None and _same(current, cleaned):
        if not dry_run and current.source_fingerprint != row.fingerprint:
            UseCase.objects.filter(pk=current.pk).update(source_fingerprint=row.fingerprint)
        return UNCHANGED
    if dry_run:
        return UPDATED if current else CREATED
    use_case = current or UseCase(origin_id=register.code, source_key=row.key)
    use_case.source_fingerprint = row.fingerprint
    for name, value in cleaned.items():
        setattr(use_case, name, value)
    use_case._change_reason = f"Imported from {register.name}"
    try:
        services.save_use_case(use_case)
    except ValidationError as exc:
        return f"row {row.number} ({row.key}): {exc.message_dict}"
    return UPDATED if current else CREATED


def reference_record(register: reference.Register, row: SourceRow, mapped) -> dict:
    """The mapped row as a reference record: its organisation in business_unit, public unless
    the source withholds it, and nothing the network's own schema would have us invent (the
    network's workplan area does not apply)."""
    record = dict(mapped.record)
    record["business_unit"] = shorten(organisation(register, row.values), 200)
    record["workplan_area"] = None
    level = v.PublicationLevel.NETWORK if mapped.never_public else v.PublicationLevel.PUBLIC
    record["publication_level"] = level
    record.update(stated_only(register, row.values))
    if register.format == us_omb.FORMAT:
        record["description"] = _with_us_high_impact(row.values, record["description"])
    return record


def stated_only(register: reference.Register, values: dict) -> dict:
    """The fields an agency's import fills with the documented defaults (docs/import-mapping.md),
    as the register itself states them, else empty ("not stated"): no register outside the
    network states an EU AI Act role or risk class, and the US "high-impact" is OMB M-25-21's
    notion, not the AI Act's high risk (it stays a tag and a line of the description)."""
    if register.format == nl_register.FORMAT:
        personal, dpia = _nl_privacy(values)
        impact = bool(meaningful(plain_text(values.get("impact"))))
        provider = meaningful(plain_text(values.get("provider")))
        sourcing = v.Sourcing.VENDOR if provider else None
        affects = True if impact or personal in PERSONAL_STATED else None
    else:
        personal, dpia = _us_privacy(values)
        sourcing = _us_sourcing(values)
        # M-25-21 high-impact AI is by definition the basis of decisions with a significant
        # effect on people's rights or safety; the file says nothing of the others.
        affects = True if _us_high_impact(values) else None
    stated = {
        "ai_act_role": None,
        "ai_act_risk": None,
        "ai_act_justification": "",
        "affects_individuals": affects,
        "personal_data": personal,
        "dpia_status": dpia,
        "sourcing": sourcing,
    }
    if register.format == us_omb.FORMAT:
        # The agencies' mapping reads "human on the loop" into M-25-21; the file does not say it.
        stated["human_oversight"] = None
    return stated


PERSONAL_STATED = {v.PersonalData.PERSONAL, v.PersonalData.SPECIAL_CATEGORY}


def _nl_privacy(values: dict) -> tuple[str | None, str | None]:
    """Personal data as the registration's DPIA, source-data and description texts state it
    (None when they say nothing); the DPIA done or not required as its DPIA field says, else
    None (no field, or words we cannot read, is not "planned")."""
    dpia = " ".join(plain_text(values.get(k)) for k in ("dpia", "dpia_description"))
    text = " ".join(
        plain_text(values.get(k))
        for k in ("source_data", "description_short", "description", "risks")
    )
    if nl_register.NO_PERSONAL.search(dpia):
        return v.PersonalData.NONE, None
    personal = None
    if nl_register.PERSONAL.search(text) or nl_register.DPIA_DONE.search(dpia):
        special = nl_register.SPECIAL.search(text)
        personal = v.PersonalData.SPECIAL_CATEGORY if special else v.PersonalData.PERSONAL
    if nl_register.DPIA_DONE.search(dpia):
        return personal, v.DpiaStatus.DONE
    if nl_register.DPIA_NONE.search(dpia):
        return personal, v.DpiaStatus.NOT_REQUIRED
    return personal, None


def _us_privacy(values: dict) -> tuple[str | None, str | None]:
    """has_pii "Yes"/"No" as stated (special category when a demographic feature is one, GDPR
    art. 9); a blank has_pii is not stated. The PIA done when the file links it, in progress
    when it says pending; otherwise not stated."""
    has_pii = one_line(values.get("has_pii")).casefold()
    if has_pii == "no":
        return v.PersonalData.NONE, None
    features = [
        f
        for f in literal_list(plain_text(values.get("demographic_features")))
        if not us_omb.NO_FEATURES.search(f)
    ]
    if has_pii != "yes" and not features:
        return None, None
    special = any(us_omb.SPECIAL_FEATURES.search(f) for f in features)
    personal = v.PersonalData.SPECIAL_CATEGORY if special else v.PersonalData.PERSONAL
    pia = plain_text(values.get("pia_url"))
    if http_url(pia):
        return personal, v.DpiaStatus.DONE
    if "pending" in pia.casefold() or "to be posted" in pia.casefold():
        return personal, v.DpiaStatus.IN_PROGRESS
    return personal, None


def _us_sourcing(values: dict) -> str | None:
    """contracting_usage as stated; else vendor when the file names one; else not stated."""
    known = us_omb.SOURCING.get(one_line(values.get("contracting_usage")).casefold())
    if known:
        return known[0]
    return v.Sourcing.VENDOR if meaningful(plain_text(values.get("vendor_name"))) else None


def _us_high_impact(values: dict) -> bool:
    return one_line(values.get("is_high_impact")) == "High-impact"


def _with_us_high_impact(values: dict, description: str) -> str:
    """The file's own high-impact flag and its justification, said as OMB's, never as the AI
    Act's risk class."""
    if not _us_high_impact(values):
        return description
    justification = meaningful(plain_text(values.get("HI_justification")))
    line = "US OMB: high-impact AI under OMB M-25-21 (not an EU AI Act risk class)."
    if justification:
        line += f" Justification: {justification}"
    return paragraphs(("", line), ("", description))


def organisation(register: reference.Register, values: dict) -> str:
    """The body that runs the system: 'HHS / FDA / CDER' (US: department code and bureau, the
    department's name not repeated), 'Gemeente Utrecht' (NL: the registering organisation)."""
    if register.format == nl_register.FORMAT:
        return one_line(values.get("organization"))
    department = one_line(values.get("agency"))
    names = {department, one_line(values.get("agency_name"))}
    bureau = [p for p in re.split(r"\s*/\s*", one_line(values.get("agency_bureau"))) if p]
    parts = [department, *(part for part in bureau if part not in names)]
    return " / ".join(part for part in parts if part)


def _same(current: UseCase, cleaned: dict) -> bool:
    stored = current.to_record()
    for name in FIELDS:
        value = cleaned[name]
        value = value.isoformat() if hasattr(value, "isoformat") else value
        if (stored[name] or None) != (value or None):
            return False
    return True
