from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry.demo import seed
from registry.importers.base import SourceInvalid
from registry.importers.reference_register import import_reference_register


class Command(BaseCommand):
    help = (
        "Create the demo agencies, a superuser and an agency admin for this node's agency, and a "
        "few dozen demo use cases of that agency. Safe to run again: it creates only what is "
        "missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help=f"Password of both logins (default on a DEBUG node: {seed.DEMO_PASSWORD!r}); "
            "given on a re-run, it resets both.",
        )
        parser.add_argument(
            "--with-inventories",
            action="store_true",
            help="On the hub: also import the reference registers (the US federal AI inventory, "
            "the Dutch algorithm register) when their files exist; an agency node never imports "
            "them as its own records.",
        )
        parser.add_argument(
            "--data-dir",
            type=Path,
            help="Where the registers' files are (default: ../shared/data next to the repository).",
        )

    def handle(self, *args, password, with_inventories, data_dir, **options):
        code = settings.NODE_AGENCY
        if not settings.DEBUG and not password and seed.users_to_create(code):
            raise CommandError(
                "DEBUG is off: refusing to create logins with the demo password. "
                "Give one with --password."
            )
        created, existing = seed.seed_agencies(code)
        self.stdout.write(f"Agencies: {created} created, {existing} already there.")
        try:
            logins = seed.seed_users(code, password=password)
        except ValidationError as exc:
            raise CommandError("Password refused: " + " ".join(exc.messages)) from None
        self._write_logins(logins)
        if settings.NODE_ROLE == "hub":
            self.stdout.write("Hub node: it holds no use cases of its own; none seeded.")
        else:
            created, existing = seed.seed_use_cases(code)
            self.stdout.write(f"Use cases of {code}: {created} created, {existing} already there.")
        if with_inventories and settings.NODE_ROLE != "hub":
            self.stdout.write(
                "Reference registers are imported on the hub, which serves them to every agency: "
                "none imported here."
            )
        elif with_inventories:
            self._import_reference_registers(data_dir or seed.default_data_dir())

    def _write_logins(self, logins) -> None:
        self.stdout.write("Logins (admin at /admin/):")
        for login in logins:
            secret = login.password if login.password else "(existing user, password unchanged)"
            state = "created" if login.created else "exists"
            self.stdout.write(f"  {login.username} / {secret}  [{login.role}, {state}]")

    def _import_reference_registers(self, data_dir: Path) -> None:
        for name, register in seed.REFERENCE_REGISTERS:
            path = data_dir / name
            if not path.is_file():
                self.stdout.write(f"Reference register {path}: not found, skipped.")
                continue
            try:
                report = import_reference_register(path=path, register_key=register)
            except SourceInvalid as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Reference register {path.name}: {report.summary()}")
