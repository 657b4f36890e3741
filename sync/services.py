"""The sync engine: push own changes to a peer, pull its feed, remember how far each got.

The database, not the broker, holds what must be sent: the push cursor is a position in this
node's own feed, the pull cursor the peer's opaque cursor, each saved in the same transaction as
the batch it acknowledges. A crash repeats a batch (harmless: the receiver answers `unchanged`)
and never skips one.
"""

import datetime as dt
import logging
import random
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from registry.feed import START, Position
from registry.models import UseCase
from sync import notices, protocol, receiver, serving
from sync.client import (
    AuthRejected,
    PeerBusy,
    PeerClient,
    PeerError,
    PeerUnavailable,
    RequestRefused,
)
from sync.models import (
    HUB_PEER_NAME,
    Checkpoint,
    Direction,
    Peer,
    PeerRole,
    RefusalStatus,
    Rejection,
    SyncRun,
)

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
# Every loop is bounded: 100,000 pages is far beyond any real feed at 500-1000 per page.
MAX_PAGES = 100_000


@dataclass
class CycleResult:
    peer: Peer
    runs: list[SyncRun] = field(default_factory=list)
    skipped: str = ""
    retry_in: float | None = None

    @property
    def ok(self) -> bool:
        return not self.skipped and all(run.ok for run in self.runs)


# Peers ------------------------------------------------------------------------------------------


def hub_peer_from_settings() -> Peer | None:
    """The hub named by HUB_URL/HUB_TOKEN, kept in step with the environment when those are set."""
    if not settings.HUB_URL:
        return None
    peer, created = Peer.objects.get_or_create(
        name=HUB_PEER_NAME,
        defaults={"url": settings.HUB_URL, "token": settings.HUB_TOKEN, "role": PeerRole.HUB},
    )
    if not created and (peer.url, peer.token) != (settings.HUB_URL, settings.HUB_TOKEN):
        peer.url, peer.token = settings.HUB_URL, settings.HUB_TOKEN
        peer.save()
    return peer


def database_now() -> dt.datetime:
    """The database's clock. Every process of a node (web, workers on other hosts, beat) shares
    it, so leases, back-off and abandoned runs, which one process writes and another compares,
    never depend on one host's clock, hours off or not (issue 14, item 6). SQLite lives in the
    node's own file, on the node's own host: its clock is the node's."""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


def due_peer_ids(now: dt.datetime | None = None) -> list[int]:
    hub_peer_from_settings()
    now = now or database_now()
    close_abandoned_runs(now)
    return list(
        Peer.objects.filter(enabled=True, auth_failed=False, stopped_reason="")
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .values_list("pk", flat=True)
    )


# Lease: one sync of a peer at a time, across all workers ----------------------------------------


def lease_duration() -> dt.timedelta:
    """Long enough to outlast one request to the peer (the lease is renewed after every page),
    short enough that a worker killed mid-sync holds its peer back for about a minute only."""
    return dt.timedelta(seconds=max(60, 2 * settings.SYNC_HTTP_TIMEOUT_SECONDS))


class LeaseLost(Exception):
    """This worker's lease expired and another worker took it: that one syncs the peer now."""


class IdentityMismatch(PeerError):
    """The peer is not who this node's configuration says it is."""


def acquire_lease(peer: Peer, *, now: dt.datetime | None = None) -> str | None:
    owner = uuid.uuid4().hex
    now = now or database_now()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    taken = Peer.objects.filter(free, pk=peer.pk).update(
        lease_owner=owner, lease_expires_at=now + lease_duration()
    )
    if not taken:
        return None
    # Whoever held the lease before is gone (it released it or let it expire): a run it left
    # open will never finish.
    _close_abandoned(SyncRun.objects.filter(peer=peer), now)
    return owner


ABANDONED_RUN_ERROR = "Abandoned: the worker stopped mid-run (its lease on the peer expired)."


