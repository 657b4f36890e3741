"""The Atom feed of catalogue changes (/feeds/use-cases.atom): valid Atom read by a real parser,
the catalogue's filters and visibility, stable entry ids, withdrawals as entries of their own and
the rule that an anonymous reader learns only of withdrawals of records that were public."""

import datetime as dt
import uuid

import feedparser
import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from catalogue import feeds
from registry import received, services
from registry.canonical import record_hash
from registry.models import UseCase
from registry.validation import validate_record
from tests.factories import AgencyFactory, UseCaseFactory, UserFactory, valid_record

FEED = "/feeds/use-cases.atom"
ATOM_NS = "http://www.w3.org/2005/Atom"


def read_feed(client: Client, query: str = "") -> feedparser.FeedParserDict:
    response = client.get(FEED + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def titles(parsed) -> set[str]:
    return {entry.title for entry in parsed.entries}


def expected_titles(rows, **wanted: set[str]) -> set[str]:
    """Titles of the public rows whose every named field has (or, for a list, holds) one of the
    wanted values."""

    def has(value, allowed: set[str]) -> bool:
        return bool(set(value) & allowed) if isinstance(value, list) else value in allowed

    return {
        row.title
        for row in rows
        if row.publication_level == "public"
        and all(has(getattr(row, name), allowed) for name, allowed in wanted.items())
    }


def member_client(member) -> Client:
    client = Client()
    client.force_login(member)
    return client


def copy(origin: str, uid: uuid.UUID, version: int, *, level: str | None, **fields):
    """A record of another agency as received from the hub (level None: its tombstone)."""
    record = None if level is None else valid_record(publication_level=level, **fields)
    return received.Copy(
        origin=origin,
        uid=uid,
        version=version,
        modified=dt.datetime(2026, 4, 1, 12, version, tzinfo=dt.UTC),
        hash="" if record is None else record_hash(record),
        record=record,
        values=None if record is None else validate_record(record),
    )


@pytest.fixture
def home(db):
    return AgencyFactory(code=settings.NODE_AGENCY, name="European Medicines Agency", country="EU")


@pytest.fixture
def home_member(home):
    return UserFactory(agency=home, is_staff=False)


def published(home, level: str, **fields):
    """An own record shared through the real write path, so the feed and history know it."""
    return services.set_publication_level(UseCaseFactory(origin=home, **fields), level)


# ---- a valid feed -----------------------------------------------------------------------------


def test_the_feed_is_valid_atom_with_one_entry_per_public_record(catalogue):
    parsed = read_feed(Client())

    public = [row for row in catalogue if row.publication_level == "public"]
    assert titles(parsed) == {row.title for row in public}
    newest = max(row.modified for row in public)
    assert dt.datetime(*parsed.feed.updated_parsed[:6], tzinfo=dt.UTC) == newest
    assert parsed.feed.id.startswith("tag:")
    assert parsed.feed.author == "European Medicines Agency"
    assert any(link.rel == "self" for link in parsed.feed.links)


def test_an_entry_carries_id_date_link_author_and_summary_of_its_record(catalogue):
    row = next(r for r in catalogue if r.publication_level == "public" and r.origin_id != "EMA")
    parsed = read_feed(Client())

    entry = next(e for e in parsed.entries if e.title == row.title)
    host = settings.SITE_URL.split("//")[1].split(":")[0]
    assert entry.id == f"tag:{host},2026:use-case/{row.origin_id}/{row.uid}/v{row.version}"
    assert dt.datetime(*entry.updated_parsed[:6], tzinfo=dt.UTC) == row.modified
    assert entry.link == f"http://testserver/use-cases/{row.origin_id}/{row.uid}/"
    assert entry.author == row.origin.name
    assert entry.summary == row.summary


def test_entries_come_newest_first_and_at_most_feed_size(home):
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(feeds.FEED_SIZE + 3):
        UseCaseFactory(
            origin=home,
            publication_level="public",
            title=f"R{i:03d}",
            modified=start + dt.timedelta(hours=i),
        )

    parsed = read_feed(Client())

    shown = [entry.title for entry in parsed.entries]
    assert shown == [f"R{i:03d}" for i in reversed(range(3, feeds.FEED_SIZE + 3))]


def test_summary_text_is_escaped_html(home):
    UseCaseFactory(origin=home, publication_level="public", summary="Finds <b>bold</b> & more.")

    entry = read_feed(Client()).entries[0]

    # HTML whose text is the summary: the record's markup-like text shows, never acts.
    assert entry.summary == "Finds &lt;b&gt;bold&lt;/b&gt; &amp; more."
    assert entry.summary_detail.type == "text/html"


# ---- visibility and filters -------------------------------------------------------------------


def test_network_members_see_network_records_too(catalogue, member):
    parsed = read_feed(member_client(member))

    shared = {r.title for r in catalogue if r.publication_level in {"public", "network"}}
    assert titles(parsed) == shared


@pytest.mark.parametrize(
    "query, wanted",
    [
        ("agency=DE-BFARM", {"origin_id": {"DE-BFARM"}}),
        ("ai_act_risk=high", {"ai_act_risk": {"high"}}),
        ("regulatory_processes=inspections", {"regulatory_processes": {"inspections"}}),
        ("stage=pilot", {"stage": {"pilot"}}),
        (
            "agency=de-bfarm&stage=idea,production",
            {"origin_id": {"DE-BFARM"}, "stage": {"idea", "production"}},
        ),
    ],
)
def test_the_catalogue_filters_narrow_the_feed(catalogue, query, wanted):
    parsed = read_feed(Client(), query)

    expected = expected_titles(catalogue, **wanted)
    assert expected  # the case selects something, and less than everything
    assert expected != expected_titles(catalogue)
    assert titles(parsed) == expected
    assert "(filtered)" in parsed.feed.title


def test_search_narrows_the_feed(catalogue):
    parsed = read_feed(Client(), "search=inspection")

    assert titles(parsed) == {t for t in expected_titles(catalogue) if "Inspection" in t}


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("stage=someday", "stage"),
        ("ai_act_risk=huge", "ai_act_risk"),
        ("regulatory_processes=alchemy", "regulatory_processes"),
        ("hosting=saas", "hosting"),  # network tier: not for anonymous readers
        ("modified_after=yesterday", "modified_after"),
    ],
)
def test_a_bad_filter_is_the_catalogues_bad_request_page_naming_it(catalogue, query, parameter):
    response = Client().get(f"{FEED}?{query}")

    assert response.status_code == 400
    assert "catalogue/bad_request.html" in [t.name for t in response.templates]
    assert f"<strong>{parameter}</strong>" in response.content.decode()


