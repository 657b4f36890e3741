from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from registry import services
from registry.demo.agencies import AGENCIES
from registry.models import Agency


class Command(BaseCommand):
    help = (
        "Create (or update) an agency, by default this node's own (NODE_AGENCY), so that its admins"
        " can be created. The network's agencies are known by code; others need --name, --country"
        " and --kind. --contact-email sets its functional mailbox."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", nargs="?", help="Agency code; default: NODE_AGENCY")
        parser.add_argument("--name")
        parser.add_argument("--country", help="ISO 3166 alpha-2, EU for EMA")
        parser.add_argument("--kind", help="ema, human, veterinary or human_and_veterinary")
        parser.add_argument(
            "--contact-email",
            help="the agency's functional mailbox: the contact of its records that state none, "
            "and where its notices go (kept when not given)",
        )

    def handle(self, *args, code, name, country, kind, contact_email, **options):
        code = code or settings.NODE_AGENCY
        known = {a.code: a for a in AGENCIES}.get(code)
        stored = Agency.objects.filter(code=code).first()
        values = {
            "name": name or _first(stored, known, "name"),
            "country": country or _first(stored, known, "country"),
            "kind": kind or _first(stored, known, "kind"),
        }
        missing = [f"--{field}" for field, value in values.items() if not value]
        if missing:
            raise CommandError(
                f"{code} is not one of the network's known agencies: give {', '.join(missing)}."
            )
        # A new mailbox of an existing agency moves the records that use the old one with it.
        new_mailbox = stored is not None and contact_email is not None
        try:
            with transaction.atomic():
                agency, created = services.create_or_update_agency(
                    code=code, contact_email=None if new_mailbox else contact_email, **values
                )
                change = (
                    services.change_agency_mailbox(agency, contact_email) if new_mailbox else None
                )
        except ValidationError as exc:
            details = "; ".join(f"{f}: {' '.join(m)}" for f, m in exc.message_dict.items())
            raise CommandError(f"Agency {code} not saved: {details}") from None
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} agency {agency}.")
        if change is not None and (change.moved or change.refused):
            self.stdout.write(
                f"{len(change.moved)} use case(s) now use the new mailbox {contact_email}."
            )
        for use_case, exc in change.refused if change is not None else ():
            self.stderr.write(
                f"Kept the old contact of “{use_case.title}” ({use_case.uid}): "
                f"{'; '.join(exc.messages)}"
            )


def _first(stored, known, field: str) -> str:
    for source in (stored, known):
        if source is not None:
            return getattr(source, field)
    return ""
