"""Leaked-token clean-up (issue 12): records the hub serves under this agency's origin that this
agency never had, and tombstones for them sent through the normal push.

A record of this agency's origin changes only here (PROTOCOL.md rule 2), so when the hub's feed
carries a live one that this node does not hold (never had, or deleted here), at a version this
node never wrote, it was pushed with this agency's token by someone else, or created after the
backup this node was restored from. The pull refuses it and keeps it as a refusal
(sync.services._remember_divergences, the version the hub serves in `peer_version`).
Tombstoning it writes a deletion into this node's own feed numbered the hub's version + 1
(PROTOCOL.md: tombstones; rule 3, a higher version wins): the next push sends it to the hub,
which applies it (one above what it holds, well within SYNC_MAX_VERSION_LEAP) and serves it to
every other agency, which drops its copy.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from registry import services as registry_services
from registry.models import FeedEntry, UseCase
from sync import protocol
from sync.models import ForeignRecord, Peer, PeerRole


@dataclass(frozen=True)
class Tombstone:
    """One record cleaned up (or, in a dry run, that would be): its uid, the version the hub
    serves, and the version of the tombstone sent above it."""

    uid: str
    hub_version: int
    version: int


def foreign_records() -> QuerySet[ForeignRecord]:
    """The records the hub serves live under this node's agency that this node does not hold:
    the divergences seen with the hub (a peer whose role is the hub) with no record here and
    nothing newer waiting in this node's feed (a tombstone written and not yet pushed). Records
    this node holds are "publish again" cases (Rejections); a deletion the hub serves needs
    nothing, the record is gone already."""
    own = settings.NODE_AGENCY
    held = UseCase.objects.filter(origin_id=own, uid=OuterRef("uid"))
    newer_here = FeedEntry.objects.filter(
        origin=own, uid=OuterRef("uid"), version__gt=OuterRef("peer_version")
    )
    hub_peers = [peer for peer in Peer.objects.all() if peer.trusted_role == PeerRole.HUB]
    return (
        ForeignRecord.objects.filter(
            origin=own, peer__in=hub_peers, peer_version__isnull=False, peer_deleted=False
        )
        .exclude(Exists(held))
        .exclude(Exists(newer_here))
        .select_related("peer")
        .order_by("rejected_at", "pk")
    )


def tombstone_foreign_records(
    records: QuerySet[ForeignRecord] | None = None, *, user=None, dry_run: bool = False
) -> list[Tombstone]:
    """Write a tombstone, numbered one above the hub's version, for each of `records` (default:
    all of foreign_records(); any others given are ignored) into this node's own feed; the push
    that follows the commit (sync.signals), or the next sync, sends them to the hub. A dry run
    writes nothing and returns the same list.

    Raises PermissionDenied when `user` is no admin of this agency, and ValueError when the hub
    serves a record at the highest version there is (nothing can be numbered above it)."""
    chosen = foreign_records()
    if records is not None:
        chosen = chosen.filter(pk__in=records.values("pk"))
    planned = []
    for record in chosen:
        hub_version = record.peer_version
        if hub_version >= protocol.MAX_VERSION:
            raise ValueError(
                f"{record.origin}/{record.uid}: the hub serves version {hub_version}, the highest "
                "there is; no tombstone can pass it (the hub's operator must delete it)."
            )
        planned.append(Tombstone(str(record.uid), hub_version, hub_version + 1))
    if dry_run:
        return planned
    done = []
    for tombstone in planned:
        entry = registry_services.withdraw_from_network(
            settings.NODE_AGENCY, tombstone.uid, above=tombstone.hub_version, user=user
        )
        done.append(Tombstone(tombstone.uid, tombstone.hub_version, entry.version))
    return done
