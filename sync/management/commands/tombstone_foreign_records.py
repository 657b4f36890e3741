from django.core.management.base import BaseCommand, CommandError

from sync import foreign


class Command(BaseCommand):
    help = (
        "Tombstone, through the hub, every record the hub serves under this agency's origin that "
        "this agency never had (pushed with a leaked token): one line per record, then a total."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List them and write nothing.")

    def handle(self, *args, dry_run: bool, **options):
        try:
            tombstones = foreign.tombstone_foreign_records(dry_run=dry_run)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for tombstone in tombstones:
            self.stdout.write(
                f"{tombstone.uid}: the hub serves version {tombstone.hub_version}; "
                f"tombstone version {tombstone.version}"
            )
        if dry_run:
            self.stdout.write(f"{len(tombstones)} to tombstone (dry run: nothing written).")
        else:
            self.stdout.write(
                f"{len(tombstones)} tombstoned; the next sync sends them to the hub "
                "(sync_now sends them now)."
            )