def close_abandoned_runs(now: dt.datetime | None = None) -> int:
    """Close as failed every run left open by a worker that was killed: its peer's lease has
    expired or was released. Called by every cycle, so a peer that is never synced again does
    not show 'running' forever. Returns how many runs were closed."""
    now = now or database_now()
    held = Q(peer__lease_expires_at__gte=now)
    return _close_abandoned(SyncRun.objects.exclude(held), now)


def _close_abandoned(runs, now: dt.datetime) -> int:
    return runs.filter(finished__isnull=True, started__lt=now).update(
        finished=now, error=ABANDONED_RUN_ERROR
    )


def renew_lease(peer: Peer, owner: str) -> bool:
    """Extend the lease; False if it is no longer ours (it expired and another worker took it)."""
    renewed = Peer.objects.filter(pk=peer.pk, lease_owner=owner).update(
        lease_expires_at=database_now() + lease_duration()
    )
    return renewed == 1


def _keep_lease(peer: Peer, owner: str, run: SyncRun) -> None:
    """Between batches: go on only while the lease is ours, so two workers never sync one peer."""
    if not renew_lease(peer, owner):
        raise LeaseLost(
            f"another worker took over this peer's sync (the lease expired); "
            f"stopped after {run.pages} page(s)"
        )


def release_lease(peer: Peer, owner: str) -> None:
    Peer.objects.filter(pk=peer.pk, lease_owner=owner).update(lease_owner="", lease_expires_at=None)


# Backoff ----------------------------------------------------------------------------------------


