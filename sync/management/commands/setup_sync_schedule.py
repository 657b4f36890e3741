from django.core.management.base import BaseCommand

from sync import schedule


class Command(BaseCommand):
    help = "Create or update the periodic federation sync (django-celery-beat)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=int,
            help=(
                "Seconds between cycles, kept like an admin's edit. Without it: "
                "SYNC_INTERVAL_SECONDS, unless the interval was changed at run time."
            ),
        )

    def handle(self, *args, interval: int | None, **options):
        task = schedule.ensure_schedule(interval_seconds=interval)
        self.stdout.write(f"{task.name}: {task.task} every {task.interval}")