def test_a_network_tier_filter_works_for_members(catalogue, member):
    parsed = read_feed(member_client(member), "hosting=saas")

    assert titles(parsed) == {
        r.title
        for r in catalogue
        if r.publication_level in {"public", "network"} and r.hosting == "saas"
    }


# ---- ids and versions -------------------------------------------------------------------------


def test_an_entry_id_is_stable_for_a_version_and_new_for_the_next(home):
    use_case = published(home, "public", title="Stable ids")
    first = read_feed(Client()).entries[0].id
    cache.clear()
    again = read_feed(Client()).entries[0].id

    use_case.summary = "Changed."
    services.save_use_case(use_case)
    cache.clear()
    changed = read_feed(Client()).entries[0]

    assert first == again
    assert first.endswith(f"/{use_case.uid}/v{use_case.version - 1}")
    assert changed.id.endswith(f"/{use_case.uid}/v{use_case.version}")
    assert changed.summary == "Changed."


# ---- withdrawals ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_a_withdrawn_public_record_is_an_entry_saying_so(home, home_member, who):
    use_case = published(home, "public", title="Taken back")
    services.withdraw(use_case)
    client = member_client(home_member) if who == "member" else Client()

    parsed = read_feed(client)

    [entry] = parsed.entries
    assert entry.title == "Withdrawn: Taken back"
    assert "European Medicines Agency withdrew this use case" in entry.summary
    assert entry.id.endswith(f"/{use_case.uid}/v{use_case.version}")
    assert [tag.term for tag in entry.tags] == ["withdrawn"]
    assert dt.datetime(*entry.updated_parsed[:6], tzinfo=dt.UTC) == use_case.modified.replace(
        microsecond=0
    )


