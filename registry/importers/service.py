"""Import an agency's existing inventory file into the registry.

Two phases, so a file never half-imports by accident: first every row is read, mapped onto
RECORD.md and validated, as a draft and then at its publication level (a file that is not the
announced format stops here, before any write; a row that lacks something there is planned as a
draft with its reasons);
then each row that is new or changed is written through registry.services.save_use_case in its
own transaction, so its version and feed entry move with it and one bad row never touches another.
"""

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from registry import services
from registry import vocabularies as v
from registry.importers import nl_register, removed, us_omb
from registry.importers.base import ImportRefused, MapOptions, SourceRow
from registry.models import Agency, UseCase
from registry.validation import FIELDS, RecordInvalid, publication_gaps, validate_record

FORMATS = {us_omb.FORMAT: us_omb, nl_register.FORMAT: nl_register}
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
# The summary names the most frequent reasons why rows were left as drafts, not all of them.
SUMMARY_GROUPS = 6
REQUIRED = "This field is required."
DATE_IN_MESSAGE = re.compile(r" \(\d{4}-\d{2}-\d{2}\)")


@dataclass(frozen=True)
class RowReasons:
    """A row and why it was skipped, or what it lacks before it may be published."""

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
    skipped: list[RowReasons] = field(default_factory=list)
    # Rows stored (or left) as drafts that lack something before they may be published.
    drafts: list[RowReasons] = field(default_factory=list)
    # Records of the same source whose rows the file no longer has (registry.importers.removed).
    missing: list[removed.Missing] = field(default_factory=list)
    withdraw_missing: bool = False

    def summary(self, groups: int = SUMMARY_GROUPS) -> str:
        c = self.counts
        line = (
            f"created {c[CREATED]}, updated {c[UPDATED]}, unchanged {c[UNCHANGED]}, "
            f"skipped {len(self.skipped)}"
        )
        if self.drafts:
            reasons = self.draft_reasons().most_common()
            shown = [f"{count} {reason}" for reason, count in reasons[:groups]]
            if len(reasons) > groups:
                shown.append("...")
            line = f"{line}; {len(self.drafts)} left as drafts: {', '.join(shown)}"
        if self.missing:
            line = f"{line}; {removed.summary(self.missing, withdraw=self.withdraw_missing)}"
        return line

    def draft_reasons(self) -> Counter[str]:
        """How many drafts lack each thing, by field and message ('stage missing')."""
        return Counter(
            _reason(name, message)
            for draft in self.drafts
            for name, messages in draft.errors.items()
            for message in messages
        )


def _reason(name: str, message: str) -> str:
    if message == gettext(REQUIRED):
        return f"{name} missing"
    # 'Must not be before started on (2024-05-01).': one group whatever the date.
    return f"{name}: {DATE_IN_MESSAGE.sub('', message).rstrip('.')}"


@dataclass
class _Planned:
    row: SourceRow
    outcome: str | RowReasons
    cleaned: dict[str, Any] | None = None
    lacks: dict[str, list[str]] = field(default_factory=dict)


