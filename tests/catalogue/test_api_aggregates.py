"""Facets, statistics and agencies, checked against counts computed here from the rows."""

from collections import Counter

import pytest
from django.core.cache import cache

from catalogue import counts
from registry import vocabularies as v
from tests.catalogue.test_api import visible
from tests.factories import UseCaseFactory

SCALAR_FACETS = [
    "stage",
    "ai_act_risk",
    "ai_act_role",
    "medicine_scope",
    "workplan_area",
    "personal_data",
    "dpia_status",
    "human_oversight",
    "sourcing",
    "publication_level",
]
LIST_FACETS = ["techniques", "regulatory_processes", "outputs"]


def count_values(rows, field: str) -> Counter:
    counter = Counter()
    for row in rows:
        value = getattr(row, field)
        for item in value if isinstance(value, list) else [value]:
            if item:
                counter[item] += 1
    return counter


@pytest.mark.parametrize("network", [False, True])
def test_facets_count_every_value_of_the_visible_records(
    anon_client, member_client, catalogue, network
):
    client = member_client if network else anon_client
    shown = visible(catalogue, network=network)

    body = client.get("/api/v1/facets/").json()

    assert body["total"] == len(shown)
    facets = body["facets"]
    for field in SCALAR_FACETS + LIST_FACETS:
        expected = count_values(shown, field)
        assert {k: n for k, n in facets[field].items() if n} == dict(expected), field
    assert facets["agency"] == dict(Counter(r.origin_id for r in shown))
    assert facets["country"] == dict(Counter(r.origin.country for r in shown))
    assert ("hosting" in facets) is network


def test_facets_list_every_code_in_vocabulary_order(anon_client, catalogue):
    facets = anon_client.get("/api/v1/facets/").json()["facets"]

    assert list(facets["stage"]) == list(v.Stage.values)
    assert list(facets["techniques"]) == list(v.Technique.values)


def test_facets_follow_the_filters(anon_client, catalogue):
    shown = [r for r in visible(catalogue, network=False) if r.origin_id == "DE-BFARM"]

    body = anon_client.get("/api/v1/facets/", {"agency": "DE-BFARM"}).json()

    assert body["total"] == len(shown)
    assert {k: n for k, n in body["facets"]["stage"].items() if n} == dict(
        count_values(shown, "stage")
    )


def test_stats_match_independent_counts(member_client, catalogue):
    shown = visible(catalogue, network=True)

    stats = member_client.get("/api/v1/stats/").json()

    assert stats["total"] == len(shown)
    assert {a["code"]: a["count"] for a in stats["by_agency"]} == dict(
        Counter(r.origin_id for r in shown)
    )
    assert {k: n for k, n in stats["by_stage"].items() if n} == dict(count_values(shown, "stage"))
    assert {k: n for k, n in stats["by_risk"].items() if n} == dict(
        count_values(shown, "ai_act_risk")
    )
    assert {k: n for k, n in stats["by_technique"].items() if n} == dict(
        count_values(shown, "techniques")
    )
    assert {k: n for k, n in stats["by_process"].items() if n} == dict(
        count_values(shown, "regulatory_processes")
    )
    started = Counter(r.started_on.strftime("%Y-%m") for r in shown)
    assert stats["started_by_month"] == [
        {"month": month, "count": started[month]} for month in sorted(started)
    ]
    operational = Counter(
        r.operational_since.strftime("%Y-%m") for r in shown if r.operational_since
    )
    assert stats["operational_by_month"] == [
        {"month": month, "count": operational[month]} for month in sorted(operational)
    ]


def test_agencies_list_counts_only_visible_use_cases(anon_client, member_client, catalogue):
    for client, network in ((anon_client, False), (member_client, True)):
        results = client.get("/api/v1/agencies/").json()["results"]
        expected = Counter(r.origin_id for r in visible(catalogue, network=network))
        assert {a["code"]: a["use_case_count"] for a in results} == {
            code: expected[code] for code in ("DE-BFARM", "EMA", "FR-ANSM", "NL-CBG-MEB")
        }
        assert {a["code"]: a["country"] for a in results}["FR-ANSM"] == "FR"


def test_schema_and_its_documentation_pages_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    swagger = client.get("/api/schema/swagger/")
    redoc = client.get("/api/schema/redoc/")

    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/v1/use-cases/" in schema.json()["paths"]
    for page in (swagger, redoc):
        assert page.status_code == 200
        html = page.content.decode()
        assert "cdn." not in html
        assert "drf_spectacular_sidecar" in html


def test_counts_are_fresh_after_any_change_once_the_stamp_expires(anon_client, catalogue, settings):
    settings.CATALOGUE_CACHE_SECONDS = 0  # whole responses would lag too: tested on their own
    before = anon_client.get("/api/v1/facets/").json()
    stats_before = anon_client.get("/api/v1/stats/").json()
    UseCaseFactory(publication_level="public", stage="idea")
    cache.delete(counts.STAMP_KEY)  # what STAMP_SECONDS passing does

    after = anon_client.get("/api/v1/facets/").json()
    stats_after = anon_client.get("/api/v1/stats/").json()

    assert after["total"] == before["total"] + 1
    assert after["facets"]["stage"]["idea"] == before["facets"]["stage"]["idea"] + 1
    assert stats_after["total"] == stats_before["total"] + 1


def test_the_catalogue_stamp_is_reused_for_stamp_seconds_then_follows_changes(catalogue):
    first = counts.catalogue_stamp()
    UseCaseFactory(publication_level="public", stage="idea")

    within = counts.catalogue_stamp()
    cache.delete(counts.STAMP_KEY)
    after = counts.catalogue_stamp()

    assert within == first
    assert after != first
