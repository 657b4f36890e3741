"""Overdue reviews in the catalogue: the review_overdue filter (pages, API, exports, statistics),
its box and count in the filter column, the badge on result cards, the notice on the use-case
page, an agency's count with its link; all as of the server's date, never yesterday's answer."""

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from catalogue import selectors
from tests.factories import AgencyFactory, UseCaseFactory

TODAY = timezone.localdate()
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture
def reviews(db):
    """Public records of two agencies whose review falls on each side of today."""
    home = AgencyFactory(code=settings.NODE_AGENCY, name="European Medicines Agency", country="EU")
    other = AgencyFactory(code="DE-BFARM", name="BfArM", country="DE")

    def record(title, origin=home, **fields):
        return UseCaseFactory(origin=origin, title=title, publication_level="public", **fields)

    return {
        "yesterday": record("Due yesterday", next_review_on=YESTERDAY),
        "today": record("Due today", next_review_on=TODAY),
        "tomorrow": record("Due tomorrow", next_review_on=TODAY + dt.timedelta(days=1)),
        "undated": record("Never reviewed", next_review_on=None),
        "retired": record(
            "Retired long ago",
            stage="retired",
            retired_on=dt.date(2025, 6, 1),
            next_review_on=dt.date(2025, 7, 1),
        ),
        "long_overdue": record("Due in March 2025", next_review_on=dt.date(2025, 3, 1)),
        "other_overdue": record("Overdue at BfArM", origin=other, next_review_on=YESTERDAY),
        "network_overdue": UseCaseFactory(
            origin=other,
            title="Network-only overdue",
            publication_level="network",
            next_review_on=YESTERDAY,
        ),
    }


OVERDUE = {"yesterday", "long_overdue", "other_overdue"}
PUBLIC = {"yesterday", "today", "tomorrow", "undated", "retired", "long_overdue", "other_overdue"}


def titles(reviews, keys) -> set[str]:
    return {reviews[key].title for key in keys}


def api_titles(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["title"] for row in response.json()["results"]}


def page_titles(response) -> set[str]:
    assert response.status_code == 200, response.content
    return set(re.findall(r'<h3><a href="/use-cases/[^"]+">([^<]+)</a></h3>', response.text))


def at(monkeypatch, moment: dt.datetime) -> None:
    """The server's clock reads moment (timezone.localdate and localtime follow now)."""
    monkeypatch.setattr(timezone, "now", lambda: moment)


# ---- the filter -------------------------------------------------------------------------------


def test_the_api_lists_only_records_whose_review_date_has_passed(anon_client, reviews):
    response = anon_client.get("/api/v1/use-cases/?review_overdue=1&page_size=200")

    assert api_titles(response) == titles(reviews, OVERDUE)
    assert all("review_overdue" in row["compliance"] for row in response.json()["results"])


def test_not_overdue_is_every_other_record_dates_missing_and_retired_included(anon_client, reviews):
    response = anon_client.get("/api/v1/use-cases/?review_overdue=0&page_size=200")

    assert api_titles(response) == titles(reviews, PUBLIC - OVERDUE)


@pytest.mark.parametrize(
    ("key", "overdue"),
    [("yesterday", True), ("today", False), ("retired", False), ("undated", False)],
)
def test_a_review_is_overdue_from_the_day_after_its_date_and_never_once_retired(
    anon_client, reviews, key, overdue
):
    listed = api_titles(anon_client.get("/api/v1/use-cases/?review_overdue=true&page_size=200"))

    assert (reviews[key].title in listed) is overdue


def test_network_members_filter_network_records_too(member_client, reviews):
    response = member_client.get("/api/v1/use-cases/?review_overdue=yes&page_size=200")

    assert api_titles(response) == titles(reviews, OVERDUE | {"network_overdue"})


def test_the_filter_combines_with_the_others(anon_client, reviews):
    response = anon_client.get("/api/v1/use-cases/?review_overdue=1&agency=DE-BFARM")

    assert api_titles(response) == titles(reviews, {"other_overdue"})


@pytest.mark.parametrize("export", ["csv", "json"])
def test_exports_hold_only_the_overdue_records(anon_client, reviews, export):
    response = anon_client.get(f"/api/v1/use-cases/export.{export}?review_overdue=1")

    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    if export == "json":
        exported = {row["title"] for row in json.loads(body)}
    else:
        exported = {row["title"] for row in csv.DictReader(io.StringIO(body))}
    assert exported == titles(reviews, OVERDUE)


