import pytest
from django.core.exceptions import ValidationError

from registry import feed, services
from registry.feed import START
from registry.models import FeedEntry, UseCase
from tests.factories import UseCaseFactory


@pytest.fixture
def draft(home_agency):
    return UseCaseFactory(publication_level="draft", version=0)


def shared_entries():
    return {(e.uid, e.version, e.deleted) for e in feed.read_changes(after=START, limit=1000)}


def test_every_save_raises_the_version_by_one(draft):
    services.save_use_case(draft)
    services.save_use_case(draft)
    assert UseCase.objects.get(pk=draft.pk).version == 2


def test_the_version_is_read_from_the_database_not_the_stale_object(draft):
    services.save_use_case(draft)
    stale_copy = UseCase.objects.get(pk=draft.pk)
    services.save_use_case(draft)
    services.save_use_case(stale_copy)
    assert UseCase.objects.get(pk=draft.pk).version == 3


def test_drafts_and_internal_records_never_enter_the_feed(draft):
    services.save_use_case(draft)
    services.set_publication_level(draft, "internal")
    assert shared_entries() == set()


def test_publishing_puts_the_latest_state_in_the_feed(draft):
    services.publish_to_network(draft)
    draft.title = "Renamed"
    services.save_use_case(draft)
    (entry,) = FeedEntry.objects.all()
    assert (entry.version, entry.deleted, entry.record["title"]) == (2, False, "Renamed")
    assert entry.hash.startswith("sha256:")


def test_withdrawing_leaves_a_tombstone_with_the_raised_version(draft):
    services.publish_to_network(draft)
    services.withdraw(draft)
    assert shared_entries() == {(draft.uid, 2, True)}
    assert UseCase.objects.get(pk=draft.pk).publication_level == "internal"


def test_republishing_comes_back_with_a_higher_version(draft):
    services.publish_to_network(draft)
    services.withdraw(draft)
    services.publish_to_network(draft)
    assert shared_entries() == {(draft.uid, 3, False)}


def test_deleting_a_shared_record_keeps_a_tombstone(draft):
    services.publish_to_network(draft)
    uid = draft.uid
    services.delete_use_case(draft)
    assert not UseCase.objects.filter(uid=uid).exists()
    assert shared_entries() == {(uid, 2, True)}


def test_a_record_recreated_under_the_same_uid_continues_from_the_tombstone(draft):
    services.publish_to_network(draft)
    uid = draft.uid
    services.delete_use_case(draft)
    reborn = UseCaseFactory.build(uid=uid, publication_level="network", version=0)
    services.save_use_case(reborn)
    assert reborn.version == 3


def test_an_invalid_record_is_refused_and_nothing_changes(draft):
    services.publish_to_network(draft)
    draft.stage = "production"
    draft.operational_since = None
    with pytest.raises(ValidationError) as exc:
        services.save_use_case(draft)
    assert "operational_since" in exc.value.message_dict
    assert UseCase.objects.get(pk=draft.pk).stage == "pilot"
    assert FeedEntry.objects.get().version == 1


class FeedDown(Exception):
    pass


def fail_feed_write(**kwargs):
    """Stands in for feed.write_entry, which save_use_case calls after the record row and its
    history row are written."""
    raise FeedDown


def stored_state(use_case: UseCase) -> tuple:
    row = UseCase.objects.get(pk=use_case.pk)
    entry = FeedEntry.objects.get(origin=use_case.origin_id, uid=use_case.uid)
    return (
        row.version,
        row.to_record(),
        row.modified,
        UseCase.history.filter(uid=use_case.uid).count(),
        (entry.version, entry.record, entry.hash, entry.seq, entry.txid),
    )


def test_a_failed_feed_write_leaves_a_shared_record_as_it_was(draft, monkeypatch):
    services.publish_to_network(draft)
    before = stored_state(draft)
    monkeypatch.setattr(feed, "write_entry", fail_feed_write)
    draft.title = "Renamed"
    with pytest.raises(FeedDown):
        services.save_use_case(draft)
    assert stored_state(draft) == before
    assert before[0] == 1 and before[1]["title"] != "Renamed"


def test_a_failed_feed_write_creates_no_new_record(home_agency, monkeypatch):
    monkeypatch.setattr(feed, "write_entry", fail_feed_write)
    new = UseCaseFactory.build(publication_level="network", version=0)
    with pytest.raises(FeedDown):
        services.save_use_case(new)
    assert not UseCase.objects.filter(uid=new.uid).exists()
    assert not UseCase.history.filter(uid=new.uid).exists()
    assert not FeedEntry.objects.exists()


def test_a_prohibited_record_cannot_be_published(draft):
    draft.ai_act_risk = "prohibited"
    services.save_use_case(draft)
    with pytest.raises(ValidationError) as exc:
        services.publish_to_network(draft)
    assert "publication_level" in exc.value.message_dict


def test_a_copy_from_another_agency_cannot_be_changed_here(other_agency):
    copy = UseCaseFactory(origin=other_agency, publication_level="network")
    with pytest.raises(services.NotOwnRecord):
        services.save_use_case(copy)
    with pytest.raises(services.NotOwnRecord):
        services.delete_use_case(copy)


def test_the_feed_id_is_stable_until_reset(db):
    first = feed.current_feed_id()
    assert feed.current_feed_id() == first
    assert feed.reset_feed_id() != first
