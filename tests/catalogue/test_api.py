"""The catalogue REST API: visibility tiers, filters, search, pagination, details, errors."""

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection

from registry.validation import NETWORK_ONLY_FIELDS
from tests.catalogue.conftest import basic_auth
from tests.factories import UseCaseFactory

LIST = "/api/v1/use-cases/"


def visible(rows, *, network: bool):
    levels = {"public", "network"} if network else {"public"}
    return [row for row in rows if row.publication_level in levels]


def keys(rows) -> set[tuple[str, str]]:
    return {(row.origin_id, str(row.uid)) for row in rows}


def result_keys(results) -> set[tuple[str, str]]:
    return {(item["origin"], item["uid"]) for item in results}


def fetch_all(client, url: str, **params) -> list[dict]:
    """Follow `next` to the end (bounded)."""
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    items = list(response.json()["results"])
    for _ in range(1000):
        next_url = response.json()["next"]
        if next_url is None:
            return items
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        items.extend(response.json()["results"])
    raise AssertionError("pagination did not end")


# ---- visibility -------------------------------------------------------------------------------


def test_anonymous_visitors_see_public_records_without_network_fields(anon_client, catalogue):
    items = fetch_all(anon_client, LIST, page_size=200)

    assert result_keys(items) == keys(visible(catalogue, network=False))
    for item in items:
        assert item["publication_level"] == "public"
        assert not NETWORK_ONLY_FIELDS & set(item)


def test_authenticated_users_see_network_records_and_network_fields(member_client, catalogue):
    items = fetch_all(member_client, LIST, page_size=200)

    assert result_keys(items) == keys(visible(catalogue, network=True))
    assert {item["publication_level"] for item in items} == {"public", "network"}
    assert all(set(item) >= NETWORK_ONLY_FIELDS for item in items)


def test_the_admin_session_authenticates_too(client, member, catalogue):
    client.force_login(member)
    items = client.get(LIST, {"page_size": 200}).json()["results"]

    assert result_keys(items) == keys(visible(catalogue, network=True))


def test_wrong_basic_credentials_are_a_401_problem(anon_client, catalogue):
    anon_client.credentials(HTTP_AUTHORIZATION=basic_auth("member", "wrong"))

    response = anon_client.get(LIST)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("level", ["draft", "internal"])
def test_drafts_and_internal_records_never_appear_in_the_catalogue(member_client, catalogue, level):
    hidden = [row for row in catalogue if row.publication_level == level]
    assert hidden
    listed = fetch_all(member_client, LIST, page_size=200)
    exported = member_client.get(f"{LIST}export.json")
    facets = member_client.get("/api/v1/facets/").json()

    assert not result_keys(listed) & keys(hidden)
    assert not result_keys(_streamed_json(exported)) & keys(hidden)
    assert facets["facets"]["publication_level"][level] == 0
    for row in hidden:
        detail = member_client.get(f"{LIST}{row.origin_id}/{row.uid}/")
        assert detail.status_code == 404
        assert detail["Content-Type"] == "application/problem+json"


def test_a_network_record_is_not_found_for_anonymous_visitors(
    anon_client, member_client, catalogue
):
    row = next(row for row in catalogue if row.publication_level == "network")
    url = f"{LIST}{row.origin_id}/{row.uid}/"

    assert anon_client.get(url).status_code == 404
    assert member_client.get(url).status_code == 200


def test_a_received_copy_shows_its_origin_and_provenance(anon_client, catalogue):
    row = next(r for r in visible(catalogue, network=False) if r.origin_id != settings.NODE_AGENCY)

    data = anon_client.get(f"{LIST}{row.origin_id}/{row.uid}/").json()

    assert data["origin"] == row.origin_id
    assert data["uid"] == str(row.uid)
    assert data["version"] == row.version
    assert data["agency_name"] == row.origin.name
    assert data["country"] == row.origin.country
    assert data["received_from"] == "EMRN-HUB"
    assert data["received_at"] == "2026-03-01T00:00:00Z"
    assert data["title"] == row.title
    assert data["techniques"] == row.techniques
    assert "hosting" not in data


# ---- filters ----------------------------------------------------------------------------------

ENUM_FILTERS = [
    "stage",
    "ai_act_risk",
    "ai_act_role",
    "medicine_scope",
    "workplan_area",
    "personal_data",
    "dpia_status",
    "human_oversight",
    "sourcing",
    "hosting",
    "publication_level",
]


