"""What a newcomer found in the reader's catalogue after issue 15 was built: filters without a
box kept when a box is ticked, unknown parameters refused everywhere alike, readable chips,
a statistics page that says when filters match nothing, reference registers charted apart,
and a y axis with room for its widest label."""

import html
import re

import pytest

from tests.catalogue.test_pages import seed_catalogue

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
