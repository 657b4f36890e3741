"""The catalogue's web pages through the Django test client: every page renders, facets filter,
search highlights, visibility follows the same tiers as the API, unknown or invisible records are
404, charts carry their bars."""

import datetime as dt
import re
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalogue import charts, counts
from registry.models import Agency
from tests.factories import AgencyFactory, UseCaseFactory, UserFactory

SECRET_MITIGATION = "Assessors double-check every ranked signal"
SIGNAL_UID = uuid.UUID("11111111-1111-4111-8111-111111111111")
TRANSLATION_UID = uuid.UUID("22222222-2222-4222-8222-222222222222")
INSPECTION_UID = uuid.UUID("33333333-3333-4333-8333-333333333333")
DRAFT_UID = uuid.UUID("44444444-4444-4444-8444-444444444444")
INTERNAL_UID = uuid.UUID("55555555-5555-4555-8555-555555555555")
FR_SIGNAL_UID = uuid.UUID("66666666-6666-4666-8666-666666666666")
ABSENT_UID = uuid.UUID("99999999-9999-4999-8999-999999999999")


def seed_catalogue() -> dict[str, Agency]:
    """A small network view: own and received records at every publication level."""
    home = AgencyFactory(code=settings.NODE_AGENCY, name="European Medicines Agency", country="EU")
    bfarm = AgencyFactory(code="DE-BFARM", name="Federal Institute for Drugs", country="DE")
    ansm = AgencyFactory(code="FR-ANSM", name="Agence nationale de sécurité", country="FR")
    received = {"received_at": timezone.now(), "received_from": "EMRN-HUB"}
    UseCaseFactory(
        origin=home,
        uid=SIGNAL_UID,
        publication_level="public",
        title="Signal detection assistant for EudraVigilance",
        tags=["signals", "pharmacovigilance"],
        risks_and_mitigations=SECRET_MITIGATION,
        uses_gpai=True,
        gpai_model="Secret-Model 7B",
        related=[
            {"origin": "DE-BFARM", "uid": str(TRANSLATION_UID), "kind": "same_product"},
            {"origin": "IT-AIFA", "uid": str(ABSENT_UID), "kind": "derived_from"},
        ],
    )
    UseCaseFactory(
        origin=bfarm,
        uid=TRANSLATION_UID,
        publication_level="public",
        title="Übersetzung der Produktinformation",
        title_en="Translation of product information",
        language="de",
        tags=["translation"],
        summary="Drafts translations of product information texts for reviewers.",
        description="A large language model proposes translations that linguists correct.",
        purpose="Faster translation of product information.",
        techniques=["generative_llm", "nlp"],
        regulatory_processes=["product_information", "communication_translation"],
        stage="production",
        operational_since="2024-06-01",
        ai_act_risk="limited",
        personal_data="none",
        dpia_status=None,
        **received,
    )
    UseCaseFactory(
        origin=ansm,
        uid=INSPECTION_UID,
        publication_level="network",
        title="Inspection report summarisation",
        summary="Summarises inspection reports for the network's inspectors.",
        regulatory_processes=["inspections"],
        techniques=["generative_llm"],
        stage="development",
        ai_act_risk="high",
        ai_act_justification="Bears on decisions about manufacturers.",
        **received,
    )
    UseCaseFactory(
        origin=ansm,
        uid=FR_SIGNAL_UID,
        publication_level="public",
        title="Signal detection on spontaneous reports",
        summary="Finds disproportionality signals in French spontaneous reports.",
        started_on="2024-01-15",
        **received,
    )
    UseCaseFactory(origin=home, uid=DRAFT_UID, publication_level="draft", title="Draft idea")
    UseCaseFactory(origin=home, uid=INTERNAL_UID, publication_level="internal", title="HR bot")
    return {"home": home, "bfarm": bfarm, "ansm": ansm}