@pytest.mark.parametrize("field", ENUM_FILTERS)
def test_each_enumerated_field_filters_and_several_values_mean_or(member_client, catalogue, field):
    shown = visible(catalogue, network=True)
    values = sorted({getattr(row, field) for row in shown if getattr(row, field)})[:2]

    one = fetch_all(member_client, LIST, **{field: values[0], "page_size": 200})
    both = fetch_all(member_client, LIST, **{field: ",".join(values), "page_size": 200})
    repeated = fetch_all(member_client, LIST, **{field: values, "page_size": 200})

    assert result_keys(one) == keys(r for r in shown if getattr(r, field) == values[0])
    assert result_keys(both) == keys(r for r in shown if getattr(r, field) in values)
    assert result_keys(repeated) == result_keys(both)
    assert len(one) < len(both) <= len(shown)


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("techniques", ["machine_learning"]),
        ("techniques", ["generative_llm", "machine_learning"]),
        ("regulatory_processes", ["scientific_advice"]),
        ("regulatory_processes", ["inspections", "shortages"]),
        ("outputs", ["generated_content"]),
    ],
)
def test_list_fields_filter_by_containment(anon_client, catalogue, field, values):
    shown = visible(catalogue, network=False)

    items = fetch_all(anon_client, LIST, **{field: ",".join(values), "page_size": 200})

    expected = [r for r in shown if set(values) & set(getattr(r, field))]
    assert expected
    assert result_keys(items) == keys(expected)


def test_agency_and_country_filter_by_the_origin(anon_client, catalogue):
    shown = visible(catalogue, network=False)

    by_agency = fetch_all(anon_client, LIST, agency="de-bfarm,FR-ANSM", page_size=200)
    by_country = fetch_all(anon_client, LIST, country="NL", page_size=200)

    assert result_keys(by_agency) == keys(
        r for r in shown if r.origin_id in {"DE-BFARM", "FR-ANSM"}
    )
    assert result_keys(by_country) == keys(r for r in shown if r.origin.country == "NL")


def test_filters_combine_with_and(anon_client, catalogue):
    shown = visible(catalogue, network=False)

    items = fetch_all(anon_client, LIST, techniques="nlp", agency="DE-BFARM", page_size=200)

    expected = [r for r in shown if "nlp" in r.techniques and r.origin_id == "DE-BFARM"]
    assert result_keys(items) == keys(expected)


def test_date_ranges_include_both_ends(anon_client, catalogue):
    shown = visible(catalogue, network=False)
    low, high = dt.date(2023, 3, 1), dt.date(2023, 6, 1)

    items = fetch_all(
        anon_client, LIST, started_on_after=low, started_on_before=high, page_size=200
    )
    modified = fetch_all(anon_client, LIST, modified_before="2026-01-10", page_size=200)

    assert result_keys(items) == keys(r for r in shown if low <= r.started_on <= high)
    assert result_keys(modified) == keys(
        r for r in shown if r.modified.date() <= dt.date(2026, 1, 10)
    )


def test_operational_since_range_leaves_out_records_without_the_date(anon_client, catalogue):
    shown = visible(catalogue, network=False)

    items = fetch_all(anon_client, LIST, operational_since_after="2000-01-01", page_size=200)

    assert result_keys(items) == keys(r for r in shown if r.operational_since)


@pytest.mark.parametrize("field", ["affects_individuals", "reusable"])
def test_boolean_filters(anon_client, catalogue, field):
    shown = visible(catalogue, network=False)

    yes = fetch_all(anon_client, LIST, **{field: "true", "page_size": 200})
    no = fetch_all(anon_client, LIST, **{field: "false", "page_size": 200})

    assert result_keys(yes) == keys(r for r in shown if getattr(r, field) is True)
    assert result_keys(no) == keys(r for r in shown if getattr(r, field) is False)


def test_network_only_fields_filter_for_members_but_not_for_anonymous(
    anon_client, member_client, catalogue
):
    shown = visible(catalogue, network=True)

    refused = anon_client.get(LIST, {"uses_gpai": "true"})
    items = fetch_all(member_client, LIST, uses_gpai="true", page_size=200)

    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"uses_gpai"}
    assert result_keys(items) == keys(r for r in shown if r.uses_gpai)


# ---- search -----------------------------------------------------------------------------------


def test_search_finds_matching_records_with_highlighted_escaped_snippets(anon_client, catalogue):
    shown = visible(catalogue, network=False)

    items = fetch_all(anon_client, LIST, search="documents", page_size=200)

    assert result_keys(items) == keys(r for r in shown if "documents" in r.description)
    for item in items:
        assert "<mark>documents</mark>" in item["snippet"].lower()
        assert "<b>" not in item["snippet"]
        assert "&amp; extracts" in item["snippet"]


