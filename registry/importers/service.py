"""Import an agency's existing inventory file into the registry.

Two phases, so a file never half-imports by accident: first every row is read, mapped onto
RECORD.md and validated, as a draft and then at its publication level (a file that is not the
announced format stops here, before any write; a row that lacks something there is planned as a
draft with its reasons);
then each row that is new or changed is written through registry.services.save_use_case in its
own transaction, so its version and feed entry move with it and one bad row never touches another.

An update merges (docs/import-mapping.md, "Updates merge"): what the row states replaces the
stored value, what it does not state (empty, or the mapping's placeholder) keeps it, and the
merged record is validated and compared. An update never lowers a record's publication level
on its own: a shared or internal record that the merged row would leave lacking something is
kept as stored and reported; only an explicit `--publication-level draft` writes it down.
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
from registry.importers import keys, nl_register, removed, us_omb
from registry.importers.base import ImportRefused, MapOptions, SourceRow
from registry.importers.text import PLACEHOLDERS
from registry.models import Agency, UseCase
from registry.validation import (
    FIELDS,
    RecordInvalid,
    is_empty,
    publication_gaps,
    validate_record,
)

FORMATS = {us_omb.FORMAT: us_omb, nl_register.FORMAT: nl_register}
CREATED, UPDATED, UNCHANGED, KEPT = "created", "updated", "unchanged", "kept"
# The summary names the most frequent reasons why rows were left as drafts, not all of them.
SUMMARY_GROUPS = 6
# Rows listed one per line (kept, hand edits replaced) before "... and N more".
LIST_LIMIT = 20
REQUIRED = "This field is required."
DATE_IN_MESSAGE = re.compile(r" \([^()]*\d{4}\)")  # "(1 March 2025)": one reason, any date
# Highest first: the order of the per-level counts on the summary line.
LEVEL_ORDER = list(reversed(v.PublicationLevel.values))
# Text that earlier versions of the mappers stored for what a row did not state. No mapper
# writes them any more (nothing invented is stored as data); a re-import replaces them.
LEGACY_NOT_STATED = "Not stated in the source inventory."
LEGACY_UNTRANSLATED = " (Dutch title, not yet translated)"
# Values the mappers give a field the row does not state (docs/import-mapping.md, "Updates
# merge"): on an update they keep the stored value.
NOT_STATED = {
    "purpose": [LEGACY_NOT_STATED],
    "ai_act_risk": [v.AiActRisk.NOT_ASSESSED],
    "techniques": [["other"]],  # registry.importers.keywords: no match gives `other`
    "regulatory_processes": [["other"]],
}
# A date the mapper filled in itself says so in the description (us_omb._dates,
# nl_register): the row did not state it.
DEFAULTED_DATES = {
    "operational_since": ("Operational date not in the source:",),
    "retired_on": ("Retirement date not in the source:", "Stop date not in the source:"),
}
IMPORTED_FROM = "Imported from "


@dataclass(frozen=True)
class RowReasons:
    """A row and why it was skipped, or what it lacks before it may be published (`level`: the
    level it lacks them at, for a row kept as stored)."""

    number: int
    key: str
    errors: dict[str, list[str]]
    level: str = ""

    def __str__(self) -> str:
        reasons = "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in self.errors.items()
        )
        return f"row {self.number} ({self.key}): {reasons}"

    def kept_line(self) -> str:
        """One line for a row kept as stored (its update would lack something at its level)."""
        return (
            f"kept row {self.number} ({self.key}) at {self.level}, the update would lack: "
            f"{reasons_text(self.errors)}; the stored record is left as it is "
            "(--publication-level draft stores the row as a draft)"
        )


@dataclass(frozen=True)
class Replaced:
    """An updated record whose edits made here (since its last import) the file replaced."""

    number: int
    key: str
    fields: list[str]

    def __str__(self) -> str:
        return (
            f"updated row {self.number} ({self.key}): the file replaced edits made here to "
            f"{', '.join(self.fields)}"
        )


@dataclass
class ImportReport:
    rows: int
    dry_run: bool = False
    counts: dict[str, int] = field(
        default_factory=lambda: {CREATED: 0, UPDATED: 0, UNCHANGED: 0, KEPT: 0}
    )
    # How many rows of each outcome end at each publication level.
    levels: dict[str, Counter[str]] = field(default_factory=dict)
    skipped: list[RowReasons] = field(default_factory=list)
    # Rows stored (or left) as drafts that lack something before they may be published.
    drafts: list[RowReasons] = field(default_factory=list)
    # Updates not written: the merged record would lack something at the record's level.
    kept: list[RowReasons] = field(default_factory=list)
    # Updates that replaced values edited here since the record's last import.
    replaced: list[Replaced] = field(default_factory=list)
    # Records of the same source whose rows the file no longer has (registry.importers.removed).
    missing: list[removed.Missing] = field(default_factory=list)
    withdraw_missing: bool = False
    # Ids the file gives to more than one row (registry.importers.keys).
    duplicate_ids: list[keys.DuplicateId] = field(default_factory=list)

    def count(self, outcome: str, level: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.levels.setdefault(outcome, Counter())[level] += 1

    def summary(self, groups: int = SUMMARY_GROUPS) -> str:
        """'created 5 (4 network, 1 draft), updated 0, unchanged 0, skipped 0; 1 draft lacks
        something to be published: 1 stage missing', then kept rows, replaced edits and
        records no longer in the file."""
        outcomes = [CREATED, UPDATED, UNCHANGED] + ([KEPT] if self.counts.get(KEPT) else [])
        parts = [f"{name} {self.counts.get(name, 0)}{self._by_level(name)}" for name in outcomes]
        line = ", ".join([*parts, f"skipped {len(self.skipped)}"])
        if self.drafts:
            count = len(self.drafts)
            lack = "draft lacks" if count == 1 else "drafts lack"
            shown = _grouped(self.draft_reasons(), groups)
            line = f"{line}; {count} {lack} something to be published: {shown}"
        if self.kept:
            count = len(self.kept)
            their = "its" if count == 1 else "their"
            shown = _grouped(self.kept_reasons(), groups)
            line = (
                f"{line}; {count} kept as stored, the update would lack at {their} level: {shown}"
            )
        if self.replaced:
            count = len(self.replaced)
            record = "record" if count == 1 else "records"
            fields = Counter(name for replaced in self.replaced for name in replaced.fields)
            shown = _grouped(fields, groups)
            line = f"{line}; {count} updated {record} had edits made here replaced: {shown}"
        if self.duplicate_ids:
            count = len(self.duplicate_ids)
            ids = "id is" if count == 1 else "ids are"
            line = f"{line}; {count} {ids} repeated in the file, rows matched on their content"
        if self.missing:
            line = f"{line}; {removed.summary(self.missing, withdraw=self.withdraw_missing)}"
        return line

    def _by_level(self, outcome: str) -> str:
        levels = self.levels.get(outcome)
        if not levels:
            return ""
        shown = [f"{levels[level]} {level}" for level in LEVEL_ORDER if levels[level]]
        return f" ({', '.join(shown)})"

    def draft_reasons(self) -> Counter[str]:
        """How many drafts lack each thing, by field and message ('stage missing')."""
        return _reasons(self.drafts)

    def kept_reasons(self) -> Counter[str]:
        """How many kept rows would lack each thing, and at which level ('stage missing at
        public')."""
        return _reasons(self.kept, at_level=True)


def _reasons(rows: list[RowReasons], at_level: bool = False) -> Counter[str]:
    return Counter(
        _reason(name, message) + (f" at {row.level}" if at_level else "")
        for row in rows
        for name, messages in row.errors.items()
        for message in messages
    )


def _grouped(reasons: Counter[str], groups: int) -> str:
    common = reasons.most_common()
    shown = [f"{count} {reason}" for reason, count in common[:groups]]
    if len(common) > groups:
        shown.append("...")
    return ", ".join(shown)


def reasons_text(errors: dict[str, list[str]]) -> str:
    return ", ".join(
        _reason(name, message) for name, messages in errors.items() for message in messages
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
    level: str = ""  # the record's publication level after the import
    replaced: list[str] = field(default_factory=list)


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
    row ends created, updated, unchanged, kept or skipped (with the validator's reasons). A new
    row that lacks something for its publication level is stored as a draft and reported with
    what it lacks. An update merges the row into the stored record (what the row does not state
    keeps its stored value) and never lowers the record's level unless `publication_level` is
    draft: a shared or internal record the update would leave lacking something is kept as
    stored and reported. `contact_email` defaults to the agency's functional mailbox. Records of
    the same source whose rows the file no longer has are reported; `withdraw_missing` withdraws
    the shared ones, refused (ImportRefused, before any write) when that looks like a wrong
    file."""
    module = _check_request(fmt, agency_code, publication_level)
    existing = {
        uc.source_key: uc
        for uc in UseCase.objects.filter(origin_id=agency_code, source_key__isnull=False)
    }
    keyed = keys.assign_keys(
        module.read_rows(Path(path)),
        {key: uc.source_fingerprint for key, uc in existing.items() if key.startswith(f"{fmt}:")},
    )
    rows = keyed.rows
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
    report = ImportReport(
        rows=len(rows),
        dry_run=dry_run,
        withdraw_missing=withdraw_missing,
        duplicate_ids=keyed.duplicate_ids,
    )
    reason = f"{IMPORTED_FROM}{Path(path).name} ({fmt})"
    for done, planned in enumerate(plan, 1):
        outcome = planned.outcome
        current = existing.get(planned.row.key)
        if not dry_run and outcome in (CREATED, UPDATED):
            outcome = _write(planned, agency_code, current, user, reason)
        elif not dry_run and current is not None:
            _remember_row(current, planned.row)
        row = planned.row
        if isinstance(outcome, RowReasons):
            report.skipped.append(outcome)
        elif outcome == KEPT:
            report.count(KEPT, planned.level)
            report.kept.append(RowReasons(row.number, row.key, planned.lacks, planned.level))
        else:
            report.count(outcome, planned.level)
            if planned.lacks:
                report.drafts.append(RowReasons(row.number, row.key, planned.lacks))
            if planned.replaced:
                report.replaced.append(Replaced(row.number, row.key, planned.replaced))
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
    """Validate the row as a draft (only a title and well-formed values, else it is skipped);
    merge it into the stored record on an update; then raise it to its publication level when
    it lacks nothing there. An update that would lower a shared or internal record to a draft
    without `--publication-level draft` is kept as stored."""
    mapped = module.map_row(row, options)
    current = existing.get(row.key)
    record = {**mapped.record, "publication_level": v.PublicationLevel.DRAFT}
    try:
        cleaned = validate_record(record, today=options.today)
        if current is not None:
            stored = _comparable(current.to_record())
            merged = merge(record, stored, options.contact_email)
            record = {**merged, "publication_level": v.PublicationLevel.DRAFT}
            cleaned = validate_record(record, today=options.today)
    except RecordInvalid as exc:
        return _Planned(row, RowReasons(row.number, row.key, exc.errors))
    target = _level(current, level, mapped.never_public)
    lacks = _lacks(record, target, options.today)
    if (
        lacks
        and current is not None
        and current.publication_level != v.PublicationLevel.DRAFT
        and target != v.PublicationLevel.DRAFT
    ):
        return _Planned(row, KEPT, lacks=lacks, level=target)
    cleaned["publication_level"] = v.PublicationLevel.DRAFT if lacks else target
    planned_level = cleaned["publication_level"]
    if current is None:
        return _Planned(row, CREATED, cleaned, lacks, planned_level)
    if stored == wire_form(cleaned):
        return _Planned(row, UNCHANGED, lacks=lacks, level=planned_level)
    replaced = _replaced_edits(current, stored, wire_form(cleaned))
    return _Planned(row, UPDATED, cleaned, lacks, planned_level, replaced)


def merge(mapped: dict[str, Any], stored: dict[str, Any], mailbox: str = "") -> dict[str, Any]:
    """The row merged into the stored record: each field the row states replaces the stored
    value; a field it does not state (see `states`) keeps the stored value when that value is
    itself a statement (a hand completion, or what an earlier file stated), not the mapping's
    default from an earlier import (so a renamed row's title-as-summary follows the title)."""
    merged = dict(mapped)
    for name, value in mapped.items():
        if name not in stored or states(name, value, mapped, mailbox):
            continue
        if states(name, stored[name], stored, mailbox, notes=False):
            merged[name] = stored[name]
    return merged


def states(
    name: str, value: Any, mapped: dict[str, Any], mailbox: str = "", *, notes: bool = True
) -> bool:
    """Whether the mapped row (or, `notes` off, a stored record) states `name`, rather than
    leaving it empty or giving the mapping's own default: a placeholder text (text.PLACEHOLDERS,
    and the texts earlier mappers stored: LEGACY_NOT_STATED, a Dutch title marked as not yet
    translated), `other` when no keyword matched, `not_assessed`, the title as summary, the
    agency's mailbox as contact, a date the mapping set itself (its note in the description),
    and False (the spreadsheets have no yes/no column for our flags: False is the absence of a
    statement)."""
    if is_empty(value) or value is False:
        return False
    if isinstance(value, str) and value.strip().casefold() in PLACEHOLDERS:
        return False
    if value in NOT_STATED.get(name, ()):
        return False
    if name == "title_en" and value.endswith(LEGACY_UNTRANSLATED):
        return False
    if name == "summary" and value == mapped.get("title"):
        return False
    if name == "contact_email" and mailbox and value == mailbox:
        return False
    if not notes:
        return True
    description = mapped.get("description") or ""
    return not any(note in description for note in DEFAULTED_DATES.get(name, ()))


def _replaced_edits(current: UseCase, stored: dict[str, Any], merged: dict[str, Any]) -> list:
    """The fields the update changes whose stored value was edited here since the record's last
    import (its history), so the report can say which hand edits the file replaced."""
    changed = [
        name for name in FIELDS if name != "publication_level" and stored[name] != merged[name]
    ]
    if not changed:
        return []
    last_import = (
        current.history.filter(history_change_reason__startswith=IMPORTED_FROM)
        .order_by("-history_date", "-history_id")
        .first()
    )
    if last_import is None:
        return []
    imported = _comparable(last_import.instance.to_record())
    return [name for name in changed if stored[name] != imported[name]]


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
    use_case.source_fingerprint = planned.row.fingerprint
    for name, value in planned.cleaned.items():
        setattr(use_case, name, value)
    use_case._change_reason = reason
    try:
        services.save_use_case(use_case, user=user)
    except ValidationError as exc:
        return RowReasons(planned.row.number, planned.row.key, exc.message_dict)
    return UPDATED if current else CREATED


def _remember_row(use_case: UseCase, row: SourceRow) -> None:
    """Keep the fingerprint of the row an unchanged (or kept) record was matched to, so that the
    next import matches it on content (registry.importers.keys). Import bookkeeping, not part of
    the record: no new version."""
    if use_case.source_fingerprint != row.fingerprint:
        UseCase.objects.filter(pk=use_case.pk).update(source_fingerprint=row.fingerprint)