@pytest.fixture(autouse=True)
def fresh_counts_cache():
    """Counts are cached (catalogue.selectors.cached_counts); each test starts without."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def catalogue_data(db):
    return seed_catalogue()


@pytest.fixture
def member_client(client, catalogue_data):
    client.force_login(UserFactory(agency=catalogue_data["home"]))
    return client


def use_case_url(origin: str, uid: uuid.UUID) -> str:
    return reverse("catalogue:use-case", args=[origin, uid])


def result_titles(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<h3><a href="/use-cases/[^"]+">([^<]+)</a></h3>', html)


# ---- every page renders --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/?search=signal",
        "/?stage=pilot&sort=-modified",
        "/agencies/",
        "/agencies/DE-BFARM/",
        "/statistics/",
        f"/use-cases/DE-BFARM/{TRANSLATION_UID}/",
    ],
)
def test_every_page_renders_with_landmarks_and_a_skip_link(client, catalogue_data, url):
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert 'href="#main"' in html and '<main id="main"' in html
    assert html.count("<h1") == 1
    assert '<nav aria-label="Main">' in html


def test_home_page_replaces_the_admin_redirect(client, catalogue_data):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Catalogue" in response.content


def test_every_form_input_has_a_label(client, catalogue_data):
    html = client.get("/?search=signal").content.decode()
    input_ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', html)
    assert input_ids
    for input_id in input_ids:
        assert f'for="{input_id}"' in html, input_id


# ---- catalogue: visibility, facets, search, sorting, paging ----------------------------------


def test_anonymous_visitors_see_only_public_records(client, catalogue_data):
    titles = result_titles(client.get("/"))
    assert sorted(titles) == sorted(
        [
            "Signal detection assistant for EudraVigilance",
            "Signal detection on spontaneous reports",
            "Übersetzung der Produktinformation",
        ]
    )


def test_members_also_see_network_records_but_never_drafts_or_internal(member_client):
    titles = result_titles(member_client.get("/"))
    assert "Inspection report summarisation" in titles
    assert len(titles) == 4
    assert "Draft idea" not in titles and "HR bot" not in titles


def test_facet_checkbox_filters_the_results(client, catalogue_data):
    response = client.get("/", {"agency": "DE-BFARM"})
    assert result_titles(response) == ["Übersetzung der Produktinformation"]
    assert 'name="agency" value="DE-BFARM" checked' in response.content.decode()


def test_facets_show_counts_per_value(client, catalogue_data):
    html = client.get("/").content.decode()
    # Two public records are in pilot (the factory's default stage), one in production.
    assert re.search(r'value="pilot"[^>]*>\s*<label[^>]*>Pilot <span class="count">2<', html)
    assert re.search(
        r'value="production"[^>]*>\s*<label[^>]*>Production <span class="count">1<', html
    )


def test_a_chosen_facet_still_counts_its_other_values(client, catalogue_data):
    html = client.get("/", {"stage": "production"}).content.decode()
    assert re.search(r'value="pilot"[^>]*>\s*<label[^>]*>Pilot <span class="count">2<', html)


def test_values_of_one_facet_combine_with_or_and_facets_with_and(client, catalogue_data):
    either = client.get("/", {"stage": ["pilot", "production"]})
    assert len(result_titles(either)) == 3
    both = client.get("/", {"stage": ["pilot", "production"], "country": "DE"})
    assert result_titles(both) == ["Übersetzung der Produktinformation"]


def test_search_highlights_matches_in_snippets(client, catalogue_data):
    html = client.get("/", {"search": "translations"}).content.decode()
    assert result_titles(client.get("/", {"search": "translations"})) == [
        "Übersetzung der Produktinformation"
    ]
    assert re.search(r"<mark>translations?</mark>", html, re.IGNORECASE)


def test_search_snippets_escape_the_records_text(client, catalogue_data):
    UseCaseFactory(
        origin=catalogue_data["home"],
        publication_level="public",
        title="Escaping check",
        summary="Finds <script>alert(1)</script> tokens",
        description="",
        purpose="Check that tokens are escaped.",
    )
    html = client.get("/", {"search": "tokens"}).content.decode()
    # SQLite escapes the tag; PostgreSQL's ts_headline drops tags from fragments: never markup.
    assert "<script>" not in html
    assert "<mark>tokens</mark>" in html


def test_search_never_reveals_network_only_text_to_anonymous_visitors(client, catalogue_data):
    html = client.get("/", {"search": "double-check ranked"}).content.decode()
    assert "0 use cases found" in html


def test_the_total_is_right_when_every_single_valued_facet_is_chosen(client, catalogue_data):
    params = {
        "agency": "FR-ANSM",
        "stage": "pilot",
        "ai_act_risk": "minimal",
        "workplan_area": "tools_technology",
        "medicine_scope": "human",
    }
    html = client.get("/", params).content.decode()
    assert "1 use case found" in html
    html = client.get("/", {**params, "agency": ["FR-ANSM", "EMA"]}).content.decode()
    assert "2 use cases found" in html


def test_sorting_by_title_descending(client, catalogue_data):
    titles = result_titles(client.get("/", {"sort": "-title"}))
    assert titles == sorted(titles, reverse=True)


def test_pages_link_to_the_next_page_and_keep_the_filters(client, catalogue_data):
    for n in range(22):
        UseCaseFactory(
            origin=catalogue_data["bfarm"],
            publication_level="public",
            title=f"Bulk record {n:02d}",
        )
    first = client.get("/", {"agency": "DE-BFARM", "sort": "title"})
    html = first.content.decode()
    next_url = re.search(r'href="(\?[^"]*cursor=[^"]+)" rel="next"', html).group(1)
    assert "agency=DE-BFARM" in next_url
    second = client.get("/" + next_url.replace("&amp;", "&"))
    titles_one, titles_two = result_titles(first), result_titles(second)
    assert len(titles_one) == 20 and len(titles_two) == 3
    assert not set(titles_one) & set(titles_two)
    assert "Page 2" in second.content.decode()
    assert 'href="?agency=DE-BFARM&amp;sort=title">First page' in second.content.decode()


def facet_count(html: str, value: str) -> int:
    return int(
        re.search(
            rf'value="{value}"[^>]*>\s*<label[^>]*>[^<]+<span class="count">(\d+)<', html
        ).group(1)
    )


def test_facet_counts_follow_a_change_once_the_stamp_expires(client, catalogue_data, settings):
    settings.CATALOGUE_CACHE_SECONDS = 0  # whole pages would lag too: tested on their own
    assert facet_count(client.get("/").content.decode(), "DE-BFARM") == 1
    UseCaseFactory(origin=catalogue_data["bfarm"], publication_level="public", title="Newcomer")
    cache.delete(counts.STAMP_KEY)  # what STAMP_SECONDS passing does
    html = client.get("/").content.decode()
    assert "Newcomer" in result_titles_from_html(html)
    assert "4 use cases found" in html
    assert facet_count(html, "DE-BFARM") == 2


def test_export_links_carry_the_current_filters(client, catalogue_data):
    html = client.get("/", {"search": "signal", "stage": "pilot", "sort": "title"}).content
    html = html.decode()
    assert 'href="/api/v1/use-cases/export.csv?search=signal&amp;stage=pilot"' in html
    assert 'href="/api/v1/use-cases/export.json?search=signal&amp;stage=pilot"' in html


def test_an_active_filter_can_be_removed_by_its_link(client, catalogue_data):
    html = client.get("/", {"stage": "pilot", "agency": "FR-ANSM"}).content.decode()
    assert 'href="?agency=FR-ANSM">Remove filter: Stage: Pilot' in html
    assert "Remove filter: Agency: Agence nationale de sécurité (FR-ANSM)" in html


@pytest.mark.parametrize(
    "params",
    [{"stage": "nonsense"}, {"sort": "nonsense"}, {"cursor": "not-a-cursor"}, {"hosting": "saas"}],
)
def test_bad_parameters_get_a_400_page_not_a_crash(client, catalogue_data, params):
    response = client.get("/", params)
    assert response.status_code == 400
    assert b"does not understand" in response.content


# ---- use-case page ------------------------------------------------------------------------


def test_use_case_page_groups_fields_with_labels_not_codes(client, catalogue_data):
    html = client.get(use_case_url("DE-BFARM", TRANSLATION_UID)).content.decode()
    for heading in ("Purpose and what it does", "Oversight and data", "AI Act", "Dates"):
        assert f">{heading}</h2>" in html
    assert (
        "<dt>Regulatory processes</dt><dd>Product information, Communication and translation"
        in html
    )
    assert "Generative AI / LLM" in html and "generative_llm" not in html
    assert "<dt>AI Act risk class</dt><dd>Limited risk</dd>" in html


def test_use_case_page_shows_provenance(client, catalogue_data):
    html = client.get(use_case_url("DE-BFARM", TRANSLATION_UID)).content.decode()
    assert "Provenance" in html
    assert "<dt>Version</dt><dd>1</dd>" in html
    assert "<dt>Received from</dt><dd>EMRN-HUB</dd>" in html
    assert 'href="/agencies/DE-BFARM/"' in html


def test_anonymous_visitors_never_see_network_only_fields(client, catalogue_data):
    html = client.get(use_case_url(settings.NODE_AGENCY, SIGNAL_UID)).content.decode()
    assert SECRET_MITIGATION not in html
    assert "Secret-Model 7B" not in html
    assert "Risks and mitigations" not in html and "Hosting" not in html


def test_members_see_network_only_fields(member_client):
    html = member_client.get(use_case_url(settings.NODE_AGENCY, SIGNAL_UID)).content.decode()
    assert SECRET_MITIGATION in html
    assert "Secret-Model 7B" in html
    assert "<dt>Hosting</dt><dd>On premise</dd>" in html


def test_every_record_field_has_a_place_on_the_use_case_page():
    from catalogue.templatetags.catalogue import GROUPS, SHOWN_ELSEWHERE
    from registry.validation import FIELDS

    grouped = {name for _id, _heading, names in GROUPS for name in names}
    assert grouped | SHOWN_ELSEWHERE == set(FIELDS)


def test_related_use_cases_link_where_held_here(client, catalogue_data):
    html = client.get(use_case_url(settings.NODE_AGENCY, SIGNAL_UID)).content.decode()
    assert f'href="/use-cases/DE-BFARM/{TRANSLATION_UID}/">Übersetzung' in html
    assert f"IT-AIFA/{ABSENT_UID}" in html and "not available here" in html


def test_similar_use_cases_come_from_other_agencies(client, catalogue_data):
    html = client.get(use_case_url(settings.NODE_AGENCY, SIGNAL_UID)).content.decode()
    similar = html.split("Similar use cases elsewhere", 1)[1]
    assert "Signal detection on spontaneous reports" in similar


@pytest.mark.parametrize(
    "origin, uid, who",
    [
        ("FR-ANSM", INSPECTION_UID, "anonymous"),  # network record, anonymous visitor
        (settings.NODE_AGENCY, DRAFT_UID, "member"),
        (settings.NODE_AGENCY, INTERNAL_UID, "member"),
        ("DE-BFARM", ABSENT_UID, "member"),
    ],
)
def test_unknown_or_invisible_use_cases_are_404(client, catalogue_data, origin, uid, who):
    if who == "member":
        client.force_login(UserFactory(agency=catalogue_data["home"]))
    assert client.get(use_case_url(origin, uid)).status_code == 404


def test_own_agency_members_get_an_edit_link_to_admin(member_client):
    own = member_client.get(use_case_url(settings.NODE_AGENCY, SIGNAL_UID)).content.decode()
    received = member_client.get(use_case_url("DE-BFARM", TRANSLATION_UID)).content.decode()
    assert "Edit in admin" in own
    assert "Edit in admin" not in received


def test_members_open_network_records(member_client):
    response = member_client.get(use_case_url("FR-ANSM", INSPECTION_UID))
    assert response.status_code == 200
    assert b"Inspection report summarisation" in response.content


# ---- agencies ---------------------------------------------------------------------------------


def test_agency_list_counts_only_visible_use_cases(client, catalogue_data):
    html = client.get("/agencies/").content.decode()
    row = re.search(r"FR-ANSM</td>.*?<td class=\"num\">(\d+)</td>", html, re.S)
    assert row.group(1) == "1"


def test_agency_page_shows_its_use_cases_and_mix_charts(client, catalogue_data):
    html = client.get("/agencies/FR-ANSM/").content.decode()
    assert result_titles_from_html(html) == ["Signal detection on spontaneous reports"]
    assert 'id="stage"' in html and 'id="risk"' in html
    assert "<title>Pilot: 1</title>" in html


def test_agency_page_says_never_when_no_sync_ran(client, catalogue_data):
    html = client.get("/agencies/DE-BFARM/").content.decode()
    assert re.search(r"Last synchronised</dt>\s*<dd>never</dd>", html)


def test_agency_page_shows_the_last_successful_sync_with_that_peer(client, catalogue_data):
    from sync.models import Peer, SyncRun

    peer = Peer.objects.create(
        name="bfarm", url="http://127.0.0.1:1/", token="t", agency="DE-BFARM"
    )
    finished = dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.UTC)
    SyncRun.objects.create(peer=peer, direction="pull", finished=finished)
    SyncRun.objects.create(
        peer=peer, direction="pull", finished=finished + dt.timedelta(hours=1), error="boom"
    )
    html = client.get("/agencies/DE-BFARM/").content.decode()
    assert 'datetime="2026-03-04T05:06:00+00:00"' in html


def test_agency_page_counts_the_agencys_own_calls_as_syncs(client, catalogue_data):
    from sync.models import PeerToken

    used = dt.datetime(2026, 5, 6, 7, 8, tzinfo=dt.UTC)
    PeerToken.objects.create(agency="DE-BFARM", token_hash="0" * 64, last_used=used)
    html = client.get("/agencies/DE-BFARM/").content.decode()
    assert 'datetime="2026-05-06T07:08:00+00:00"' in html


def test_unknown_agency_is_404(client, catalogue_data):
    assert client.get("/agencies/XX-NONE/").status_code == 404


def result_titles_from_html(html: str) -> list[str]:
    return re.findall(r'<h3><a href="/use-cases/[^"]+">([^<]+)</a></h3>', html)


# ---- statistics and charts --------------------------------------------------------------------


def test_statistics_page_draws_every_chart(client, catalogue_data):
    html = client.get("/statistics/").content.decode()
    for chart_id in ("by-agency", "by-stage", "by-risk", "by-technique", "started-over-time"):
        assert f'id="{chart_id}"' in html
    assert html.count('role="img"') >= 5


def test_statistics_count_only_what_the_visitor_may_see(catalogue_data):
    anonymous = Client().get("/statistics/").content.decode()
    member_client = Client()
    member_client.force_login(UserFactory(agency=catalogue_data["home"]))
    member = member_client.get("/statistics/").content.decode()
    assert "<title>FR-ANSM: 1</title>" in anonymous
    assert "<title>FR-ANSM: 2</title>" in member


def test_bar_chart_draws_one_bar_per_value_scaled_to_the_largest():
    svg = str(
        charts.bar_chart(
            [charts.Bar("Pilot", 4), charts.Bar("Production", 2), charts.Bar("Idea", 0)],
            title="By stage",
            chart_id="t",
        )
    )
    widths = [float(w) for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([^"]+)"', svg)]
    assert len(widths) == 2  # a value without use cases is in the data table only
    assert widths[0] == 2 * widths[1]
    assert '<th scope="row">Idea</th><td>0</td>' in svg
    assert 'role="img"' in svg and '<title id="t-title">By stage</title>' in svg
    assert '<th scope="row">Production</th><td>2</td>' in svg


def test_bar_labels_link_from_the_data_table():
    html = str(charts.bar_chart([charts.Bar("EMA", 2, "/agencies/EMA/")], title="t", chart_id="l"))
    assert '<th scope="row"><a href="/agencies/EMA/">EMA</a></th>' in html


def test_column_chart_draws_one_column_per_period():
    svg = str(
        charts.column_chart(
            charts.time_axis([{"month": "2025-01", "count": 1}, {"month": "2025-04", "count": 3}]),
            title="Over time",
            chart_id="o",
        )
    )
    assert svg.count('<g class="column">') == 2
    assert "<title>2025 Q2: 3</title>" in svg


def test_charts_escape_labels():
    svg = str(charts.bar_chart([charts.Bar("<b>x</b>", 1)], title="<i>t</i>", chart_id="e"))
    assert "<b>" not in svg and "<i>" not in svg


def test_an_empty_chart_says_so():
    assert "No data yet." in str(charts.bar_chart([], title="Nothing", chart_id="n"))