def test_search_ranks_title_matches_above_text_matches(anon_client, agencies):
    UseCaseFactory(
        publication_level="public",
        title="Assessment helper",
        summary="Something else.",
        description="Mentions pharmacovigilance once.",
    )
    best = UseCaseFactory(
        publication_level="public",
        title="Pharmacovigilance signal triage",
        summary="Pharmacovigilance screening.",
    )

    items = anon_client.get(LIST, {"search": "pharmacovigilance"}).json()["results"]

    assert len(items) == 2
    assert items[0]["uid"] == str(best.uid)


def test_search_pages_run_from_title_matches_to_text_matches_without_gaps(anon_client, agencies):
    """PostgreSQL reads a ranked page from the title matches first and from the others only when
    those run out (catalogue.selectors._first_rows): pages across that seam lose nothing."""
    in_title = [
        UseCaseFactory(publication_level="public", title=f"Pharmacovigilance helper {i}")
        for i in range(3)
    ]
    in_text = [
        UseCaseFactory(
            publication_level="public",
            title=f"Assessment helper {i}",
            summary="Pharmacovigilance screening for pharmacovigilance teams.",
            description="Pharmacovigilance, pharmacovigilance and pharmacovigilance.",
        )
        for i in range(3)
    ]

    items = fetch_all(anon_client, LIST, search="pharmacovigilance", page_size=2)

    uids = [item["uid"] for item in items]
    assert len(uids) == len(set(uids)) == 6
    assert set(uids[:3]) == {str(uc.uid) for uc in in_title}
    assert set(uids[3:]) == {str(uc.uid) for uc in in_text}


def test_search_combines_with_filters_and_pages_without_duplicates(anon_client, catalogue):
    shown = visible(catalogue, network=False)

    items = fetch_all(anon_client, LIST, search="catalogue", techniques="nlp", page_size=2)

    assert len(items) == len(result_keys(items))
    assert result_keys(items) == keys(r for r in shown if "nlp" in r.techniques)


def test_search_never_matches_network_only_text(anon_client, member_client, catalogue):
    assert anon_client.get(LIST, {"search": "risk note"}).json()["results"] == []
    assert member_client.get(LIST, {"search": "risk note"}).json()["results"] == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="stemming is PostgreSQL's")
def test_search_on_postgresql_stems_and_understands_websearch_syntax(anon_client, catalogue):
    shown = visible(catalogue, network=False)

    stemmed = fetch_all(anon_client, LIST, search="summarising inspection", page_size=200)
    phrase_or = fetch_all(anon_client, LIST, search='"clinical trial" or shortage', page_size=200)

    assert result_keys(stemmed) == keys(r for r in shown if "Inspection report" in r.title)
    assert result_keys(phrase_or) == keys(
        r for r in shown if "Clinical trial" in r.title or "Shortage" in r.title
    )


# ---- ordering and pagination ------------------------------------------------------------------


@pytest.mark.parametrize(
    "ordering",
    [
        "title",
        "-title",
        "modified",
        "-modified",
        "created",
        "agency",
        "-stage",
        "ai_act_risk",
        "operational_since",
        "-operational_since",
    ],
)
def test_following_next_visits_every_record_once_in_order(member_client, catalogue, ordering):
    items = fetch_all(member_client, LIST, ordering=ordering, page_size=3)

    assert len(items) == len(visible(catalogue, network=True))
    assert result_keys(items) == keys(visible(catalogue, network=True))
    if ordering.lstrip("-") in {"title", "modified"}:
        values = [item[ordering.lstrip("-")] for item in items]
        assert values == sorted(values, reverse=ordering.startswith("-"))


def test_page_size_is_capped_at_200(anon_client, agencies):
    for i in range(205):
        UseCaseFactory(publication_level="public", title=f"Bulk {i:03d}")

    response = anon_client.get(LIST, {"page_size": 100000})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 200
    assert response.json()["next"] is not None


