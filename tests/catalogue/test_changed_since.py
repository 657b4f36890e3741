"""changed_since and include_withdrawn on /api/v1/use-cases/: harvesters get every change at or
after an instant (inclusive, to the microsecond), oldest first by modified then id, in keyset pages
that never skip records sharing an instant, and withdrawals when asked, as far as they may know of
them. Runs on SQLite and PostgreSQL alike (DATABASE_URL)."""

import datetime as dt
import uuid
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import cache

from registry import received, services
from registry.canonical import record_hash
from registry.models import UseCase
from registry.validation import validate_record
from tests.catalogue.conftest import basic_auth
from tests.factories import AgencyFactory, UseCaseFactory, UserFactory, valid_record

URL = "/api/v1/use-cases/"
BOUNDARY = dt.datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


@pytest.fixture
def home(db):
    return AgencyFactory(code=settings.NODE_AGENCY, name="European Medicines Agency", country="EU")


def public(home, title: str, modified: dt.datetime, **fields):
    return UseCaseFactory(
        origin=home, publication_level="public", title=title, modified=modified, **fields
    )


def listed(client, query: str) -> list[dict]:
    cache.clear()  # anonymous answers are cached; each call here asks afresh
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def harvest(client, query: str) -> list[dict]:
    """Every page, following `next`."""
    results, url = [], f"{URL}?{query}"
    while url:
        body = client.get(url).json()
        results += body["results"]
        url = body["next"]
    return results


def test_changed_since_is_inclusive_to_the_microsecond(home, anon_client):
    public(home, "Before", BOUNDARY - MICROSECOND)
    public(home, "At", BOUNDARY)
    public(home, "After", BOUNDARY + MICROSECOND)

    since = quote(BOUNDARY.isoformat())
    results = listed(anon_client, f"changed_since={since}")

    assert [item["title"] for item in results] == ["At", "After"]


def test_an_offset_is_honoured_and_an_unencoded_plus_is_read_as_one(home, anon_client):
    public(home, "Before", BOUNDARY - MICROSECOND)
    public(home, "At", BOUNDARY)
    in_paris = BOUNDARY.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()

    encoded = listed(anon_client, f"changed_since={quote(in_paris)}")
    unencoded = listed(anon_client, f"changed_since={in_paris}")  # "+" arrives as a space

    assert [item["title"] for item in encoded] == ["At"]
    assert [item["title"] for item in unencoded] == ["At"]


def test_changes_are_ordered_by_modified_then_id_and_pages_skip_nothing(home, anon_client):
    for i in range(7):  # three share one instant: the id orders them
        public(home, f"R{i}", BOUNDARY + dt.timedelta(seconds=min(i, 3)))
    UseCaseFactory(origin=home, publication_level="network", modified=BOUNDARY, title="Hidden")

    results = harvest(anon_client, "changed_since=2026-03-01T00:00:00Z&page_size=2")

    assert [item["title"] for item in results] == [f"R{i}" for i in range(7)]
    assert anon_client.get(f"{URL}?changed_since=2026-03-01T00:00:00Z").json()["ordering"] == (
        "modified"
    )


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-03-01",
        "2026-03-01T12:00:00",
        "2026-02-30T00:00:00Z",
        "9999-12-31T23:59:59-23:00",
    ],
)
def test_a_bad_or_naive_changed_since_is_a_400_naming_it(db, anon_client, value):
    response = anon_client.get(URL, {"changed_since": value})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == ["changed_since"]


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("changed_since=2026-01-01T00:00:00Z&ordering=title", "ordering"),
        ("include_withdrawn=perhaps", "include_withdrawn"),
        ("changed_since=2026-01-01T00:00:00Z&cursor=bm9wZQ", "cursor"),
        ("changed_since=2026-01-01T00:00:00Z&stage=someday", "stage"),
    ],
)
def test_other_bad_parameters_of_a_harvest_are_named(db, anon_client, query, parameter):
    response = anon_client.get(f"{URL}?{query}")

    assert response.status_code == 400
    assert parameter in response.json()["errors"]


def test_the_catalogue_filters_apply_to_changes(home, anon_client):
    public(home, "Pilot", BOUNDARY, stage="pilot")
    public(home, "Idea", BOUNDARY, stage="idea")

    results = listed(anon_client, "changed_since=2026-01-01T00:00:00Z&stage=pilot")

    assert [item["title"] for item in results] == ["Pilot"]


# ---- include_withdrawn ------------------------------------------------------------------------


def withdrawn_items(results: list[dict]) -> list[dict]:
    return [item for item in results if item.get("withdrawn")]


