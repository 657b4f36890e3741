import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry import services
from registry.models import Agency


class Command(BaseCommand):
    help = "Create (or update) an agency admin: a staff user who maintains one agency's records."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--agency", required=True, help="Agency code, e.g. EMA")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Prompted for when omitted.")

    def handle(self, *args, username, agency, email, password, **options):
        if not Agency.objects.filter(code=agency).exists():
            raise CommandError(
                f"No agency {agency!r} here. Create it in the admin or run `manage.py seed_demo`."
            )
        password = password or getpass.getpass(f"Password for {username}: ")
        try:
            user, created = services.create_agency_admin(
                username=username, agency_code=agency, email=email, password=password
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} agency admin {user.username} for {agency}.")