# ---- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"stage": "finished"}, "stage"),
        ({"techniques": "nlp,telepathy"}, "techniques"),
        ({"started_on_after": "2026-13-01"}, "started_on_after"),
        ({"modified_before": "yesterday"}, "modified_before"),
        ({"reusable": "maybe"}, "reusable"),
        ({"cursor": "garbage!!"}, "cursor"),
        ({"cursor": "WyJ0aXRsZSIsMSwyXQ"}, "cursor"),
        ({"ordering": "uid"}, "ordering"),
        ({"page_size": "ten"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"search": "x" * 600}, "search"),
        ({"hosting": "saas"}, "hosting"),
    ],
)
def test_bad_parameters_are_400_problems_naming_the_parameter(
    anon_client, catalogue, params, field
):
    response = anon_client.get(LIST, params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400
    assert body["title"] == "Bad Request"
    assert field in body["errors"]


def test_a_cursor_for_another_ordering_is_refused(anon_client, catalogue):
    next_url = anon_client.get(LIST, {"page_size": 2}).json()["next"]
    cursor = next_url.split("cursor=")[1].split("&")[0]

    response = anon_client.get(LIST, {"ordering": "-modified", "cursor": cursor})

    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


@pytest.mark.parametrize(
    ("ordering", "payload"),
    [
        ("title", ["title", "\ud800", 1]),
        ("title", ["title", "A", 2**70]),
        ("title", ["title", "A", -1]),
        ("modified", ["modified", "0001-01-01T00:00:00+05:00", 1]),
        ("modified", ["modified", "2026-01-01T00:00:00", 1]),
        ("stage", ["stage", 2**40, 1]),
        ("relevance", ["relevance", "high", 1]),
    ],
)
def test_forged_cursors_are_400_problems(anon_client, catalogue, ordering, payload):
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")

    response = anon_client.get(LIST, {"ordering": ordering, "cursor": cursor, "search": "x"})

    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


def test_nul_bytes_in_any_parameter_are_a_400_not_a_crash(anon_client, catalogue):
    for params in ({"search": "a\x00b"}, {"agency": "A\x00"}, {"stage": "\x00"}):
        assert anon_client.get(LIST, params).status_code == 400


def test_unknown_api_paths_are_404_problems(anon_client):
    response = anon_client.get("/api/v1/nothing/here/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_a_detail_path_with_a_bad_uid_is_a_404_problem(anon_client, catalogue):
    response = anon_client.get(f"{LIST}EMA/not-a-uuid/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_anonymous_clients_are_throttled_with_a_problem_and_retry_after(
    anon_client, member_client, catalogue, settings
):
    settings.API_ANON_THROTTLE = "3/min"

    statuses = [anon_client.get("/api/v1/agencies/").status_code for _ in range(4)]
    member_statuses = [member_client.get("/api/v1/agencies/").status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429]
    assert member_statuses == [200] * 5
    throttled = anon_client.get(LIST)
    assert throttled.status_code == 429
    assert throttled["Content-Type"] == "application/problem+json"
    assert int(throttled["Retry-After"]) > 0
    assert throttled.json()["status"] == 429


# ---- similar ----------------------------------------------------------------------------------


def test_similar_use_cases_come_from_other_agencies(member_client, catalogue):
    row = next(r for r in catalogue if r.publication_level == "public")

    items = member_client.get(f"{LIST}{row.origin_id}/{row.uid}/similar/").json()["results"]

    assert items
    assert all(item["origin"] != row.origin_id for item in items)
    assert all(item["publication_level"] in {"public", "network"} for item in items)


def _streamed_json(response):
    import json

    return json.loads(b"".join(response.streaming_content))


def test_similar_use_cases_rank_the_closest_title_first(anon_client, agencies):
    de, fr, nl = agencies[1], agencies[2], agencies[3]
    mine = UseCaseFactory(origin=de, publication_level="public", title="Adverse reaction coding")
    close = UseCaseFactory(
        origin=fr, publication_level="public", title="Coding of adverse reaction reports"
    )
    UseCaseFactory(origin=nl, publication_level="network", title="Adverse reaction coding tool")

    items = anon_client.get(f"{LIST}{mine.origin_id}/{mine.uid}/similar/").json()["results"]

    assert [item["uid"] for item in items][:1] == [str(close.uid)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pairs of title words: PostgreSQL")
def test_similar_use_cases_need_two_shared_title_words_on_postgresql(anon_client, agencies):
    de, fr = agencies[1], agencies[2]
    mine = UseCaseFactory(origin=de, publication_level="public", title="Adverse reaction coding")
    UseCaseFactory(origin=fr, publication_level="public", title="Medical coding helper")
    pair = UseCaseFactory(origin=fr, publication_level="public", title="Reaction coding at scale")

    items = anon_client.get(f"{LIST}{mine.origin_id}/{mine.uid}/similar/").json()["results"]

    assert [item["uid"] for item in items] == [str(pair.uid)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pairs of title stems: PostgreSQL")
def test_two_words_of_one_stem_count_as_one_shared_word(anon_client, agencies):
    """ "Generative" and "generation" are one stem: a title sharing only that stem is not
    similar, however many of its words carry it."""
    de, fr = agencies[1], agencies[2]
    mine = UseCaseFactory(
        origin=de, publication_level="public", title="Generative text generation assistant"
    )
    UseCaseFactory(origin=fr, publication_level="public", title="Generation of inspection letters")
    pair = UseCaseFactory(
        origin=fr, publication_level="public", title="Assistant for text summaries"
    )

    items = anon_client.get(f"{LIST}{mine.origin_id}/{mine.uid}/similar/").json()["results"]

    assert [item["uid"] for item in items] == [str(pair.uid)]