def test_withdrawn_records_are_listed_as_such_only_when_asked(home, anon_client):
    use_case = services.set_publication_level(UseCaseFactory(origin=home), "public")
    services.withdraw(use_case)

    without = listed(anon_client, "changed_since=2026-01-01T00:00:00Z")
    with_withdrawn = listed(anon_client, "changed_since=2026-01-01T00:00:00Z&include_withdrawn=1")

    assert without == []
    assert with_withdrawn == [
        {
            "origin": settings.NODE_AGENCY,
            "uid": str(use_case.uid),
            "version": use_case.version,
            "modified": use_case.modified.isoformat().replace("+00:00", "Z"),
            "withdrawn": True,
        }
    ]


def test_a_withdrawal_is_at_or_after_the_instant_like_any_change(home, anon_client):
    use_case = services.set_publication_level(UseCaseFactory(origin=home), "public")
    services.withdraw(use_case)
    at = use_case.modified

    def asked(moment):
        return listed(anon_client, f"include_withdrawn=1&changed_since={quote(moment.isoformat())}")

    assert len(asked(at)) == 1
    assert asked(at + MICROSECOND) == []


def test_anonymous_harvesters_never_learn_of_network_withdrawals(home, anon_client):
    member = UserFactory(username="harvester", agency=home, is_staff=False)
    use_case = services.set_publication_level(UseCaseFactory(origin=home), "network")
    services.withdraw(use_case)
    query = "include_withdrawn=true"

    anonymous = listed(anon_client, query)
    anon_client.credentials(HTTP_AUTHORIZATION=basic_auth("harvester", "correct-horse-battery"))
    as_member = listed(anon_client, query)

    assert anonymous == []
    assert [item["uid"] for item in withdrawn_items(as_member)] == [str(use_case.uid)]
    assert member.is_authenticated


def test_withdrawals_and_records_share_one_order_across_pages(home, anon_client):
    gone = []
    for i in range(3):
        use_case = services.set_publication_level(
            UseCaseFactory(origin=home, title=f"Gone {i}"), "public"
        )
        gone.append(services.withdraw(use_case))
    public(home, "Live early", gone[0].modified - dt.timedelta(seconds=1))
    public(home, "Live tie", gone[1].modified)  # same instant: the live record comes first
    public(home, "Live late", gone[2].modified + dt.timedelta(seconds=1))

    results = harvest(anon_client, "include_withdrawn=1&page_size=2")

    names = [item.get("title") or f"withdrawn {item['uid']}" for item in results]
    assert names == [
        "Live early",
        f"withdrawn {gone[0].uid}",
        "Live tie",
        f"withdrawn {gone[1].uid}",
        f"withdrawn {gone[2].uid}",
        "Live late",
    ]


# ---- public records moved to network level ----------------------------------------------------


def member_login(client):
    UserFactory(username="member", agency=AgencyFactory(code="DE-BFARM"), is_staff=False)
    client.credentials(HTTP_AUTHORIZATION=basic_auth("member", "correct-horse-battery"))


def test_a_public_record_moved_to_network_is_a_withdrawal_for_anonymous_harvesters(
    home, anon_client
):
    use_case = services.set_publication_level(UseCaseFactory(origin=home), "public")
    before = use_case.modified
    services.publish_to_network(use_case)
    left_at, left_version = use_case.modified, use_case.version
    use_case.summary = "A later network edit."
    services.save_use_case(use_case)

    def asked(moment, extra="&include_withdrawn=1"):
        return listed(anon_client, f"changed_since={quote(moment.isoformat())}{extra}")

    assert asked(before) == [
        {
            "origin": settings.NODE_AGENCY,
            "uid": str(use_case.uid),
            "version": left_version,
            "modified": left_at.isoformat().replace("+00:00", "Z"),
            "withdrawn": True,
        }
    ]
    assert len(asked(left_at)) == 1  # inclusive
    assert asked(left_at + MICROSECOND) == []  # the later network edit is not news to them
    assert asked(before, extra="") == []  # only when asked for withdrawals


def test_for_a_member_a_record_moved_to_network_is_an_update(home, anon_client):
    use_case = services.set_publication_level(UseCaseFactory(origin=home, title="Moved"), "public")
    services.publish_to_network(use_case)
    member_login(anon_client)

    results = listed(anon_client, "changed_since=2026-01-01T00:00:00Z&include_withdrawn=1")

    assert withdrawn_items(results) == []
    assert [(item["title"], item["version"]) for item in results] == [("Moved", use_case.version)]


