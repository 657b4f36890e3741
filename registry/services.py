"""Writes to the registry. Every change of a use case goes through here, so its version, its
change history and its feed entry move together in one transaction."""

from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from registry import feed, reference
from registry import vocabularies as v
from registry.models import Agency, FeedEntry, UseCase, User


class NotOwnRecord(PermissionDenied):
    """Only the origin agency changes a record; every other node holds a read-only copy."""


def viewable_by(user, use_cases: QuerySet[UseCase]) -> QuerySet[UseCase]:
    """Staff see their own agency's records and every shared one; drafts stay with their agency."""
    if user.is_superuser:
        return use_cases
    return use_cases.filter(Q(origin_id=user.agency_id) | Q(publication_level__in=v.SHARED_LEVELS))


def can_view(user, use_case: UseCase) -> bool:
    """Asks the stored row, so a historical version is judged by the record as it is now (and a
    deleted record's history is left to superusers)."""
    if user.is_superuser:
        return True
    return viewable_by(user, UseCase.objects.filter(pk=use_case.pk)).exists()


def can_edit(user, use_case: UseCase) -> bool:
    """A user edits only records of their own agency that originate at this node."""
    if use_case.origin_id != settings.NODE_AGENCY:
        return False
    return bool(user.is_superuser or user.agency_id == use_case.origin_id)


def agency_mailbox(code: str) -> str:
    """The agency's functional mailbox ('' when it has none): the contact of its records that
    state none of their own."""
    return Agency.objects.filter(code=code).values_list("contact_email", flat=True).first() or ""


def save_use_case(use_case: UseCase, *, user=None, version_above: int = 0) -> UseCase:
    """Validate, raise the version by one and record the change in the feed. A record without a
    contact of its own takes its agency's mailbox. Without a user (imports, seeding, scripts) the
    caller has already decided who may write. `version_above` numbers the new version above a
    version the network holds (publish_again). Raises ValidationError (the validator's errors by
    field: at draft only title and language are required), NotOwnRecord, PermissionDenied."""
    _ensure_own(use_case)
    _ensure_may_edit(user, use_case)
    if not use_case.contact_email:
        use_case.contact_email = agency_mailbox(use_case.origin_id)
    use_case.full_clean()
    with transaction.atomic():
        use_case.version = max(_current_version(use_case), version_above) + 1
        use_case.modified = timezone.now()
        if user is not None:
            use_case._history_user = user
        use_case.save()
        _record_in_feed(use_case, resend=version_above > 0)
    return use_case


def set_publication_level(use_case: UseCase, level: str, *, user=None) -> UseCase:
    use_case.publication_level = level
    return save_use_case(use_case, user=user)


def publish_to_network(use_case: UseCase, *, user=None) -> UseCase:
    return set_publication_level(use_case, v.PublicationLevel.NETWORK, user=user)


def withdraw(use_case: UseCase, *, user=None) -> UseCase:
    """Take a record back from the network: it leaves as a tombstone and stays internal here."""
    return set_publication_level(use_case, v.PublicationLevel.INTERNAL, user=user)


def publish_again(use_case: UseCase, *, above: int, user=None) -> UseCase:
    """Send the record as it is here again, numbered above version `above` that the network holds
    (a peer answered an older version stale, typically after this node was restored from a
    backup): the network then converges on this node's content (PROTOCOL.md rule 3)."""
    return save_use_case(use_case, user=user, version_above=above)


def withdraw_from_network(origin: str, uid, *, above: int, user=None) -> FeedEntry:
    """Send a tombstone numbered above version `above` for a record of this agency that the
    network holds and this node does not (deleted here after a restore, created after the backup
    this node was restored from, or pushed with a leaked token): every node then drops its copy
    (PROTOCOL.md rule 3). Raises NotOwnRecord, PermissionDenied, and ValueError when this node
    holds the record (publish_again is for that)."""
    if origin != settings.NODE_AGENCY:
        raise NotOwnRecord(
            f"Records of {origin} are read-only here: only their origin changes them."
        )
    if user is not None and not (user.is_superuser or user.agency_id == origin):
        raise PermissionDenied(f"{user} may not change records of {origin}.")
    if UseCase.objects.filter(origin_id=origin, uid=uid).exists():
        raise ValueError("This node holds the record: publish it again instead.")
    with transaction.atomic():
        current = FeedEntry.objects.filter(origin=origin, uid=uid).values_list("version", flat=True)
        version = max([above, *current]) + 1
        return feed.write_entry(
            origin=origin, uid=uid, version=version, record=None, modified=timezone.now()
        )


def delete_use_case(use_case: UseCase, *, user=None) -> None:
    _ensure_own(use_case)
    _ensure_may_edit(user, use_case)
    with transaction.atomic():
        version = _current_version(use_case) + 1
        if FeedEntry.objects.filter(origin=use_case.origin_id, uid=use_case.uid).exists():
            feed.write_entry(
                origin=use_case.origin_id,
                uid=use_case.uid,
                version=version,
                record=None,
                modified=timezone.now(),
            )
        if user is not None:
            use_case._history_user = user
        use_case.delete()


def _ensure_own(use_case: UseCase) -> None:
    # The hub writes the reference registers' records too (registry.reference).
    if not reference.written_here(use_case.origin_id):
        raise NotOwnRecord(
            f"Records of {use_case.origin_id} are read-only here: only their origin changes them."
        )


def _ensure_may_edit(user, use_case: UseCase) -> None:
    # The admin checks this too; a view that forgets (simple-history's revert form did) must not
    # be able to write another agency's record.
    if user is not None and not can_edit(user, use_case):
        raise PermissionDenied(f"{user} may not change records of {use_case.origin_id}.")


