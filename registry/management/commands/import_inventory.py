from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry import vocabularies as v
from registry.importers import removed
from registry.importers.base import SourceInvalid
from registry.importers.service import FORMATS, ImportRefused, import_inventory


class Command(BaseCommand):
    help = (
        "Import an existing AI use-case inventory as records of this node's agency. Every row "
        "ends created, updated, unchanged or skipped (no title, or a value that cannot be "
        "stored: listed with its reasons); rows that lack something for their publication level "
        "are stored as drafts, counted by reason on the last line. Records of the same source "
        "that the file no longer contains are listed; --withdraw-missing withdraws the shared "
        "ones. Mapping: docs/import-mapping.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--agency", required=True, help="Code of this node's agency.")
        parser.add_argument("--format", required=True, dest="format", help=" | ".join(FORMATS))
        parser.add_argument(
            "--publication-level",
            help=f"{' | '.join(v.PublicationLevel.values)}; default: draft for new records, "
            "unchanged for updated ones. Rows that lack something at that level stay drafts.",
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
        for gone in report.missing:
            self.stdout.write(str(gone))
        if report.dry_run:
            self.stdout.write("Dry run: nothing was stored.")
        self.stdout.write(report.summary())

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"{done}/{total} rows")
