"""Celery entry points of the webhooks: thin, keyed by ids. Beat runs the dispatcher every
WEBHOOKS_DISPATCH_INTERVAL_SECONDS, and a commit that wrote feed entries queues it at once
(webhooks/signals.py). A delivery's retries are not Celery retries: each attempt is logged and
its successor scheduled in the Delivery row (WEBHOOKS_RETRY_SCHEDULE), which the dispatcher
reads, so a lost or duplicated task costs at most one interval, never an event or a second
effect (the attempt claims its Delivery first)."""

from celery import shared_task
from django.conf import settings

from registry.notices import MAIL_TASK_OPTIONS
from webhooks import services


@shared_task(ignore_result=True)
def dispatch_webhooks() -> None:
    """Make the events of the feed's new entries, then send every delivery that is due."""
    services.dispatch_all()
    for delivery_id in services.due_delivery_ids():
        send_delivery.delay(delivery_id)


@shared_task(ignore_result=True)
def send_delivery(delivery_id: int) -> None:
    retry_in = services.attempt_delivery(delivery_id)
    # A retry sooner than the dispatcher's next run would otherwise wait for it.
    if retry_in is not None and retry_in < settings.WEBHOOKS_DISPATCH_INTERVAL_SECONDS:
        send_delivery.apply_async([delivery_id], countdown=retry_in)


@shared_task(**MAIL_TASK_OPTIONS)
def notify_owner(subscription_id: int) -> None:
    services.notify_owner(subscription_id)
