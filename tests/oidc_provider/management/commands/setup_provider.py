"""Create the node's client (a confidential application with a redirect URI) and a user with
given claims: `setup_provider --client-id ID --client-secret S --redirect-uri URI
--user NAME:PASSWORD:AGENCY:ROLE[,ROLE] ...`."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from oauth2_provider.models import Application


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--redirect-uri", required=True)
        parser.add_argument("--user", action="append", default=[])

    def handle(self, *args, **options):
        Application.objects.update_or_create(
            client_id=options["client_id"],
            defaults={
                "name": "registry node",
                "client_secret": options["client_secret"],
                "client_type": Application.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
                "redirect_uris": options["redirect_uri"],
                "algorithm": Application.RS256_ALGORITHM,
                "skip_authorization": True,  # the agency's own application: no consent page
                "hash_client_secret": False,
            },
        )
        for spec in options["user"]:
            name, password, agency, roles = spec.split(":")
            user, _ = get_user_model().objects.get_or_create(username=name)
            user.email = f"{name}@agency.example"
            user.first_name = agency
            user.last_name = roles.replace(",", " ")
            user.set_password(password)
            user.save()