def test_a_deleted_public_record_is_an_entry_saying_so(home):
    use_case = published(home, "public", title="Deleted one")
    services.delete_use_case(use_case)

    assert titles(read_feed(Client())) == {"Withdrawn: Deleted one"}


def test_anonymous_readers_never_learn_of_a_withdrawn_network_record(home, home_member):
    use_case = published(home, "network", title="Network only")
    services.withdraw(use_case)

    assert read_feed(Client()).entries == []
    assert titles(read_feed(member_client(home_member))) == {"Withdrawn: Network only"}


def updated(entry) -> dt.datetime:
    return dt.datetime(*entry.updated_parsed[:6], tzinfo=dt.UTC)


def test_a_public_record_moved_to_network_is_withdrawn_for_anonymous_readers(home, home_member):
    use_case = published(home, "public", title="Public then network")
    public_version = use_case.version
    services.publish_to_network(use_case)
    left_at, left_version = use_case.modified, use_case.version
    use_case.summary = "Edited at network level."
    services.save_use_case(use_case)  # a later network edit moves nothing

    [entry] = read_feed(Client()).entries
    [as_member] = read_feed(member_client(home_member)).entries

    assert left_version == public_version + 1
    assert entry.title == "Withdrawn from the public catalogue: Public then network"
    assert "withdrew this use case from the public catalogue" in entry.summary
    assert entry.id.endswith(f"/{use_case.uid}/v{left_version}/left-public")
    assert [tag.term for tag in entry.tags] == ["withdrawn"]
    assert updated(entry) == left_at.replace(microsecond=0)
    # For a member it is an update of a record they still see.
    assert as_member.title == "Public then network"
    assert as_member.id.endswith(f"/{use_case.uid}/v{use_case.version}")


def test_a_record_public_once_but_network_when_withdrawn_is_withdrawn_when_it_left_public(
    home, home_member
):
    use_case = published(home, "public", title="Public, network, gone")
    services.publish_to_network(use_case)
    left_version = use_case.version
    services.withdraw(use_case)

    [entry] = read_feed(Client()).entries
    [as_member] = read_feed(member_client(home_member)).entries

    assert entry.title == "Withdrawn from the public catalogue: Public, network, gone"
    assert entry.id.endswith(f"/v{left_version}/left-public")
    assert as_member.title == "Withdrawn: Public, network, gone"
    assert as_member.id.endswith(f"/v{use_case.version}")


def test_network_public_network_is_live_while_public_then_withdrawn(home):
    use_case = published(home, "network", title="Back and forth")
    assert read_feed(Client()).entries == []  # never public yet: nothing at all

    services.set_publication_level(use_case, "public")
    cache.clear()
    [live] = read_feed(Client()).entries
    services.publish_to_network(use_case)
    cache.clear()
    [gone] = read_feed(Client()).entries
    services.set_publication_level(use_case, "public")
    cache.clear()
    [again] = read_feed(Client()).entries

    assert live.title == "Back and forth"
    assert gone.title == "Withdrawn from the public catalogue: Back and forth"
    assert gone.id.endswith(f"/v{use_case.version - 1}/left-public")
    assert again.title == "Back and forth"
    assert again.id.endswith(f"/v{use_case.version}")


