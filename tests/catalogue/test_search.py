"""Search through the API and the catalogue page, and refused parameters (issue 11, 12.6).

These run on whichever database the suite runs on (CI: SQLite, then PostgreSQL)."""

import html
import re

import pytest
from django.urls import reverse

from catalogue.filters import FILTERS
from tests.factories import UseCaseFactory

LIST = "/api/v1/use-cases/"
PAGE = reverse("catalogue:home")
NEUTRAL = {
    "publication_level": "public",
    "description": "",
    "purpose": "",
    "benefits": "",
    "business_unit": "",
    "tags": [],
    "data_sources": [],
}


@pytest.fixture(autouse=True)
def no_response_cache(settings):
    settings.CATALOGUE_CACHE_SECONDS = 0


@pytest.fixture
def records(agencies):
    return {
        "de": UseCaseFactory(
            **NEUTRAL,
            language="de",
            title="Überwachung von Nebenwirkungen",
            title_en="Adverse reaction monitoring",
            summary="Meldungen werden automatisch geprüft.",
        ),
        "mt": UseCaseFactory(
            **NEUTRAL,
            title="Machine translation of product information",
            summary="Translates texts.",
        ),
        "inspection": UseCaseFactory(
            **NEUTRAL,
            title="Inspection planning",
            summary="Plans inspections by risk.",
            stage="production",
            operational_since="2025-01-01",
        ),
        "leaflets": UseCaseFactory(
            **NEUTRAL,
            title="Leaflet translation review",
            summary="Checks translated leaflets "
            + "with several more words " * 20
            + "against the database fields.",
        ),
    }


def api_uids(client, **params) -> set[str]:
    response = client.get(LIST, params)
    assert response.status_code == 200, response.content
    return {item["uid"] for item in response.json()["results"]}


def uids(*rows) -> set[str]:
    return {str(row.uid) for row in rows}


@pytest.mark.parametrize("query", ["Überwachung", "ÜBERWACHUNG", "uberwachung"])
def test_the_api_finds_a_title_in_any_case_and_accent(anon_client, records, query):
    assert api_uids(anon_client, search=query) == uids(records["de"])


def test_the_api_understands_or_and_minus_word(anon_client, records):
    either = api_uids(anon_client, search="translation OR inspection")
    without = api_uids(anon_client, search="translation -machine")

    assert either == uids(records["mt"], records["inspection"], records["leaflets"])
    assert without == uids(records["leaflets"])


def test_the_catalogue_page_finds_a_title_in_any_case_and_accent(client, records):
    response = client.get(PAGE, {"search": "ÜBERWACHUNG"})

    assert response.status_code == 200
    assert str(records["de"].uid) in response.text
    assert str(records["mt"].uid) not in response.text


def test_snippets_start_and_end_with_whole_words(anon_client, records):
    item = anon_client.get(LIST, {"search": "database"}).json()["results"][0]

    text = html.unescape(re.sub(r"</?mark>", "", item["snippet"]))
    assert text.startswith("… ") and text.endswith("the database fields.")
    assert text.split()[1] in records["leaflets"].summary.split()
    assert "<mark>database</mark>" in item["snippet"]


def test_a_record_cannot_put_markup_into_the_api_or_the_page(anon_client, client, agencies):
    hostile = "<script>alert(\"x\")</script> </mark> &lt; 'quoted' <mark>signal</mark>"
    UseCaseFactory(**NEUTRAL, title="Hostile text", summary=hostile)

    snippet = anon_client.get(LIST, {"search": "signal"}).json()["results"][0]["snippet"]
    page = client.get(PAGE, {"search": "signal"}).text

    assert re.sub(r"<mark>[^<>]*</mark>", "", snippet).count("<") == 0
    assert "<script>alert" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize(
    "url", [LIST, "/api/v1/facets/", "/api/v1/stats/", "/api/v1/use-cases/export.csv"]
)
def test_an_unknown_api_parameter_is_a_400_naming_the_allowed_ones(anon_client, records, url):
    response = anon_client.get(url, {"stages": "pilot"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    message = response.json()["errors"]["stages"][0]
    assert "stage" in message and "search" in message


def test_the_api_still_accepts_every_parameter_it_documents(anon_client, records):
    first = anon_client.get(LIST, {"page_size": 1, "ordering": "title", "stage": "pilot"})
    cursor = re.search(r"cursor=([^&]+)", first.json()["next"]).group(1)

    following = anon_client.get(
        LIST, {"page_size": 1, "ordering": "title", "stage": "pilot", "cursor": cursor}
    )
    changes = anon_client.get(
        LIST, {"changed_since": "2020-01-01T00:00:00Z", "include_withdrawn": "true"}
    )

    assert following.status_code == 200 and changes.status_code == 200
    assert anon_client.get(LIST, {"search": "leaflet", "stage": "pilot"}).status_code == 200


def test_an_unknown_page_parameter_is_a_400_page_naming_the_allowed_ones(client, records):
    response = client.get(PAGE, {"stages": "pilot", "search": "x"})

    assert response.status_code == 400
    assert "stages" in response.text
    assert all(name in response.text for name in ("search", "sort", "cursor", *FILTERS))


def test_the_catalogue_page_still_accepts_its_own_parameters(client, records):
    response = client.get(
        PAGE, {"search": "translation", "sort": "title", "stage": "pilot", "page": "1"}
    )

    assert response.status_code == 200
