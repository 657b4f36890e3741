"""The periodic sync in django-celery-beat's tables, so an admin can change it at run time."""

from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

TASK_NAME = "Federation sync"
TASK = "sync.tasks.run_sync_cycle"


def ensure_schedule(*, interval_seconds: int | None = None) -> PeriodicTask:
    """Create the periodic sync if missing (every SYNC_INTERVAL_SECONDS). An existing one is left
    as the admin set it, unless an interval is given explicitly."""
    existing = PeriodicTask.objects.filter(name=TASK_NAME).first()
    if existing is not None and interval_seconds is None:
        return existing
    every = interval_seconds or settings.SYNC_INTERVAL_SECONDS
    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=every, period=IntervalSchedule.SECONDS
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=TASK_NAME, defaults={"task": TASK, "interval": schedule, "enabled": True}
    )
    return task