def test_a_never_public_record_never_reaches_anonymous_readers(home, home_member):
    use_case = published(home, "network", title="Network only, edited")
    use_case.summary = "Edited."
    services.save_use_case(use_case)
    services.set_publication_level(use_case, "internal")
    services.set_publication_level(use_case, "network")
    other = published(home, "network", title="Network only, deleted")
    services.delete_use_case(other)

    assert read_feed(Client()).entries == []
    assert titles(read_feed(member_client(home_member))) == {
        "Network only, edited",
        "Withdrawn: Network only, deleted",
    }


def test_at_the_hub_a_received_copy_moved_to_network_just_leaves_anonymous_feeds(home, home_member):
    """A copy keeps no history here (registry.received writes none): an anonymous reader of this
    node is not told that a received public record became network (its origin's feed tells)."""
    AgencyFactory(code="FR-ANSM", name="ANSM", country="FR")
    uid = uuid.uuid4()
    received.store_copies(
        [copy("FR-ANSM", uid, 1, level="public", title="Received")], received_from="EMRN-HUB"
    )
    assert titles(read_feed(Client())) == {"Received"}
    received.store_copies(
        [copy("FR-ANSM", uid, 2, level="network", title="Received")], received_from="EMRN-HUB"
    )
    cache.clear()

    assert UseCase.history.filter(uid=uid).count() == 0
    assert read_feed(Client()).entries == []
    [as_member] = read_feed(member_client(home_member)).entries
    assert as_member.title == "Received"
    assert as_member.id.endswith(f"/FR-ANSM/{uid}/v2")


def test_a_received_public_record_withdrawn_is_an_entry_and_an_unseen_one_is_none(home):
    AgencyFactory(code="FR-ANSM", name="ANSM", country="FR")
    seen, unseen = uuid.uuid4(), uuid.uuid4()
    received.store_copies(
        [copy("FR-ANSM", seen, 1, level="public", title="Received")], received_from="EMRN-HUB"
    )
    tombstones = [copy("FR-ANSM", seen, 2, level=None), copy("FR-ANSM", unseen, 3, level=None)]
    received.store_copies(tombstones, received_from="EMRN-HUB")

    [entry] = read_feed(Client()).entries

    assert entry.title == "Withdrawn: Received"
    assert entry.author == "ANSM"
    assert entry.id.endswith(f"use-case/FR-ANSM/{seen}/v2")


def test_withdrawals_follow_the_filters_as_the_record_was_last_shown(home):
    use_case = published(
        home,
        "public",
        title="High risk",
        ai_act_risk="high",
        ai_act_justification="Bears on decisions about products.",
    )
    services.withdraw(use_case)

    assert titles(read_feed(Client(), "ai_act_risk=high")) == {"Withdrawn: High risk"}
    cache.clear()
    assert read_feed(Client(), "ai_act_risk=minimal").entries == []
    cache.clear()
    assert read_feed(Client(), "search=risk").entries == []  # live records only


# ---- cache and the catalogue page ---------------------------------------------------------------


def test_anonymous_feeds_are_cached_for_catalogue_cache_seconds(home, settings, monkeypatch):
    settings.CATALOGUE_CACHE_SECONDS = 17
    timeouts = []
    original = cache.set
    monkeypatch.setattr(
        cache,
        "set",
        lambda key, value, timeout: (timeouts.append(timeout), original(key, value, timeout)),
    )
    UseCaseFactory(origin=home, publication_level="public", title="Before")

    read_feed(Client())
    UseCaseFactory(origin=home, publication_level="public", title="After")
    cached = read_feed(Client())

    assert 17 in timeouts
    assert titles(cached) == {"Before"}


def test_the_catalogue_page_links_the_feed_of_its_filters(catalogue):
    html = Client().get("/?agency=DE-BFARM&stage=pilot&sort=title").content.decode()

    assert (
        '<link rel="alternate" type="application/atom+xml" title="Changes to these AI use cases '
        '(Atom)" href="/feeds/use-cases.atom?agency=DE-BFARM&amp;stage=pilot">' in html
    )
    assert (
        'href="/feeds/use-cases.atom?agency=DE-BFARM&amp;stage=pilot"'
        in html.split('class="exports"')[1]
    )