def test_statistics_count_only_the_overdue_records(anon_client, reviews):
    stats = anon_client.get("/api/v1/stats/?review_overdue=1").json()

    assert stats["total"] == len(OVERDUE)
    assert stats["quality"]["overall"]["flags"]["review_overdue"] == len(OVERDUE)
    assert {row["code"]: row["count"] for row in stats["by_agency"]} == {"EMA": 2, "DE-BFARM": 1}


@pytest.mark.parametrize("value", ["maybe", "2", "1,0"])
@pytest.mark.parametrize(
    "url",
    ["/api/v1/use-cases/", "/api/v1/stats/", "/api/v1/facets/", "/api/v1/use-cases/export.csv"],
)
def test_a_bad_value_answers_400_naming_the_parameter(anon_client, reviews, url, value):
    response = anon_client.get(f"{url}?review_overdue={value}")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "review_overdue" in response.json()["errors"]


def test_a_bad_value_on_the_catalogue_page_answers_400(client, reviews):
    response = client.get("/?review_overdue=maybe")

    assert response.status_code == 400
    assert "review_overdue" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/use-cases/",
        "/api/v1/use-cases/export.csv",
        "/api/v1/use-cases/export.json",
        "/api/v1/stats/",
        "/api/v1/facets/",
    ],
)
def test_the_schema_documents_the_filter_as_a_boolean(client, path):
    schema = client.get("/api/schema/?format=json").json()

    parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
    assert parameters["review_overdue"]["schema"]["type"] == "boolean"
    assert "retired" in parameters["review_overdue"]["description"]


@pytest.mark.parametrize(
    "params",
    [
        {"review_overdue": "1"},
        {"review_overdue": "0", "stage": "pilot"},
        {"review_overdue": "1", "agency": "EMA", "search": "due"},
        {"review_overdue": "false", "reusable": "false"},
    ],
)
def test_the_in_memory_total_equals_the_databases(reviews, params):
    user = AnonymousUser()
    search = params.pop("search", "")
    filtered = selectors.filter_use_cases(
        selectors.visible_use_cases(user=user), params=params, user=user
    )
    expected = selectors.search_use_cases(filtered, query=search).count()

    _, total = selectors.catalogue_facet_counts(
        params=params, search=search, user=user, fields=("stage",)
    )

    assert total == expected


# ---- the catalogue page -----------------------------------------------------------------------


def test_the_catalogue_page_filters_on_review_overdue(client, reviews):
    assert page_titles(client.get("/?review_overdue=1")) == titles(reviews, OVERDUE)
    assert page_titles(client.get("/?review_overdue=0")) == titles(reviews, PUBLIC - OVERDUE)


def overdue_box(response) -> re.Match:
    match = re.search(
        r'<input type="checkbox" id="(f-review_overdue-1)" name="review_overdue" value="1"'
        r'( checked)?>\s*<label for="f-review_overdue-1">Review overdue '
        r'<span class="count">(\d+)<',
        response.text,
    )
    assert match, "no Review overdue box"
    return match


def test_the_filter_column_has_a_review_overdue_box_with_its_count(client, reviews):
    response = client.get("/")

    box = overdue_box(response)
    assert box.group(2) is None
    assert int(box.group(3)) == len(OVERDUE)


def test_the_box_counts_within_the_other_filters(client, reviews):
    box = overdue_box(client.get("/?agency=DE-BFARM"))

    assert int(box.group(3)) == 1


def test_a_ticked_box_stays_ticked_and_its_filter_can_be_removed(client, reviews):
    response = client.get("/?review_overdue=1&agency=EMA")

    box = overdue_box(response)
    assert box.group(2) == " checked"
    assert int(box.group(3)) == 2
    assert "Remove filter: Review overdue: yes" in response.text


def test_with_not_overdue_chosen_the_box_still_counts_the_overdue_records(client, reviews):
    response = client.get("/?review_overdue=0")

    box = overdue_box(response)
    assert box.group(2) is None
    assert int(box.group(3)) == len(OVERDUE)
    assert "Remove filter: Review overdue: no" in response.text


