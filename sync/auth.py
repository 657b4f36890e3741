"""Inbound peer tokens (PROTOCOL.md rule 1): issued here, presented as a Bearer token, stored
only as a hash, revocable at once."""

import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sync.models import PeerToken, hash_token

# Writing last_used on every request would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def issue_token(*, agency: str, note: str = "") -> tuple[PeerToken, str]:
    """A new token for `agency`; the clear text is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    peer_token = PeerToken(agency=agency, token_hash=hash_token(token), note=note)
    peer_token.full_clean(exclude=["token_hash"])
    peer_token.save()
    return peer_token, token


def rotate_token(*, agency: str, note: str = "") -> tuple[PeerToken, str, int]:
    """A new token for `agency`, its older active tokens valid for PEER_TOKEN_OVERLAP_HOURS more
    (so the agency can switch to the new one without a gap); returns the new token's row, its
    clear text (shown once) and how many older tokens now expire."""
    until = timezone.now() + dt.timedelta(hours=settings.PEER_TOKEN_OVERLAP_HOURS)
    with transaction.atomic():
        peer_token, token = issue_token(agency=agency, note=note)
        older = PeerToken.objects.active().filter(agency=agency).exclude(pk=peer_token.pk)
        expiring = older.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=until))
        count = expiring.update(expires_at=until)
    return peer_token, token, count


def revoke_tokens(tokens) -> int:
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def authenticate(authorization: str | None) -> PeerToken | None:
    """The active token (not revoked, not past its rotation overlap) named by an
    `Authorization: Bearer ...` header, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    peer_token = PeerToken.objects.active().filter(token_hash=hash_token(token)).first()
    if peer_token is not None:
        _touch(peer_token)
    return peer_token


def _touch(peer_token: PeerToken) -> None:
    now = timezone.now()
    stale = Q(last_used__isnull=True) | Q(last_used__lt=now - LAST_USED_RESOLUTION)
    if peer_token.last_used is None or peer_token.last_used < now - LAST_USED_RESOLUTION:
        PeerToken.objects.filter(stale, pk=peer_token.pk).update(last_used=now)