def import_inventory(
    *,
    path: Path,
    fmt: str,
    agency_code: str,
    publication_level: str | None = None,
    contact_email: str | None = None,
    dry_run: bool = False,
    withdraw_missing: bool = False,
    force: bool = False,
    max_withdraw_share: float = removed.MAX_WITHDRAW_SHARE,
    user=None,
    progress: Callable[[int, int], None] | None = None,
    progress_every: int = 500,
) -> ImportReport:
    """Create or update one record per source row that has a title and well-formed values; every
    row ends created, updated, unchanged or skipped (with the validator's reasons). A row that
    lacks something for its publication level is stored as a draft and reported with what it
    lacks. `contact_email` defaults to the agency's functional mailbox. Records of the same
    source whose rows the file no longer has are reported; `withdraw_missing` withdraws the
    shared ones, refused (ImportRefused, before any write) when that looks like a wrong file."""
    module = _check_request(fmt, agency_code, publication_level)
    rows = module.read_rows(Path(path))
    existing = {
        uc.source_key: uc
        for uc in UseCase.objects.filter(origin_id=agency_code, source_key__isnull=False)
    }
    gone = removed.find(existing, fmt, {row.key for row in rows})
    if withdraw_missing:
        removed.check_withdrawal(
            gone, existing, fmt, rows=len(rows), max_share=max_withdraw_share, force=force
        )
    # save_use_case gives a record without a contact the agency's mailbox; the plan does the
    # same, so that a re-import compares the record as it will be stored.
    mailbox = contact_email or services.agency_mailbox(agency_code)
    options = MapOptions(today=timezone.now().date(), contact_email=mailbox)
    plan = [_plan(row, module, options, existing, publication_level) for row in rows]
    report = ImportReport(rows=len(rows), dry_run=dry_run, withdraw_missing=withdraw_missing)
    reason = f"Imported from {Path(path).name} ({fmt})"
    for done, planned in enumerate(plan, 1):
        outcome = planned.outcome
        if not dry_run and outcome in (CREATED, UPDATED):
            outcome = _write(planned, agency_code, existing.get(planned.row.key), user, reason)
        if isinstance(outcome, RowReasons):
            report.skipped.append(outcome)
        else:
            report.counts[outcome] += 1
            if planned.lacks:
                report.drafts.append(RowReasons(planned.row.number, planned.row.key, planned.lacks))
        if progress and (done % progress_every == 0 or done == len(plan)):
            progress(done, len(plan))
    report.missing = removed.settle(
        gone,
        withdraw=withdraw_missing,
        dry_run=dry_run,
        user=user,
        reason=f"No longer in {Path(path).name} ({fmt}): withdrawn by the import",
    )
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
    """Validate the row as a draft (only a title and well-formed values, else it is skipped),
    then raise it to its publication level when it lacks nothing there."""
    mapped = module.map_row(row, options)
    current = existing.get(row.key)
    record = {**mapped.record, "publication_level": v.PublicationLevel.DRAFT}
    try:
        cleaned = validate_record(record, today=options.today)
    except RecordInvalid as exc:
        return _Planned(row, RowReasons(row.number, row.key, exc.errors))
    target = _level(current, level, mapped.never_public)
    lacks = _lacks(record, target, options.today)
    cleaned["publication_level"] = v.PublicationLevel.DRAFT if lacks else target
    if current is not None and _comparable(current.to_record()) == wire_form(cleaned):
        return _Planned(row, UNCHANGED, lacks=lacks)
    return _Planned(row, UPDATED if current else CREATED, cleaned, lacks)


def _lacks(record: dict[str, Any], level: str, today: dt.date) -> dict[str, list[str]]:
    """What keeps the record from `level` (for a draft: from being published at all)."""
    if level == v.PublicationLevel.DRAFT:
        return publication_gaps(record, today=today)
    try:
        validate_record({**record, "publication_level": level}, today=today)
    except RecordInvalid as exc:
        return exc.errors
    return {}


def _level(current: UseCase | None, requested: str | None, never_public: bool) -> str:
    """New rows are drafts and updates keep their level, unless the command says otherwise; a
    row its source withholds from public reporting never goes public from here."""
    if requested is None:
        return current.publication_level if current else v.PublicationLevel.DRAFT
    if never_public and requested == v.PublicationLevel.PUBLIC:
        return v.PublicationLevel.NETWORK
    return requested


def _comparable(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the validator would give it back: an empty enum or date is None, as
    validate_record returns it, even when a form saved it as ''."""
    return {
        name: None if value == "" and FIELDS[name].kind in ("enum", "date") else value
        for name, value in stored.items()
    }


def wire_form(cleaned: dict[str, Any]) -> dict[str, Any]:
    """Validated values as UseCase.to_record() gives them back (dates as ISO strings)."""
    return {
        name: value.isoformat() if isinstance(value, dt.date) else value
        for name, value in cleaned.items()
    }


def _write(planned: _Planned, agency_code: str, current, user, reason: str) -> str | RowReasons:
    use_case = current or UseCase(origin_id=agency_code, source_key=planned.row.key)
    for name, value in planned.cleaned.items():
        setattr(use_case, name, value)
    use_case._change_reason = reason
    try:
        services.save_use_case(use_case, user=user)
    except ValidationError as exc:
        return RowReasons(planned.row.number, planned.row.key, exc.message_dict)
    return UPDATED if current else CREATED