def test_network_public_network_is_live_while_public_and_withdrawn_after(home, anon_client):
    query = "changed_since=2026-01-01T00:00:00Z&include_withdrawn=1"
    use_case = services.set_publication_level(UseCaseFactory(origin=home, title="Twice"), "network")
    never_public = listed(anon_client, query)
    services.set_publication_level(use_case, "public")
    public_again = listed(anon_client, query)
    services.publish_to_network(use_case)
    left_version = use_case.version
    services.set_publication_level(use_case, "public")
    services.publish_to_network(use_case)

    results = listed(anon_client, query)

    assert never_public == []
    assert [item["title"] for item in public_again] == ["Twice"]
    # Only its latest departure from the public level: the first network version after v4.
    assert [(item["version"], item["withdrawn"]) for item in results] == [(use_case.version, True)]
    assert left_version == use_case.version - 2


def test_a_public_record_again_is_a_live_record_after_its_withdrawal(home, anon_client):
    use_case = services.set_publication_level(UseCaseFactory(origin=home, title="Back"), "public")
    since = quote(use_case.modified.isoformat())
    services.publish_to_network(use_case)
    withdrawn_at = listed(anon_client, f"changed_since={since}&include_withdrawn=1")
    services.set_publication_level(use_case, "public")

    results = listed(anon_client, f"changed_since={since}&include_withdrawn=1")

    assert [item["version"] for item in withdrawn_items(withdrawn_at)] == [use_case.version - 1]
    assert [(item.get("title"), item["version"]) for item in results] == [
        ("Back", use_case.version)
    ]


def test_never_public_records_never_reach_anonymous_harvesters(home, anon_client):
    kept = services.set_publication_level(UseCaseFactory(origin=home), "network")
    services.save_use_case(kept)
    gone = services.set_publication_level(UseCaseFactory(origin=home), "network")
    services.withdraw(gone)
    deleted = services.set_publication_level(UseCaseFactory(origin=home), "network")
    services.delete_use_case(deleted)
    query = "include_withdrawn=1"

    anonymous = listed(anon_client, query)
    member_login(anon_client)
    as_member = listed(anon_client, query)

    assert anonymous == []
    assert {item["uid"] for item in withdrawn_items(as_member)} == {str(gone.uid), str(deleted.uid)}


def test_departures_from_public_follow_the_filters_and_pages(home, anon_client):
    moved = []
    for i in range(3):
        use_case = services.set_publication_level(
            UseCaseFactory(origin=home, title=f"Moved {i}", stage="pilot"), "public"
        )
        moved.append(services.publish_to_network(use_case))
    public(home, "Live tie", moved[1].modified, stage="pilot")
    services.publish_to_network(
        services.set_publication_level(UseCaseFactory(origin=home, stage="idea"), "public")
    )

    results = harvest(anon_client, "include_withdrawn=1&stage=pilot&page_size=1")

    names = [item.get("title") or f"withdrawn {item['uid']}" for item in results]
    assert names == [
        f"withdrawn {moved[0].uid}",
        "Live tie",
        f"withdrawn {moved[1].uid}",
        f"withdrawn {moved[2].uid}",
    ]


def test_at_the_hub_a_received_copy_moved_to_network_just_leaves_the_listing(home, anon_client):
    """A copy keeps no history here (registry.received writes none): an anonymous harvester of
    this node is not told that a received public record became network; its origin tells."""
    AgencyFactory(code="FR-ANSM", country="FR")
    uid = uuid.uuid4()

    def receive(version, level):
        record = valid_record(publication_level=level, title="Received")
        copy = received.Copy(
            origin="FR-ANSM",
            uid=uid,
            version=version,
            modified=BOUNDARY + dt.timedelta(minutes=version),
            hash=record_hash(record),
            record=record,
            values=validate_record(record),
        )
        received.store_copies([copy], received_from="EMRN-HUB")

    receive(1, "public")
    query = "changed_since=2026-01-01T00:00:00Z&include_withdrawn=1"
    assert [item["title"] for item in listed(anon_client, query)] == ["Received"]
    receive(2, "network")

    assert UseCase.history.filter(uid=uid).count() == 0
    assert listed(anon_client, query) == []
    member_login(anon_client)
    assert [(item["title"], item["version"]) for item in listed(anon_client, query)] == [
        ("Received", 2)
    ]


# ---- documented -------------------------------------------------------------------------------


def test_the_schema_documents_both_parameters_and_the_withdrawal_item(db, anon_client):
    schema = anon_client.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/use-cases/"]["get"]
    names = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert names["changed_since"]["schema"]["format"] == "date-time"
    assert names["include_withdrawn"]["schema"]["type"] == "boolean"
    withdrawal = schema["components"]["schemas"]["Withdrawal"]
    assert set(withdrawal["required"]) == {"origin", "uid", "version", "modified", "withdrawn"}
