from django.core.management.base import BaseCommand, CommandError

from sync import services
from sync.models import Peer


class Command(BaseCommand):
    help = "Run one push and pull cycle with every enabled peer (or one) now, and print counts."

    def add_arguments(self, parser):
        parser.add_argument("--peer", help="Only this peer (its name)")

    def handle(self, *args, peer: str | None, **options):
        if peer:
            services.hub_peer_from_settings()
            found = Peer.objects.filter(name=peer).first()
            if found is None:
                raise CommandError(f"No peer named {peer!r}.")
            outcomes = [services.sync_peer(found, force=True)]
        else:
            outcomes = services.sync_all(force=True)
        if not outcomes:
            self.stdout.write(
                "No peers configured (set HUB_URL and HUB_TOKEN, or add one in admin)."
            )
        for outcome in outcomes:
            self._report(outcome)
        if not all(outcome.ok for outcome in outcomes):
            raise CommandError("Sync failed with at least one peer (see above).")

    def _report(self, outcome: services.CycleResult) -> None:
        name = outcome.peer.name
        if outcome.skipped:
            self.stdout.write(f"{name}: skipped ({outcome.skipped})")
        for run in outcome.runs:
            counts = " ".join(f"{status}={n}" for status, n in run.counts().items())
            line = f"{name} {run.direction}: {counts} pages={run.pages}"
            if run.error:
                kind = "authentication failed" if run.auth_failed else "failed"
                line += f" {kind}: {run.error}"
            self.stdout.write(line)
