"""The periodic sync in django-celery-beat's tables, so an admin can change it at run time.

SYNC_INTERVAL_SECONDS applies at every migrate (the post_migrate hook in apps.py) unless the
interval was changed at run time since the environment's value was last applied: in the admin or
with `setup_sync_schedule --interval`. Then the run-time choice is kept; setting it back to the
last applied value hands it to the environment again."""

import datetime as dt

from celery.utils.time import maybe_make_aware
from django.conf import settings
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from sync.models import ScheduleState

TASK_NAME = "Federation sync"
TASK = "sync.tasks.run_sync_cycle"


@transaction.atomic
def ensure_schedule(*, interval_seconds: int | None = None) -> PeriodicTask:
    """Create or update the periodic sync: every `interval_seconds` if given (a run-time choice,
    like an admin's edit), else every SYNC_INTERVAL_SECONDS unless changed at run time."""
    task = PeriodicTask.objects.select_related("interval").filter(name=TASK_NAME).first()
    if interval_seconds is not None:
        return _set_interval(task, interval_seconds, enable=True)
    env_seconds = settings.SYNC_INTERVAL_SECONDS
    current = _interval_seconds(task) if task else None
    last_applied = (
        ScheduleState.objects.filter(pk=1).values_list("env_interval_seconds", flat=True).first()
    )
    if task is None or (current is not None and current == last_applied != env_seconds):
        task = _set_interval(task, env_seconds, enable=task is None)
    elif current != env_seconds:
        return task  # changed at run time (or a crontab chosen in the admin): kept
    ScheduleState.objects.update_or_create(pk=1, defaults={"env_interval_seconds": env_seconds})
    return task


def _interval_seconds(task: PeriodicTask) -> int | None:
    if task.interval is None:
        return None
    every = dt.timedelta(**{task.interval.period: task.interval.every})
    return int(every.total_seconds())


def _set_interval(task: PeriodicTask | None, seconds: int, *, enable: bool) -> PeriodicTask:
    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    task = task or PeriodicTask(name=TASK_NAME, task=TASK)
    task.interval, task.crontab, task.solar, task.clocked = schedule, None, None, None
    if enable:
        task.enabled = True
    task.save()
    return task


class ClockSafeEntry(ModelEntry):
    """A periodic task whose last run lies in the future counts as run now: a beat whose clock
    ran hours ahead (since put right) wrote that time, and beat would otherwise wait until its
    clock reaches it before it syncs again (issue 14, item 6). It runs one interval later."""

    def is_due(self):
        now = maybe_make_aware(self._default_now())
        if self.last_run_at and maybe_make_aware(self.last_run_at) > now:
            self.last_run_at = now
        return super().is_due()


class ClockSafeScheduler(DatabaseScheduler):
    """django-celery-beat's scheduler (CELERY_BEAT_SCHEDULER) with ClockSafeEntry."""

    Entry = ClockSafeEntry
