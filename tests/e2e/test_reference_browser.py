"""A reference register's record in a real browser (issue 11): imported on the hub by the real
import service, it is labelled as the register's and its organisation's in the results and on
its page, never as an agency's. Screenshots go to artifacts/screenshots/."""

import datetime as dt

import pytest
from django.core.cache import cache

from registry.importers.reference_register import import_reference_register
from tests.e2e.test_browser import browser, page, screenshot  # noqa: F401 (fixtures)
from tests.factories import AgencyFactory, UseCaseFactory
from tests.registry.test_reference_registers import us_csv, us_row

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LABEL = "US federal AI inventory — HHS / FDA / CDER"


@pytest.fixture
def hub_catalogue(transactional_db, settings, tmp_path):
    """The hub's catalogue: an EMA record received from EMA, and the FDA's from the US file."""
    settings.NODE_ROLE, settings.NODE_AGENCY = "hub", "EMRN-HUB"
    cache.clear()
    ema = AgencyFactory(code="EMA", name="European Medicines Agency", country="EU")
    UseCaseFactory(
        origin=ema,
        publication_level="public",
        title="Duplicate ICSR detection in EudraVigilance",
        received_at=dt.datetime.now(dt.UTC),
        received_from="EMA",
    )
    path = us_csv(
        tmp_path,
        us_row(),
        us_row(
            id="DOI-1",
            agency="DOI",
            agency_bureau="USGS",
            use_case_name="Volcano eruption forecasting",
            problem_solved="Forecasts eruptions from seismic data.",
        ),
    )
    import_reference_register(path=path, register_key="us-omb-2025")


def test_a_reference_record_is_labelled_as_such_in_the_results_and_on_its_page(
    page,  # noqa: F811
    hub_catalogue,
):
    page.goto("/?search=duplicate")
    card = page.locator("ol.results li.result", has_text="Duplicate adverse event")
    assert card.locator("li.reference").inner_text().startswith(LABEL)
    assert "not an agency of the network" in card.locator(".badge.reference").inner_text()
    ema_card = page.locator("ol.results li.result", has_text="EudraVigilance")
    assert ema_card.locator("li.reference").count() == 0
    legends = page.locator("#facet-groups legend").all_inner_texts()
    assert "Network agencies" in legends and "Other public registers" in legends
    screenshot(page, "reference-register-results")

    card.locator("h3 a").click()
    page.wait_for_url("**/use-cases/REF-US-OMB/**")
    assert page.locator("#run-by").inner_text() == "HHS / FDA / CDER"
    note = page.locator("#reference-note").inner_text()
    assert note.startswith(f"{LABEL}: a reference record from a public register")
    screenshot(page, "reference-register-record")
