"""Celery entry points of the registry: thin. Sending e-mail happens here, in the worker, so a slow
mail server never holds up a save or a sync. A retried or redelivered task is harmless: every
notice is claimed once (registry/notices.py)."""

from celery import shared_task

from registry import notices


# smtplib.SMTPException and socket errors are OSErrors: a mail server that is down or slow.
@shared_task(
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def send_due_notices() -> None:
    """Beat runs this daily: the week's review digest, stale-record notices, abandoned claims."""
    notices.deliver_due_notices()