def backoff_seconds(failures: int, *, rand: Callable[[], float] = random.random) -> float:
    """Exponential in the number of consecutive failures, with jitter so that peers which failed
    together do not come back together: between half and all of base * 2^(failures-1)."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, failures - 1))
    return ceiling / 2 + rand() * ceiling / 2


# The cycle --------------------------------------------------------------------------------------


def sync_peer(peer: Peer, *, force: bool = False) -> CycleResult:
    """Push then pull with one peer, unless it is not due (force ignores that) or busy elsewhere."""
    now = database_now()
    if not force and not peer.is_due(now):
        return CycleResult(peer, skipped="not due")
    owner = acquire_lease(peer, now=now)
    if owner is None:
        return CycleResult(peer, skipped="another sync of this peer is running")
    client = PeerClient(peer.url, peer.token)
    outcome = CycleResult(peer)
    failure = None
    try:
        for direction in _directions(peer):
            run = SyncRun.objects.create(peer=peer, direction=direction, started=database_now())
            outcome.runs.append(run)
            failure = _run(peer, client, run, owner)
            if failure is not None:
                break
        # After a lost lease the peer's health is the new holder's to record.
        if not isinstance(failure, LeaseLost):
            _record_health(peer, outcome, failure, owner)
    finally:
        client.close()
        release_lease(peer, owner)
    return outcome


def _directions(peer: Peer) -> list[str]:
    return [d for d, wanted in ((Direction.PUSH, peer.push), (Direction.PULL, peer.pull)) if wanted]


def _run(peer: Peer, client: PeerClient, run: SyncRun, owner: str) -> Exception | None:
    """One direction; returns what went wrong, if anything (the run row records it)."""
    failure = None
    try:
        node = client.node()
        _check_protocol(node)
        _check_identity(peer, node)
        if run.direction == Direction.PUSH:
            push_changes(peer, client, run, owner, node)
        else:
            pull_changes(peer, client, run, owner, node)
    except (PeerError, LeaseLost) as exc:
        failure = exc
        log.warning("sync %s with %s failed: %s", run.direction, peer, exc)
    except Exception as exc:
        # A bug or a database error: recorded and backed off like a peer failure, never a loop.
        failure = exc
        log.exception("sync %s with %s broke", run.direction, peer)
    if failure is not None:
        run.error = f"{failure.__class__.__name__}: {failure}"[:2000]
        run.auth_failed = isinstance(failure, AuthRejected)
    run.finished = database_now()
    run.save()
    return failure


def _check_identity(peer: Peer, node: dict) -> None:
    """The peer's GET node must describe the peer this node's admin configured (PROTOCOL.md
    rule 1: who a peer is comes from its token and configuration, never from its own words).
    A peer that claims another agency or role is refused before anything is read from it."""
    agency, role = str(node.get("agency", "")), str(node.get("role", ""))
    if not protocol.AGENCY_CODE_RE.fullmatch(agency) or role not in ("agency", "hub"):
        raise PeerError("The peer's node description lacks a valid agency or role.")
    expected_role, expected_agency = peer.trusted_role, peer.agency
    if expected_role == PeerRole.HUB and settings.NODE_ROLE == "hub":
        raise IdentityMismatch("This node is the hub: no peer of it may act as a hub.")
    if expected_role == PeerRole.AGENCY and not expected_agency:
        raise IdentityMismatch("The peer's agency is not configured: set it in admin (Peers).")
    if role != expected_role or (expected_agency and agency != expected_agency):
        raise IdentityMismatch(
            f"The peer describes itself as {agency} ({role}) but is configured as "
            f"{expected_agency or 'any agency'} ({expected_role}): nothing was read from it."
        )


class IncompatiblePeer(PeerError):
    """The peer speaks no protocol version this node speaks: retrying cannot help."""


def _check_protocol(node: dict) -> None:
    """The peer's GET node lists the protocol versions it speaks (PROTOCOL.md: Endpoints); with
    none in common nothing else it says can be read. Raised before anything is exchanged.

    Only a well-formed list (non-empty, of strings) with no version in common stops the peer
    (IncompatiblePeer). Any other JSON answer (a health endpoint, a maintenance page served as
    JSON) is no node description: PeerUnavailable, backed off and retried like a 5xx."""
    spoken = node.get("protocol")
    well_formed = isinstance(spoken, list) and spoken and all(isinstance(v, str) for v in spoken)
    if not well_formed:
        raise PeerUnavailable(
            f"GET node: the answer lists no protocol versions ({str(spoken)[:100]}): "
            "not a node description"
        )
    if any(v in protocol.SUPPORTED_PROTOCOLS for v in spoken):
        return
    raise IncompatiblePeer(
        f"The peer speaks protocol version(s) {str(spoken)[:100]}, this node "
        f"{', '.join(protocol.SUPPORTED_PROTOCOLS)}: not synced until one of them is upgraded "
        "(then 'Sync now', or change the peer's URL or token)."
    )


def _record_health(peer: Peer, outcome: CycleResult, failure: Exception | None, owner: str) -> None:
    """Success, or the failure's stop or back-off, written only while this worker holds the
    lease: one that was paused past it (its requests then fail on their deadline) must not put
    back off a peer that the new holder is syncing well."""
    now = database_now()
    peer.last_attempt_at = now
    if failure is None:
        peer.last_success_at, peer.consecutive_failures = now, 0
        peer.next_attempt_at, peer.last_error, peer.stopped_reason = None, "", ""
    elif isinstance(failure, AuthRejected):
        # Retrying with the same token cannot help: stop until the token changes.
        peer.consecutive_failures += 1
        peer.last_error, peer.auth_failed, peer.next_attempt_at = outcome.runs[-1].error, True, None
    elif isinstance(failure, IncompatiblePeer):
        # Nor can retrying a peer on another protocol version: stop and say why (admin, Peers).
        peer.consecutive_failures += 1
        peer.last_error, peer.next_attempt_at = outcome.runs[-1].error, None
        peer.stopped_reason = str(failure)
    else:
        peer.consecutive_failures += 1
        peer.last_error = outcome.runs[-1].error
        wait = failure.retry_after if isinstance(failure, PeerBusy) else None
        if wait is None:
            wait = backoff_seconds(peer.consecutive_failures)
        outcome.retry_in = wait
        peer.next_attempt_at = now + dt.timedelta(seconds=wait)
    Peer.objects.filter(pk=peer.pk, lease_owner=owner).update(
        last_attempt_at=peer.last_attempt_at,
        last_success_at=peer.last_success_at,
        consecutive_failures=peer.consecutive_failures,
        next_attempt_at=peer.next_attempt_at,
        last_error=peer.last_error,
        auth_failed=peer.auth_failed,
        stopped_reason=peer.stopped_reason,
    )


# Push: own feed -> peer -------------------------------------------------------------------------


def push_changes(peer: Peer, client: PeerClient, run: SyncRun, owner: str, node: dict) -> None:
    """Send own changes after the acknowledged position, page by page; from the top when either
    feed started over (our own after a restore, or the peer's: it lost what we had sent).

    Up to SYNC_PUSH_CONCURRENCY pages are in flight at once (the next page is read and sent while
    the peer works on the previous one); answers are acknowledged strictly in order, so the
    checkpoint only ever covers pages the peer answered, and a failure repeats from there."""
    feed_ids = (serving.served_feed_id(), str(node.get("feed_id", "")))
    checkpoint = _checkpoint(peer, Direction.PUSH)
    start = _own_position(checkpoint, *feed_ids)
    depth = max(1, settings.SYNC_PUSH_CONCURRENCY)
    in_flight: deque[tuple[list[serving.FeedRow], Future]] = deque()
    with ThreadPoolExecutor(max_workers=depth, thread_name_prefix="sync-push") as pool:
        for entries in _own_pages(start):
            answer = pool.submit(_post_page, client, entries)
            in_flight.append((entries, answer))
            if len(in_flight) >= depth:
                _acknowledge(peer, checkpoint, feed_ids, run, owner, *in_flight.popleft())
        while in_flight:
            _acknowledge(peer, checkpoint, feed_ids, run, owner, *in_flight.popleft())


def _own_pages(position: Position) -> Iterator[list[serving.FeedRow]]:
    size = min(settings.SYNC_PUSH_BATCH_SIZE, protocol.MAX_BATCH)
    for _ in range(MAX_PAGES):
        entries = serving.read_envelopes(after=position, limit=size, origins=[settings.NODE_AGENCY])
        if not entries:
            return
        yield from _within_body_limit(entries)
        if len(entries) < size:
            return
        position = entries[-1].position


def _within_body_limit(entries: list[serving.FeedRow]) -> Iterator[list[serving.FeedRow]]:
    """Split a page so that no request body passes the receiver's 8 MiB (long records)."""
    budget = protocol.MAX_BODY_BYTES - 1024
    chunk: list[serving.FeedRow] = []
    used = 0
    for entry in entries:
        size = len(entry.envelope.encode("utf-8")) + 1
        if chunk and used + size > budget:
            yield chunk
            chunk, used = [], 0
        chunk.append(entry)
        used += size
    if chunk:
        yield chunk


def _post_page(client: PeerClient, entries: list[serving.FeedRow]) -> list[dict]:
    """POST one page, in halves if the peer answers 413: a proxy in front of it may take less than
    the protocol's 8 MiB. A single envelope still too large fails the push with the peer's words."""
    try:
        return client.post_changes([e.envelope for e in entries])
    except RequestRefused as exc:
        if exc.status != 413 or len(entries) == 1:
            raise
    half = len(entries) // 2
    return _post_page(client, entries[:half]) + _post_page(client, entries[half:])


def _acknowledge(peer, checkpoint, feed_ids, run, owner, entries, answer: Future) -> None:
    results = answer.result()  # a failed page raises here, before anything is acknowledged
    position = entries[-1].position
    own_feed_id, peer_feed_id = feed_ids
    with transaction.atomic():
        _remember_rejections(peer, entries, results)
        checkpoint.peer_feed_id = peer_feed_id
        _save_checkpoint(checkpoint, own_feed_id, f"{position.txid}:{position.seq}")
        # In the same transaction: a worker that lost its lease never writes an older cursor
        # over the new holder's (the lease row stays locked until this commits).
        _keep_lease(peer, owner, run)
        _count(run, results)


def _own_position(checkpoint: Checkpoint, own_feed_id: str, peer_feed_id: str) -> Position:
    started_over = (checkpoint.feed_id, checkpoint.peer_feed_id) != (own_feed_id, peer_feed_id)
    if started_over or not checkpoint.cursor:
        return START
    txid, seq = checkpoint.cursor.split(":")
    return Position(int(txid), int(seq))


def _remember_rejections(peer: Peer, entries: list, results: list[dict]) -> None:
    """Every own record the peer refused (rejected, or stale: it holds a newer version) stays
    listed until a later version of it is applied or unchanged there."""
    settled = []
    for entry, answer in zip(entries, results, strict=True):
        status = answer.get("status")
        if status in (protocol.REJECTED, protocol.STALE):
            Rejection.objects.update_or_create(
                peer=peer,
                origin=entry.origin,
                uid=entry.uid,
                defaults={
                    "version": entry.version,
                    "status": status,
                    "peer_version": _peer_version(answer),
                    "errors": answer.get("errors") or _stale_errors(entry, answer),
                    "rejected_at": timezone.now(),
                },
            )
        else:
            settled.append(entry.uid)
    if settled and Rejection.objects.filter(peer=peer).exists():
        Rejection.objects.filter(peer=peer, uid__in=settled).delete()
    if len(settled) < len(entries):
        # The agency hears of refusals by e-mail (once per new refusal, sync/notices.py).
        notices.send_rejection_digest.delay_on_commit()


def _peer_version(answer: dict) -> int | None:
    version = answer.get("stored_version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _stale_errors(entry, answer: dict) -> dict[str, list[str]]:
    held = _peer_version(answer)
    newer = f"version {held}" if held else "a newer version"
    return {
        "version": [
            f"The peer holds {newer} of this record; this node sent version {entry.version}. "
            "This happens after a restore from a backup: publish it again to pass the peer's."
        ]
    }


# Pull: peer's feed -> local copies --------------------------------------------------------------


def pull_changes(peer: Peer, client: PeerClient, run: SyncRun, owner: str, node: dict) -> None:
    """Apply the peer's feed after our cursor; a new feed id means starting from the top."""
    feed_id = str(node.get("feed_id", ""))
    checkpoint = _checkpoint(peer, Direction.PULL)
    cursor = checkpoint.cursor if checkpoint.feed_id == feed_id and checkpoint.cursor else None
    may_send = _origin_rule(peer)
    received_from = peer.agency or node["agency"]
    size = min(settings.SYNC_PULL_PAGE_SIZE, protocol.MAX_LIMIT)
    for _ in range(MAX_PAGES):
        try:
            page = client.get_changes(since=cursor, limit=size)
        except RequestRefused as exc:
            # Only the peer's own word that it does not know our cursor starts the pull over: a
            # 404 or 405 from a proxy during the hub's deploy must not make every agency read
            # (and push) everything again. Anything else fails the run and backs off.
            refusals = (protocol.CURSOR_PAST_END_PROBLEM, protocol.CURSOR_INVALID_PROBLEM)
            if cursor is None or exc.problem_type not in refusals:
                raise
            # Start over, harmlessly. A cursor past the end under the same feed id: the peer went
            # back in time (restored from a backup that kept its feed id) and lost what this
            # node pushed after its backup point too: push everything again.
            past_end = exc.problem_type == protocol.CURSOR_PAST_END_PROBLEM
            if past_end and checkpoint.feed_id == feed_id:
                _forget_push_checkpoint(peer)
            cursor = None
            continue
        with transaction.atomic():
            results = receiver.receive(
                page["changes"], received_from=received_from, may_send=may_send
            )
            _remember_divergences(peer, page["changes"], results)
            if page["next"] != cursor:
                _save_checkpoint(checkpoint, feed_id, page["next"])
            _keep_lease(peer, owner, run)  # as in _acknowledge: only the lease holder writes
            _count(run, results)
        cursor = page["next"]
        if not page.get("more") or not page["changes"]:
            return


def _remember_divergences(peer: Peer, changes: list, results: list[dict]) -> None:
    """A record of this agency that the peer serves at a version this node does not hold (it
    never changes from outside, so the receiver refuses it): the network holds what this node
    lost in a restore from an older backup, or what someone pushed with a leaked token. Kept as a
    refusal so the agency's admins see it and act (publish again, or withdraw it from the
    network), and cleared like any refusal when a later push of the record gets through."""
    own = settings.NODE_AGENCY
    for envelope, answer in zip(changes, results, strict=True):
        if answer.get("status") != protocol.REJECTED or answer.get("origin") != own:
            continue
        peer_version = envelope.get("version") if isinstance(envelope, dict) else None
        if not isinstance(peer_version, int) or isinstance(peer_version, bool):
            continue
        held = (
            UseCase.objects.filter(origin_id=own, uid=answer["uid"])
            .values_list("version", flat=True)
            .first()
        )
        what = "a deletion of" if envelope.get("deleted") else "a version of"
        here = f"version {held}" if held is not None else "no such record"
        Rejection.objects.update_or_create(
            peer=peer,
            origin=own,
            uid=answer["uid"],
            defaults={
                "version": held or 0,
                "status": RefusalStatus.STALE,
                "peer_version": peer_version,
                "peer_deleted": bool(envelope.get("deleted")),
                "errors": {
                    "version": [
                        f"The peer holds {what} this record of {own} (version {peer_version}); "
                        f"this node holds {here}. This happens after a restore from a backup "
                        "older than the record's last change, or when someone pushed with this "
                        "agency's token."
                    ]
                },
                "rejected_at": timezone.now(),
            },
        )


def _origin_rule(peer: Peer) -> Callable[[str], bool]:
    """From the configured hub, any origin (the network feed); from an agency, only that
    agency's records. Configuration decides, never the peer's description of itself."""
    if peer.trusted_role == PeerRole.HUB:
        return lambda origin: True
    return lambda origin: origin == peer.agency


# Checkpoints and counts -------------------------------------------------------------------------


def _checkpoint(peer: Peer, direction: str) -> Checkpoint:
    checkpoint, _ = Checkpoint.objects.get_or_create(
        peer=peer, direction=direction, defaults={"feed_id": "", "cursor": ""}
    )
    return checkpoint


def _save_checkpoint(checkpoint: Checkpoint, feed_id: str, cursor: str) -> None:
    checkpoint.feed_id, checkpoint.cursor = feed_id, cursor
    checkpoint.save(update_fields=["feed_id", "peer_feed_id", "cursor", "updated"])


def _forget_push_checkpoint(peer: Peer) -> None:
    Checkpoint.objects.filter(peer=peer, direction=Direction.PUSH).update(cursor="")


def _count(run: SyncRun, results: list[dict]) -> None:
    """Add a page's answers to the run, saved in the page's own transaction: a worker killed
    mid-run leaves a run whose counts are exactly what it applied (tests/e2e/test_large_backlog)."""
    counts = Counter(answer.get("status") for answer in results)
    for status in protocol.STATUSES:
        setattr(run, status, getattr(run, status) + counts.get(status, 0))
    run.pages += 1
    run.save(update_fields=[*protocol.STATUSES, "pages"])


def sync_all(*, force: bool = False) -> list[CycleResult]:
    """One cycle with every enabled peer, each failure contained to its peer."""
    hub_peer_from_settings()
    close_abandoned_runs()
    return [sync_peer(peer, force=force) for peer in Peer.objects.filter(enabled=True)]
