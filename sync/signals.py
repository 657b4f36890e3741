"""Push soon after a change: when a transaction that changed this agency's shared records commits,
queue a sync with the hub instead of waiting for the next beat. The hub then has the change within
seconds, and the other agencies within one interval (their next pull), not two.

Beat stays the safety net: if the broker is down or the queued sync finds the peer's lease taken,
the next periodic cycle pushes the change as before.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

# A burst of commits (an import, a bulk action) queues one sync; the lease and the feed checkpoint
# make any extra one a cheap no-op anyway.
PUSH_SOON_KEY = "sync:push-soon"
PUSH_SOON_DEBOUNCE_SECONDS = 2


def push_soon_after_own_change(sender, instance, **kwargs) -> None:
    """post_save of a FeedEntry: own changes only (received copies are the hub's to spread)."""
    if instance.origin != settings.NODE_AGENCY or instance.received_from:
        return
    pending = transaction.get_connection().run_on_commit
    # One callback per transaction is enough; an import writes thousands of entries in one. Other
    # apps queue callbacks of their own in between (webhooks), so look at every pending one.
    if any(callback[1] is queue_push for callback in pending):
        return
    transaction.on_commit(queue_push)


def queue_push() -> None:
    """Runs after the commit, inside the request that saved: whatever fails here (the cache or
    the broker down, as when Redis, which may be both, stops) must not fail that request. The
    change is committed and in the feed; the next beat cycle pushes it (issue 14, item 5)."""
    from sync import services, tasks

    try:
        first = cache.add(PUSH_SOON_KEY, True, timeout=PUSH_SOON_DEBOUNCE_SECONDS)
    except Exception:
        first = True  # no debounce without a cache: the lease makes an extra sync a no-op
    if not first:
        return
    try:
        peer_ids = services.due_peer_ids()
        if peer_ids:
            # No retry: each attempt on a hung broker waits its socket timeout, and the admin
            # who saved waits for all of them (beat is the retry).
            tasks.run_sync_cycle.apply_async([peer_ids], countdown=1, retry=False)
    except Exception:
        logger.exception("could not queue a sync after a change; beat will push it")