def _current_version(use_case: UseCase) -> int:
    """The stored version, locked for this transaction; for a new record, a tombstone's version
    under the same uid (a re-created record continues from it)."""
    if use_case.pk:
        return (
            UseCase.objects.select_for_update()
            .values_list("version", flat=True)
            .get(pk=use_case.pk)
        )
    tombstone = FeedEntry.objects.filter(origin=use_case.origin_id, uid=use_case.uid).first()
    return tombstone.version if tombstone else 0


def _record_in_feed(use_case: UseCase, *, resend: bool = False) -> None:
    """Shared records publish their latest state; a record that drops out leaves a tombstone.
    `resend` (publish_again) writes the tombstone of an unshared record even when the feed holds
    one already: the network holds a newer shared version that this tombstone has to pass."""
    if use_case.publication_level in v.SHARED_LEVELS:
        feed.write_entry(
            origin=use_case.origin_id,
            uid=use_case.uid,
            version=use_case.version,
            record=use_case.to_record(),
            modified=use_case.modified,
        )
        return
    published = FeedEntry.objects.filter(
        origin=use_case.origin_id, uid=use_case.uid, deleted=False
    ).exists()
    if published or resend:
        feed.write_entry(
            origin=use_case.origin_id,
            uid=use_case.uid,
            version=use_case.version,
            record=None,
            modified=use_case.modified,
        )


def create_or_update_agency(
    *, code: str, name: str, country: str, kind: str, contact_email: str | None = None
) -> tuple[Agency, bool]:
    """An agency as the node knows it (its own, before anyone can log in to maintain it).
    `contact_email` None keeps the stored mailbox. Raises ValidationError on bad values."""
    agency = Agency.objects.filter(code=code).first() or Agency(code=code)
    created = agency.pk is None
    agency.name, agency.country, agency.kind = name, country, kind
    if contact_email is not None:
        agency.contact_email = contact_email
    agency.full_clean(validate_unique=created)
    agency.save()
    return agency, created


class MailboxChange(NamedTuple):
    moved: list[UseCase]  # now with the new mailbox as their contact
    refused: list[tuple[UseCase, ValidationError]]  # kept the old one: the validator refused them


def change_agency_mailbox(agency: Agency, new_address: str, *, user=None) -> MailboxChange:
    """Store the agency's new functional mailbox and move to it every record of this node that
    uses the old one as its contact (save_use_case filled it in, or someone typed it): each is
    saved again through save_use_case, so its version and feed entry move and the network follows.
    A record left without a contact (the agency had no mailbox) takes the new one too; a record the
    validator refuses keeps the old address and is listed. Records of another agency are that
    agency's node's business. Raises ValidationError (a malformed address: nothing changed),
    PermissionDenied (nothing changed)."""
    old = Agency.objects.filter(pk=agency.pk).values_list("contact_email", flat=True).first()
    agency.contact_email = new_address
    moved, refused = [], []
    with transaction.atomic():
        agency.full_clean(validate_unique=False)
        agency.save()
        if not new_address or old is None or old.lower() == new_address.lower():
            return MailboxChange(moved, refused)
        if agency.code != settings.NODE_AGENCY:
            return MailboxChange(moved, refused)
        using_old = Q(contact_email__iexact=old) if old else Q(contact_email="")
        for use_case in UseCase.objects.filter(using_old, origin_id=agency.code).order_by("pk"):
            use_case.contact_email = new_address
            try:
                save_use_case(use_case, user=user)
            except ValidationError as exc:
                use_case.contact_email = old
                refused.append((use_case, exc))
                continue
            moved.append(use_case)
    return MailboxChange(moved, refused)


AGENCY_ADMINS_GROUP = "Agency admins"
# What an agency admin may open in the admin. Which records they may change is decided per record
# (can_view, can_edit: their own agency's); these are the pages they may open at all.
AGENCY_ADMIN_PERMISSIONS = (
    "registry.view_usecase",
    "registry.add_usecase",
    "registry.change_usecase",
    "registry.delete_usecase",
    "registry.view_nousecaseattestation",
    "registry.add_nousecaseattestation",
    "registry.change_nousecaseattestation",
    "sync.view_syncrun",
    "sync.view_rejection",
    "sync.view_peerexchange",
    "sync.view_answeredrejection",
    # Webhooks: their own subscriptions only (webhooks.admin filters by owner), deleting included
    # (one they made and no longer want); deliveries and attempts read-only.
    "webhooks.view_subscription",
    "webhooks.add_subscription",
    "webhooks.change_subscription",
    "webhooks.delete_subscription",
    "webhooks.view_delivery",
    "webhooks.view_deliveryattempt",
)


def agency_admins_group() -> Group:
    """The group create_agency_admin puts agency admins in, given AGENCY_ADMIN_PERMISSIONS. They
    are added, never set: a permission an administrator gave the group by hand stays."""
    group, _ = Group.objects.get_or_create(name=AGENCY_ADMINS_GROUP)
    wanted = Q()
    for name in AGENCY_ADMIN_PERMISSIONS:
        app_label, codename = name.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    group.permissions.add(*Permission.objects.filter(wanted))
    return group


def create_agency_admin(
    *, username: str, agency_code: str, email: str = "", password: str
) -> tuple[User, bool]:
    """A staff user of one agency, in the agency admins' group; the password must pass the
    configured validators. Raises ValidationError."""
    user = User.objects.filter(username=username).first() or User(username=username)
    validate_password(password, user)
    created = user.pk is None
    user.agency_id = agency_code
    user.email = email or user.email
    user.is_staff = True
    user.is_active = True
    user.set_password(password)
    with transaction.atomic():
        user.save()
        user.groups.add(agency_admins_group())
    return user, created
