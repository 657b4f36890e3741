"""Import an agency's existing inventory file into the registry.

Two phases, so a file never half-imports by accident: first every row is read, mapped onto
RECORD.md and validated (a file that is not the announced format stops here, before any write);
then each row that is new or changed is written through registry.services.save_use_case in its
own transaction, so its version and feed entry move with it and one bad row never touches another.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from registry import services
from registry import vocabularies as v
from registry.importers import nl_register, us_omb
from registry.importers.base import MapOptions, SourceRow
from registry.models import Agency, UseCase
from registry.validation import RecordInvalid, validate_record

FORMATS = {us_omb.FORMAT: us_omb, nl_register.FORMAT: nl_register}
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class ImportRefused(Exception):
    """The import cannot run as asked (unknown format or agency, not this node's records)."""


@dataclass(frozen=True)
class Skip:
    number: int
    key: str
    errors: dict[str, list[str]]

    def __str__(self) -> str:
        reasons = "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in self.errors.items()
        )
        return f"row {self.number} ({self.key}): {reasons}"


@dataclass
class ImportReport:
    rows: int
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=lambda: {CREATED: 0, UPDATED: 0, UNCHANGED: 0})
    skipped: list[Skip] = field(default_factory=list)

    def summary(self) -> str:
        c = self.counts
        return (
            f"created {c[CREATED]}, updated {c[UPDATED]}, unchanged {c[UNCHANGED]}, "
            f"skipped {len(self.skipped)}"
        )


@dataclass
class _Planned:
    row: SourceRow
    outcome: str | Skip
    cleaned: dict[str, Any] | None = None


def import_inventory(
    *,
    path: Path,
    fmt: str,
    agency_code: str,
    publication_level: str | None = None,
    contact_email: str = "",
    dry_run: bool = False,
    user=None,
    progress: Callable[[int, int], None] | None = None,
    progress_every: int = 500,
) -> ImportReport:
    """Create or update one record per source row; every row ends created, updated, unchanged
    or skipped (with the validator's reasons)."""
    module = _check_request(fmt, agency_code, publication_level)
    rows = module.read_rows(Path(path))
    existing = {
        uc.source_key: uc
        for uc in UseCase.objects.filter(origin_id=agency_code, source_key__isnull=False)
    }
    options = MapOptions(today=timezone.now().date(), contact_email=contact_email)
    plan = [_plan(row, module, options, existing, publication_level) for row in rows]
    report = ImportReport(rows=len(rows), dry_run=dry_run)
    reason = f"Imported from {Path(path).name} ({fmt})"
    for done, planned in enumerate(plan, 1):
        outcome = planned.outcome
        if not dry_run and outcome in (CREATED, UPDATED):
            outcome = _write(planned, agency_code, existing.get(planned.row.key), user, reason)
        if isinstance(outcome, Skip):
            report.skipped.append(outcome)
        else:
            report.counts[outcome] += 1
        if progress and (done % progress_every == 0 or done == len(plan)):
            progress(done, len(plan))
    return report


def _check_request(fmt: str, agency_code: str, publication_level: str | None):
    if fmt not in FORMATS:
        raise ImportRefused(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}.")
    if publication_level is not None and publication_level not in v.PublicationLevel.values:
        raise ImportRefused(
            f"Unknown publication level {publication_level!r}: "
            f"use one of {', '.join(v.PublicationLevel.values)}."
        )
    if not Agency.objects.filter(code=agency_code).exists():
        raise ImportRefused(
            f"No agency {agency_code!r} here: create it first (admin, or manage.py seed_demo)."
        )
    if agency_code != settings.NODE_AGENCY:
        raise ImportRefused(
            f"This node runs for {settings.NODE_AGENCY}; only the origin writes its records, so "
            f"{agency_code}'s inventory is imported on {agency_code}'s own node."
        )
    return FORMATS[fmt]


def _plan(row: SourceRow, module, options: MapOptions, existing: dict, level: str | None):
    mapped = module.map_row(row, options)
    current = existing.get(row.key)
    record = dict(mapped.record)
    record["publication_level"] = _level(current, level, mapped.never_public)
    try:
        cleaned = validate_record(record, today=options.today)
    except RecordInvalid as exc:
        return _Planned(row, Skip(row.number, row.key, _with_hints(exc.errors, options)))
    if current is not None and current.to_record() == wire_form(cleaned):
        return _Planned(row, UNCHANGED)
    return _Planned(row, UPDATED if current else CREATED, cleaned)


def _level(current: UseCase | None, requested: str | None, never_public: bool) -> str:
    """New rows are drafts and updates keep their level, unless the command says otherwise; a
    row its source withholds from public reporting never goes public from here."""
    if requested is None:
        return current.publication_level if current else v.PublicationLevel.DRAFT
    if never_public and requested == v.PublicationLevel.PUBLIC:
        return v.PublicationLevel.NETWORK
    return requested


def _with_hints(errors: dict[str, list[str]], options: MapOptions) -> dict[str, list[str]]:
    if "contact_email" in errors and not options.contact_email:
        errors = {
            **errors,
            "contact_email": [*errors["contact_email"], "(--contact-email sets a fallback.)"],
        }
    return errors


def wire_form(cleaned: dict[str, Any]) -> dict[str, Any]:
    """Validated values as UseCase.to_record() gives them back (dates as ISO strings)."""
    return {
        name: value.isoformat() if isinstance(value, dt.date) else value
        for name, value in cleaned.items()
    }


def _write(planned: _Planned, agency_code: str, current, user, reason: str) -> str | Skip:
    use_case = current or UseCase(origin_id=agency_code, source_key=planned.row.key)
    for name, value in planned.cleaned.items():
        setattr(use_case, name, value)
    use_case._change_reason = reason
    try:
        services.save_use_case(use_case, user=user)
    except ValidationError as exc:
        return Skip(planned.row.number, planned.row.key, exc.message_dict)
    return UPDATED if current else CREATED
