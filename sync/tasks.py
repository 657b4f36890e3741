"""Celery entry points: thin, keyed by peer ids; outcomes go to SyncRun rows, not a result
backend. Duplicate or redelivered tasks are harmless: the per-peer lease lets one run at a time
and the checkpoints make a repeated batch a no-op."""

from celery import shared_task
from django.conf import settings

from sync import ledger, services
from sync.models import Peer


@shared_task(ignore_result=True)
def run_sync_cycle(peer_ids: list[int] | None = None) -> None:
    """Beat calls this without ids: fan out one task per due peer, so a slow or failing peer never
    holds up the others. With ids: sync those peers now."""
    if peer_ids is None:
        ledger.prune()
        for peer_id in services.due_peer_ids():
            run_sync_cycle.delay([peer_id])
        return
    for peer in Peer.objects.filter(pk__in=peer_ids, enabled=True):
        outcome = services.sync_peer(peer)
        # Backoff shorter than the beat interval would otherwise wait for the next beat.
        if outcome.retry_in is not None and outcome.retry_in < settings.SYNC_INTERVAL_SECONDS:
            run_sync_cycle.apply_async([[peer.pk]], countdown=outcome.retry_in)
