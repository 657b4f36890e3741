"""Records of an inventory that its latest file no longer contains (docs/import-mapping.md, "Rows
removed at the source").

The source of a record is its agency and its format: the source_key prefix (`us-omb-2025:`,
`nl-register:`). Not the file name: next year's edition of an inventory comes under a new name,
and it is exactly the file whose removed rows matter. Records made by hand have no source_key
and are never looked at. Only shared records are withdrawn (a tombstone, so the network drops
its copies); drafts and internal records never left the agency and are only reported.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from registry import services
from registry import vocabularies as v
from registry.importers.base import ImportRefused
from registry.models import UseCase

# --withdraw-missing refuses to withdraw more than this share of the source's shared records
# without --force: a file that lacks most of them is more likely the wrong file than the truth.
MAX_WITHDRAW_SHARE = 0.5

# Records listed one per line before "... and N more" (the command's --list-missing lists all).
LIST_LIMIT = 20

REPORTED, WITHDRAWN, TO_WITHDRAW, LEFT, FAILED = (
    "reported",
    "withdrawn",
    "to withdraw",
    "left",
    "failed",
)
OUTCOME_TEXT = {
    REPORTED: "",
    WITHDRAWN: ": withdrawn, now internal",
    TO_WITHDRAW: ": would be withdrawn",
    LEFT: ": left as it is (not shared)",
}


@dataclass
class Missing:
    """A record of the source whose row the file no longer has, and what the import did to it."""

    key: str
    title: str
    level: str  # its publication level before the import
    outcome: str = REPORTED
    error: str = ""

    @property
    def shared(self) -> bool:
        return self.level in v.SHARED_LEVELS

    def __str__(self) -> str:
        line = f"no longer in the file: {self.key} ({self.level}) {self.title}"
        if self.outcome == FAILED:
            return f"{line}: not withdrawn: {self.error}"
        return line + OUTCOME_TEXT[self.outcome]


def find(existing: dict[str, UseCase], fmt: str, keys: set[str]) -> list[UseCase]:
    """The agency's records imported from `fmt` whose key is not among the file's `keys`."""
    prefix = f"{fmt}:"
    return [existing[key] for key in sorted(existing) if key.startswith(prefix) and key not in keys]


def check_withdrawal(
    gone: list[UseCase],
    existing: dict[str, UseCase],
    fmt: str,
    *,
    rows: int,
    max_share: float,
    force: bool,
) -> None:
    """Refuse --withdraw-missing for a file without rows (always) or one that would withdraw more
    than `max_share` of the source's shared records (unless forced). Raises ImportRefused."""
    if rows == 0:
        raise ImportRefused(
            "The file has no rows: --withdraw-missing would withdraw every record imported from "
            f"{fmt}. Refused, even with --force (the admin's list withdraws records on purpose)."
        )
    to_withdraw = sum(uc.publication_level in v.SHARED_LEVELS for uc in gone)
    shared = sum(
        uc.publication_level in v.SHARED_LEVELS
        for key, uc in existing.items()
        if key.startswith(f"{fmt}:")
    )
    if force or not to_withdraw or to_withdraw <= max_share * shared:
        return
    raise ImportRefused(
        f"--withdraw-missing would withdraw {to_withdraw} of the {shared} shared records "
        f"imported from {fmt} ({to_withdraw / shared:.0%}), more than the {max_share:.0%} "
        "allowed: is this the whole file? Check it, or add --force to withdraw them anyway."
    )


def settle(
    gone: list[UseCase], *, withdraw: bool, dry_run: bool, user, reason: str
) -> list[Missing]:
    """Report each missing record; with `withdraw`, take the shared ones back from the network
    through registry.services.withdraw, each in its own transaction."""
    report = []
    for use_case in gone:
        missing = Missing(use_case.source_key, use_case.title, use_case.publication_level)
        if withdraw:
            missing.outcome = _outcome(missing, use_case, dry_run, user, reason)
        report.append(missing)
    return report


def _outcome(missing: Missing, use_case: UseCase, dry_run: bool, user, reason: str) -> str:
    if not missing.shared:
        return LEFT
    if dry_run:
        return TO_WITHDRAW
    use_case._change_reason = reason
    try:
        services.withdraw(use_case, user=user)
    except ValidationError as exc:
        missing.error = "; ".join(f"{k}: {' '.join(m)}" for k, m in exc.message_dict.items())
        return FAILED
    return WITHDRAWN


def listing(missing: list[Missing], *, limit: int | None = LIST_LIMIT) -> list[str]:
    """One line per missing record, at most `limit` (None: all) then '... and N more': failed
    withdrawals first, then shared records, then the rest, each in key order."""
    order = sorted(missing, key=lambda m: (m.outcome != FAILED, not m.shared))
    lines = [str(m) for m in (order if limit is None else order[:limit])]
    if limit is not None and len(order) > limit:
        lines.append(f"... and {len(order) - limit} more (--list-missing prints them all)")
    return lines


def summary(missing: list[Missing], *, withdraw: bool) -> str:
    """'3 no longer in the file: run again with --withdraw-missing to withdraw them', or what
    --withdraw-missing did to them."""
    count = len(missing)
    if withdraw:
        outcomes = [m.outcome for m in missing]
        parts = [
            f"{outcomes.count(WITHDRAWN)} withdrawn" if WITHDRAWN in outcomes else "",
            f"{outcomes.count(TO_WITHDRAW)} would be withdrawn" if TO_WITHDRAW in outcomes else "",
            f"{outcomes.count(FAILED)} not withdrawn" if FAILED in outcomes else "",
            f"{outcomes.count(LEFT)} not shared, left as they are" if LEFT in outcomes else "",
        ]
        return f"{count} no longer in the file: {', '.join(p for p in parts if p)}"
    shared = sum(m.shared for m in missing)
    if not shared:
        return f"{count} no longer in the file, none of them shared"
    them = "them" if shared == count else f"the {shared} shared"
    return f"{count} no longer in the file: run again with --withdraw-missing to withdraw {them}"
