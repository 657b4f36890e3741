"""registry/received.py: storing copies, including when another receiver got there first."""

import dataclasses
import datetime as dt
import uuid

import pytest

from registry import received
from registry.canonical import record_hash
from registry.models import Agency, FeedEntry, UseCase
from registry.validation import validate_record
from sync import protocol
from tests.factories import valid_record

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC)


def copy(uid, version, *, deleted=False, title="A copy"):
    record = None if deleted else valid_record(title=title)
    return received.Copy(
        origin="FR-ANSM",
        uid=uid,
        version=version,
        modified=NOW,
        hash="" if deleted else record_hash(record),
        record=record,
        values=None if deleted else validate_record(record),
    )


def test_copies_and_their_feed_entries_are_stored_together():
    uid = uuid.uuid4()
    received.store_copies([copy(uid, 4)], received_from="EMRN-HUB")
    use_case = UseCase.objects.get(uid=uid)
    assert (use_case.origin_id, use_case.version, use_case.received_from) == (
        "FR-ANSM",
        4,
        "EMRN-HUB",
    )
    assert FeedEntry.objects.get(uid=uid).version == 4
    assert Agency.objects.get(code="FR-ANSM").country == "FR"


def test_a_late_older_copy_never_overwrites_or_resurrects(db):
    """As if another receiver stored the tombstone between this one's lookup and its write."""
    uid = uuid.uuid4()
    received.store_copies([copy(uid, 1)], received_from="EMRN-HUB")
    received.store_copies([copy(uid, 3, deleted=True)], received_from="EMRN-HUB")
    received.store_copies([copy(uid, 2, title="Late")], received_from="EMRN-HUB")
    assert not UseCase.objects.filter(uid=uid).exists()
    entry = FeedEntry.objects.get(uid=uid)
    assert entry.deleted and entry.version == 3


def test_own_records_are_refused_at_the_storage_layer(settings):
    own = received.Copy(
        origin=settings.NODE_AGENCY,
        uid=uuid.uuid4(),
        version=1,
        modified=NOW,
        hash="",
        record=None,
        values=None,
    )
    with pytest.raises(ValueError):
        received.store_copies([own], received_from="EMRN-HUB")


@pytest.mark.parametrize(
    "modified", [protocol.MODIFIED_MIN, protocol.MODIFIED_MAX - dt.timedelta.resolution]
)
def test_modified_times_at_the_ends_of_the_accepted_range_round_trip(modified):
    uid = uuid.uuid4()
    stored = dataclasses.replace(copy(uid, 1), modified=modified)
    received.store_copies([stored], received_from="EMRN-HUB")
    assert UseCase.objects.get(uid=uid).modified == modified
    assert FeedEntry.objects.get(uid=uid).modified == modified
