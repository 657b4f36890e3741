"""Dispatch soon after a change: when a transaction that wrote feed entries commits, queue the
dispatcher instead of waiting for beat. Beat stays the safety net (received copies are written in
bulk, without post_save, and a lost wake-up costs one interval, never an event)."""

import logging

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

DISPATCH_SOON_KEY = "webhooks:dispatch-soon"
DISPATCH_SOON_DEBOUNCE_SECONDS = 1


def dispatch_soon_after_change(sender, instance, **kwargs) -> None:
    """post_save of a FeedEntry: one wake-up per transaction, however many entries it wrote."""
    pending = transaction.get_connection().run_on_commit
    # Other apps queue callbacks of their own in between (sync's push soon): look at every one.
    if any(callback[1] is queue_dispatch for callback in pending):
        return
    transaction.on_commit(queue_dispatch)


def queue_dispatch() -> None:
    from webhooks import tasks
    from webhooks.models import Subscription

    if not cache.add(DISPATCH_SOON_KEY, True, timeout=DISPATCH_SOON_DEBOUNCE_SECONDS):
        return
    try:
        if Subscription.objects.enabled().exists():
            # No retry: each attempt on a hung broker waits its socket timeout, inside the
            # request that saved (beat is the retry).
            tasks.dispatch_webhooks.apply_async(
                countdown=DISPATCH_SOON_DEBOUNCE_SECONDS, retry=False
            )
    except Exception:
        # The change is committed and in the feed; beat's next dispatch finds it.
        logger.exception("could not queue the webhook dispatcher; beat will run it")
