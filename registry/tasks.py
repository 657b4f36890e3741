"""Celery entry points of the registry: thin. Sending e-mail happens here, in the worker, so a slow
mail server never holds up a save or a sync. A retried or redelivered task is harmless: every
notice is claimed once (registry/notices.py)."""

from celery import shared_task

from registry import notices


@shared_task(**notices.MAIL_TASK_OPTIONS)
def send_due_notices() -> None:
    """Beat runs this daily: the week's review digest, the stale digest, abandoned claims."""
    notices.deliver_due_notices()
