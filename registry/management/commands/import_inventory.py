from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry import vocabularies as v
from registry.importers.base import SourceInvalid
from registry.importers.service import FORMATS, ImportRefused, import_inventory


class Command(BaseCommand):
    help = (
        "Import an existing AI use-case inventory as records of this node's agency. Every row "
        "ends created, updated, unchanged or skipped (with its reasons). Mapping: "
        "docs/import-mapping.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--agency", required=True, help="Code of this node's agency.")
        parser.add_argument("--format", required=True, dest="format", help=" | ".join(FORMATS))
        parser.add_argument(
            "--publication-level",
            help=f"{' | '.join(v.PublicationLevel.values)}; default: draft for new records, "
            "unchanged for updated ones.",
        )
        parser.add_argument(
            "--contact-email",
            default="",
            help="The agency's functional mailbox, used for rows without an e-mail address "
            "(without it those rows are skipped).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report, store nothing.")

    def handle(self, *args, **options):
        try:
            report = import_inventory(
                path=options["file"],
                fmt=options["format"],
                agency_code=options["agency"],
                publication_level=options["publication_level"],
                contact_email=options["contact_email"],
                dry_run=options["dry_run"],
                progress=self._progress,
            )
        except (ImportRefused, SourceInvalid) as exc:
            raise CommandError(f"{exc} Nothing was imported.") from None
        for skip in report.skipped:
            self.stdout.write(f"skipped {skip}")
        if report.dry_run:
            self.stdout.write("Dry run: nothing was stored.")
        self.stdout.write(report.summary())

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"{done}/{total} rows")
