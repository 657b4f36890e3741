from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry.importers.base import ImportRefused, SourceInvalid
from registry.importers.reference_register import import_reference_register
from registry.reference import REGISTERS

LIST_LIMIT = 20


class Command(BaseCommand):
    help = (
        "On the hub: import a reference register's public file (a public AI inventory of bodies "
        "outside the network) as records of the register's reserved origin, never as an "
        "agency's. Each record names the organisation that runs the system; the hub serves them "
        "to every agency on its feed. A re-import makes the stored records what the file says "
        "(rows no longer in it are deleted). An agency imports its own inventory with "
        "import_inventory. Design: docs/protocol.md, 'Reference registers'."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--register",
            required=True,
            choices=sorted(REGISTERS),
            help="Which register the file is: "
            + "; ".join(f"{r.key}: {r.name}, origin {r.code}" for r in REGISTERS.values()),
        )
        parser.add_argument("--dry-run", action="store_true", help="Report, store nothing.")

    def handle(self, *args, **options):
        try:
            report = import_reference_register(
                path=options["file"],
                register_key=options["register"],
                dry_run=options["dry_run"],
                progress=lambda done, total: self.stderr.write(f"{done}/{total} rows"),
            )
        except (ImportRefused, SourceInvalid) as exc:
            raise CommandError(f"{exc} Nothing was imported.") from None
        for skip in report.skipped:
            self.stdout.write(f"skipped {skip}")
        # As import_inventory says them: "id X is repeated in rows 2, 4: each row was matched ...".
        repeats = [str(repeat) for repeat in report.duplicate_ids]
        for line in repeats[:LIST_LIMIT]:
            self.stdout.write(line)
        if len(repeats) > LIST_LIMIT:
            self.stdout.write(f"... and {len(repeats) - LIST_LIMIT} more repeated ids")
        if report.dry_run:
            self.stdout.write("Dry run: nothing was stored.")
        self.stdout.write(report.summary())
