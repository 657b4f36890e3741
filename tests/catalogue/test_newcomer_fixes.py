"""What a newcomer found in the reader's catalogue after issue 15 was built: filters without a
box kept when a box is ticked, unknown parameters refused everywhere alike, readable chips,
a statistics page that says when filters match nothing, reference registers charted apart,
and a y axis with room for its widest label."""

import datetime as dt
import html
import re

import pytest

from catalogue import charts
from registry import vocabularies as v
from tests.catalogue.test_pages import seed_catalogue
from tests.factories import AgencyFactory, UseCaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue_data(db):
    return seed_catalogue()


def form_of(client, query: str) -> str:
    response = client.get(f"/{query}")
    assert response.status_code == 200
    text = response.content.decode()
    return re.search(r'<form method="get".*?</form>', text, re.S).group(0)


def test_the_form_keeps_the_chosen_filters_it_has_no_box_for(client, catalogue_data):
    """Without JavaScript, "Apply filters" sends the form: the date range, the review flag's
    sibling filters and the search must travel with it (catalogue.js sends the same fields)."""
    form = form_of(
        client,
        "?operational_since_after=2023-01-01&operational_since_before=2023-12-31"
        "&sourcing=vendor&affects_individuals=true&search=data&stage=production",
    )

    kept = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    assert sorted(kept) == [
        ("affects_individuals", "true"),
        ("operational_since_after", "2023-01-01"),
        ("operational_since_before", "2023-12-31"),
        ("sourcing", "vendor"),
    ]
    # Those with a box are sent by the box, once.
    assert 'type="hidden" name="stage"' not in form
    assert 'type="hidden" name="search"' not in form


def test_a_value_without_a_ticked_box_is_kept_a_ticked_one_is_not(client, catalogue_data):
    """review_overdue=0 has no box (the box stands for 1); an agency written in lower case is
    the ticked box of its upper-case code, so it is not sent twice."""
    form = form_of(client, "?review_overdue=0&agency=de-bfarm&stage=pilot,production")

    kept = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    assert kept == [("review_overdue", "0")]


def test_the_results_fragment_carries_the_kept_filters_too(client, catalogue_data):
    """A chip removed through catalogue.js swaps the facets in: the hidden inputs go with them."""
    text = client.get("/results/?started_on_after=2024-01-01").content.decode()

    assert '<input type="hidden" name="started_on_after" value="2024-01-01">' in text


@pytest.mark.parametrize("address", ["/feeds/use-cases.atom?foo=1", "/agencies/DE-BFARM/?foo=1"])
def test_the_feed_and_the_agency_page_refuse_an_unknown_parameter(client, catalogue_data, address):
    response = client.get(address)

    assert response.status_code == 400
    assert "foo" in html.unescape(response.content.decode())


def test_the_feed_and_the_agency_page_still_take_their_own_parameters(client, catalogue_data):
    assert client.get("/feeds/use-cases.atom?stage=production&sort=title").status_code == 200
    assert client.get("/agencies/DE-BFARM/?page=2").status_code == 200


def test_date_and_yes_no_chips_read_as_sentences_not_parameter_names(client, catalogue_data):
    text = html.unescape(
        client.get(
            "/?operational_since_after=2023-01-01&started_on_before=2024-12-31"
            "&affects_individuals=true&sourcing=vendor"
        ).content.decode()
    )

    chips = re.findall(r"Remove filter: (.*?) ×", text)
    assert sorted(chips) == [
        "Affects individuals: yes",
        "In production since on or after 1 January 2023",
        "Sourcing: Vendor",
        "Started on or before 31 December 2024",
    ]
    assert "operational_since_after" not in " ".join(chips)


def test_a_filtered_empty_statistics_page_says_no_use_case_matches(client, catalogue_data):
    filtered = client.get("/statistics/?search=nothing-matches-this").content.decode()

    assert "No data yet." not in filtered
    assert filtered.count("No use cases match these filters.") >= 5


def test_reference_registers_are_charted_apart_from_the_network_agencies(client, catalogue_data):
    register = AgencyFactory(
        code="REF-US-OMB", name="US federal AI inventory", country="US",
        kind=v.AgencyKind.REFERENCE_REGISTER,
    )  # fmt: skip
    UseCaseFactory(origin=register, publication_level="public", title="FDA review assistant")

    text = client.get("/statistics/").content.decode()
    agencies = re.search(r'<svg[^>]* id="by-agency".*?</svg>', text, re.S).group(0)
    registers = re.search(r'<svg[^>]* id="by-register".*?</svg>', text, re.S).group(0)

    assert "REF-US-OMB" not in agencies and "FR-ANSM" in agencies
    assert "REF-US-OMB" in registers and "FR-ANSM" not in registers


def test_without_a_register_there_is_no_register_chart(client, catalogue_data):
    assert 'id="by-register"' not in client.get("/statistics/").content.decode()


@pytest.mark.parametrize("peak", [9, 1108, 12345])
def test_the_y_axis_leaves_room_for_its_widest_label(peak):
    """The peak's label is drawn right-aligned left of the plot: at a digit's width of about
    8.9 px (Chromium, FONT_SIZE 14) it must not start left of the drawing's edge (x=0)."""
    day = dt.date(2024, 1, 1)
    chart = str(
        charts.column_chart([charts.Period("2024", peak, day, day)], title="Peak", chart_id="p")
    )

    label_x = float(re.search(rf'<text x="([\d.]+)"[^>]*>{peak}</text>', chart).group(1))
    assert label_x - len(str(peak)) * 8.9 >= 0
