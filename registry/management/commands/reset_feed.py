from django.core.management.base import BaseCommand

from registry import feed


class Command(BaseCommand):
    help = (
        "Give this node's change feed a new id (after restoring a backup): followers that see it "
        "read the feed again from the beginning, so nothing they skipped past stays unseen."
    )

    def handle(self, *args, **options):
        old = feed.current_feed_id()
        new = feed.reset_feed_id()
        self.stdout.write(f"Feed id changed from {old} to {new}.")
