"""The catalogue as a new reader meets it (issue 15, parts 1, 2 and 5): the partial rendering the
filters apply through, a use-case page that leads with the point, the hub listed nowhere as an
agency, and input errors that name the real problem without echoing control characters."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from catalogue import query_text
from sync.models import Peer
from tests.catalogue.test_pages import TRANSLATION_UID, result_titles, seed_catalogue, use_case_url
from tests.factories import AgencyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue_data(db):
    return seed_catalogue()


# ---- the results fragment that catalogue.js swaps in ----------------------------------------


def test_the_results_fragment_holds_the_facets_and_results_of_the_same_query(
    client, catalogue_data
):
    query = {"agency": "DE-BFARM"}
    page = client.get(reverse("catalogue:home"), query)
    fragment = client.get(reverse("catalogue:results"), query)
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert "<html" not in html and "<form" not in html
    assert 'id="facet-groups"' in html and 'id="results-region"' in html
    assert result_titles(fragment) == result_titles(page) == ["Übersetzung der Produktinformation"]
    assert re.search(r'id="f-agency-de-bfarm" name="agency" value="DE-BFARM" checked', html)
    assert fragment["X-Robots-Tag"] == "noindex"


def test_the_results_fragment_names_the_filters_for_the_panel_and_the_title(client, catalogue_data):
    html = client.get(reverse("catalogue:results"), {"stage": "production", "search": "trans"})
    html = html.content.decode()
    assert 'data-chosen="1 chosen"' in html
    assert 'data-title="Search: trans · AI registry"' in html


def test_the_page_loads_its_script_and_keeps_buttons_for_readers_without_javascript(
    client, catalogue_data
):
    html = client.get(reverse("catalogue:home")).content.decode()
    assert re.search(r'<script src="[^"]*catalogue/catalogue\.js" defer>', html)
    assert 'data-results-url="/results/"' in html
    assert "Apply filters" in html and ">Sort</button>" in html


def test_the_results_fragment_refuses_bad_filters_like_the_page(client, catalogue_data):
    response = client.get(reverse("catalogue:results"), {"stage": "nonsense"})
    assert response.status_code == 400


# ---- the use-case page leads with the point -------------------------------------------------


def test_use_case_page_reads_title_key_facts_summary_purpose_oversight_then_provenance(
    client, catalogue_data
):
    html = client.get(use_case_url("DE-BFARM", TRANSLATION_UID)).content.decode()
    order = [
        'id="uc-title"',
        "<dt>Agency</dt>",
        "<dt>Stage</dt><dd>Production</dd>",
        "<dt>AI Act risk class</dt><dd>Limited risk</dd>",
        "Drafts translations of product information texts",
        ">Purpose and what it does</h2>",
        "<dt>Purpose</dt><dd>Faster translation of product information.</dd>",
        ">Oversight and data</h2>",
        'class="not-stated"',
        ">Provenance and identifiers</h2>",
        f"<code>DE-BFARM/{TRANSLATION_UID}</code>",
    ]
    positions = [html.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_empty_fields_are_gathered_into_one_not_stated_line(client, catalogue_data):
    html = client.get(use_case_url("DE-BFARM", TRANSLATION_UID)).content.decode()
    assert "<dd>Not stated</dd>" not in html
    line = re.search(r'<p class="not-stated"><strong>Not stated:</strong> ([^<]*)\.</p>', html)
    assert line is not None
    assert "DPIA status" in line.group(1).split(", ")
    assert html.count('class="not-stated"') == 1


# ---- the hub is no agency -------------------------------------------------------------------


def test_at_the_hub_its_own_node_is_not_listed_among_the_agencies(client, catalogue_data, settings):
    settings.NODE_ROLE = "hub"
    settings.NODE_AGENCY = "EMRN-HUB"
    AgencyFactory(code="EMRN-HUB", name="EMRN-HUB (this node)", country="EU")
    rows = agency_rows(client)
    assert "EMRN-HUB" not in rows
    assert "DE-BFARM" in rows
    assert client.get(reverse("catalogue:agency", args=["EMRN-HUB"])).status_code == 404
    codes = [a["code"] for a in client.get("/api/v1/agencies/").json()["results"]]
    assert "EMRN-HUB" not in codes and "DE-BFARM" in codes


def test_at_an_agency_node_its_hub_peer_is_not_listed_among_the_agencies(client, catalogue_data):
    AgencyFactory(code="EMRN-HUB", name="EMRN-HUB", country="EU")
    Peer.objects.create(name="hub", url="https://hub.example.eu/", token="t", role="hub")
    Peer.objects.filter(name="hub").update(agency="EMRN-HUB")
    rows = agency_rows(client)
    assert "EMRN-HUB" not in rows
    assert settings.NODE_AGENCY in rows


def agency_rows(client) -> str:
    html = client.get(reverse("catalogue:agency-list")).content.decode()
    return html[html.index("<tbody>") : html.index("</tbody>")]


# ---- input errors name the real problem, never echo control characters ----------------------


def test_a_search_with_a_nul_is_refused_for_the_nul_and_never_echoed(client, catalogue_data):
    response = client.get(reverse("catalogue:home"), {"search": "signal\x00detection"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "control character (U+0000)" in html
    assert "500 characters" not in html
    assert "\x00" not in html


def test_the_refusal_offers_the_search_again_without_the_control_character(client, catalogue_data):
    response = client.get(reverse("catalogue:home"), {"search": "signal\x00detection"})
    html = response.content.decode()
    assert re.search(
        r'<input type="search" id="search" name="search" value="signal detection">', html
    )
    again = client.get(reverse("catalogue:home"), {"search": "signal detection"})
    assert again.status_code == 200


def test_a_control_character_in_a_filter_value_is_refused_and_never_echoed(client, catalogue_data):
    response = client.get(reverse("catalogue:home"), {"agency": "DE-\x07BFARM"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "control character (U+0007)" in html
    assert "\x07" not in html


def test_a_search_too_long_says_how_long_it_is(client, catalogue_data):
    response = client.get(reverse("catalogue:home"), {"search": "a" * 501})
    assert response.status_code == 400
    assert "At most 500 characters of search text; this has 501." in response.content.decode()


def test_tabs_and_line_feeds_in_a_search_are_whitespace_not_errors(client, catalogue_data):
    response = client.get(reverse("catalogue:home"), {"search": "signal\tdetection\n"})
    assert response.status_code == 200


def test_the_api_and_the_feed_name_the_control_character(client, catalogue_data):
    api = client.get("/api/v1/use-cases/", {"search": "signal\x00"})
    feed = client.get(reverse("catalogue:feed"), {"search": "signal\x1b"})
    assert api.status_code == 400
    assert "U+0000" in str(api.json())
    assert feed.status_code == 400
    assert "control character (U+001B)" in feed.content.decode()
    assert "\x1b" not in feed.content.decode()


def test_control_characters_are_listed_once_each_in_order():
    assert query_text.control_characters("a\x00b\x7f\x00\tc\x85") == ["U+0000", "U+007F", "U+0085"]
    assert query_text.without_control_characters("a\x00b\tc") == "a b\tc"