def test_result_cards_of_overdue_records_carry_a_badge(client, reviews):
    response = client.get("/?sort=title")

    cards = re.findall(r'<li class="result">(.*?)</li>\s*</ul>', response.text, flags=re.S)
    badged = {
        re.search(r'">([^<]+)</a></h3>', card).group(1)
        for card in cards
        if '<span class="badge overdue">review overdue</span>' in card
    }
    assert len(cards) == len(PUBLIC)
    assert badged == titles(reviews, OVERDUE)


# ---- the use-case page ------------------------------------------------------------------------


def use_case_page(client, use_case):
    response = client.get(f"/use-cases/{use_case.origin_id}/{use_case.uid}/")
    assert response.status_code == 200
    return response.text


def test_an_overdue_record_shows_since_when_near_the_top(client, reviews):
    text = use_case_page(client, reviews["long_overdue"])

    notice = 'Review overdue since <time datetime="2025-03-01">1 March 2025</time>'
    assert notice in text
    assert text.index(notice) < text.index('id="provenance-heading"')


@pytest.mark.parametrize("key", ["today", "retired", "undated"])
def test_a_record_not_overdue_shows_no_notice(client, reviews, key):
    assert "Review overdue since" not in use_case_page(client, reviews[key])


# ---- the agency page --------------------------------------------------------------------------


def test_the_agency_page_counts_its_overdue_records_and_links_to_them(client, reviews):
    response = client.get(f"/agencies/{settings.NODE_AGENCY}/")

    link = re.search(
        r'<dd class="overdue-count"><a href="([^"]+)">(\d+) use cases past their review date',
        response.text,
    )
    assert link, "no overdue count"
    assert int(link.group(2)) == 2
    url = link.group(1).replace("&amp;", "&")
    assert url == f"/?agency={settings.NODE_AGENCY}&review_overdue=1"
    assert page_titles(client.get(url)) == titles(reviews, {"yesterday", "long_overdue"})


def test_an_agency_without_overdue_records_says_none(client, db):
    agency = AgencyFactory(code="FR-ANSM", name="ANSM", country="FR")
    UseCaseFactory(origin=agency, publication_level="public", next_review_on=TODAY)

    response = client.get("/agencies/FR-ANSM/")

    assert '<dd class="overdue-count">none</dd>' in response.text


# ---- the response cache and midnight ----------------------------------------------------------

DUE = dt.date(2030, 6, 10)
BEFORE_MIDNIGHT = dt.datetime(2030, 6, 10, 23, 59, 45, tzinfo=dt.UTC)
AFTER_MIDNIGHT = dt.datetime(2030, 6, 11, 0, 0, 5, tzinfo=dt.UTC)
NOON = dt.datetime(2030, 6, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def due_on_the_day(db, settings):
    settings.CATALOGUE_CACHE_SECONDS = 30
    home = AgencyFactory(code=settings.NODE_AGENCY, name="European Medicines Agency", country="EU")
    return UseCaseFactory(
        origin=home, title="Due on the day", publication_level="public", next_review_on=DUE
    )


def answer(client, kind: str, use_case) -> bool:
    """Whether the answer of kind says the record's review is overdue."""
    if kind == "page":
        return use_case.title in page_titles(client.get("/?review_overdue=1"))
    if kind == "api":
        return use_case.title in api_titles(client.get("/api/v1/use-cases/?review_overdue=1"))
    if kind == "stats":
        return client.get("/api/v1/stats/?review_overdue=1").json()["total"] == 1
    return "Review overdue since" in use_case_page(client, use_case)


@pytest.mark.parametrize("kind", ["page", "api", "stats", "use-case page"])
def test_an_answer_cached_before_midnight_is_not_served_after_it(
    client, monkeypatch, due_on_the_day, kind
):
    at(monkeypatch, BEFORE_MIDNIGHT)
    assert answer(client, kind, due_on_the_day) is False

    at(monkeypatch, AFTER_MIDNIGHT)
    assert answer(client, kind, due_on_the_day) is True


@pytest.mark.parametrize("url", ["/?review_overdue=1", "/api/v1/use-cases/?review_overdue=1"])
def test_during_the_day_an_anonymous_repeat_still_comes_from_the_cache(
    client, monkeypatch, due_on_the_day, url, django_assert_num_queries
):
    at(monkeypatch, NOON)
    first = client.get(url)

    with django_assert_num_queries(0):
        again = client.get(url)

    assert first.status_code == again.status_code == 200
    assert again.content == first.content
