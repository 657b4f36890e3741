from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry import vocabularies as v
from registry.importers import removed
from registry.importers.base import SourceInvalid
from registry.importers.service import FORMATS, LIST_LIMIT, ImportRefused, import_inventory


class Command(BaseCommand):
    help = (
        "Import an existing AI use-case inventory as records of this node's agency. Every row "
        "ends created, updated, unchanged, kept or skipped (no title, or a value that cannot be "
        "stored: listed with its reasons). New rows that lack something for their publication "
        "level are stored as drafts, counted by reason on the last line. An update merges: what "
        "the row states replaces the stored value, what it leaves empty keeps it; a shared or "
        "internal record the update would leave lacking something is kept as stored (listed). "
        "Records of the same source that the file no longer contains are listed (the first "
        f"{removed.LIST_LIMIT}; --list-missing: all); --withdraw-missing withdraws the shared "
        "ones. Mapping: docs/import-mapping.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--agency", required=True, help="Code of this node's agency.")
        parser.add_argument("--format", required=True, dest="format", help=" | ".join(FORMATS))
        parser.add_argument(
            "--publication-level",
            help=f"{' | '.join(v.PublicationLevel.values)}; default: draft for new records, "
            "unchanged for updated ones. New rows that lack something at that level are drafts; "
            "a shared or internal record is only lowered to draft by an explicit 'draft'.",
        )
        parser.add_argument(
            "--contact-email",
            default=None,
            help="Contact of the rows that give no e-mail address; default: the agency's "
            "functional mailbox (create_agency --contact-email).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report, store nothing.")
        parser.add_argument(
            "--withdraw-missing",
            action="store_true",
            help="Withdraw from the network the shared records imported from this format that "
            "the file no longer contains (without it they are only listed).",
        )
        parser.add_argument(
            "--list-missing",
            action="store_true",
            help=f"List every record the file no longer contains (default: the first "
            f"{removed.LIST_LIMIT}, then how many more).",
        )
        parser.add_argument(
            "--max-withdraw-percent",
            type=int,
            default=round(removed.MAX_WITHDRAW_SHARE * 100),
            help="--withdraw-missing refuses to withdraw more than this percentage of the "
            "source's shared records (default: %(default)s), unless --force is given.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="With --withdraw-missing: withdraw even more than --max-withdraw-percent.",
        )

    def handle(self, *args, **options):
        if options["force"] and not options["withdraw_missing"]:
            raise CommandError("--force only goes with --withdraw-missing. Nothing was imported.")
        if not 0 <= options["max_withdraw_percent"] <= 100:
            raise CommandError("--max-withdraw-percent is a number from 0 to 100.")
        try:
            report = import_inventory(
                path=options["file"],
                fmt=options["format"],
                agency_code=options["agency"],
                publication_level=options["publication_level"],
                contact_email=options["contact_email"],
                dry_run=options["dry_run"],
                withdraw_missing=options["withdraw_missing"],
                force=options["force"],
                max_withdraw_share=options["max_withdraw_percent"] / 100,
                progress=self._progress,
            )
        except (ImportRefused, SourceInvalid) as exc:
            raise CommandError(f"{exc} Nothing was imported.") from None
        for skip in report.skipped:
            self.stdout.write(f"skipped {skip}")
        for line in _capped([str(repeat) for repeat in report.duplicate_ids], "repeated ids"):
            self.stdout.write(line)
        for line in _capped([kept.kept_line() for kept in report.kept], "kept rows"):
            self.stdout.write(line)
        for line in _capped([str(replaced) for replaced in report.replaced], "updated rows"):
            self.stdout.write(line)
        limit = None if options["list_missing"] else removed.LIST_LIMIT
        for line in removed.listing(report.missing, limit=limit):
            self.stdout.write(line)
        if report.dry_run:
            self.stdout.write("Dry run: nothing was stored.")
        self.stdout.write(report.summary())

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"{done}/{total} rows")


def _capped(lines: list[str], what: str) -> list[str]:
    if len(lines) <= LIST_LIMIT:
        return lines
    return [*lines[:LIST_LIMIT], f"... and {len(lines) - LIST_LIMIT} more {what}"]
