from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry import reference
from sync import auth


class Command(BaseCommand):
    help = (
        "Issue a token with which the peer AGENCY calls this node's federation endpoints. "
        "The token is printed once, alone on the last line; only its hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("agency", help="The calling peer's agency code, e.g. DE-BFARM")
        parser.add_argument("--note", default="", help="What the token is for")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Replace the agency's tokens: they keep working for PEER_TOKEN_OVERLAP_HOURS",
        )

    def handle(self, *args, agency: str, note: str, rotate: bool, **options):
        if reference.is_reference(agency.upper()):
            # No peer speaks for a register: the hub alone writes its records (docs/protocol.md,
            # "Reference registers"), and it refuses them from any peer anyway.
            raise CommandError(
                f"{agency} is a reserved origin of a reference register, not an agency: no peer "
                "calls this node with it, so no token is issued. The hub imports the register "
                "with import_reference_register."
            )
        try:
            if rotate:
                peer_token, token, expiring = auth.rotate_token(agency=agency, note=note)
                self.stdout.write(
                    f"{expiring} older token(s) of {agency} stay valid for "
                    f"{settings.PEER_TOKEN_OVERLAP_HOURS} hour(s)."
                )
            else:
                peer_token, token = auth.issue_token(agency=agency, note=note)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            f"Token #{peer_token.pk} issued for {agency}; it will not be shown again:"
        )
        self.stdout.write(token)
