"""The statistics page in real Chromium at a desktop width (1280 px) and a phone's (390 px): the
figures follow the catalogue's filters and match the catalogue's own count, a bar leads to the
catalogue filtered to it, the text of the charts stays readable, axe finds no WCAG 2.1 AA
problem; screenshots go to artifacts/screenshots/."""

import re

import pytest

from tests.e2e import test_browser as catalogue
from tests.e2e.test_browser import WCAG_TAGS, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The catalogue's module-scoped Chromium, its page on the live server and its seeded records.
browser = catalogue.browser
page = catalogue.page
seeded = catalogue.seeded

WIDTHS = [1280, 390]
# The smallest text a chart may draw, in CSS pixels, once scaled to the page.
MIN_CHART_TEXT_PX = 12


def at_width(page, width: int):
    page.set_viewport_size({"width": width, "height": 900})
    return page


def counted(page) -> int:
    text = page.locator("#statistics-scope").inner_text()
    return int(re.search(r"Counting (?:all )?(\d+) use case", text).group(1))


def catalogue_total(page) -> int:
    return int(re.search(r"(\d+) use cases? found", page.locator("p.total").inner_text()).group(1))


@pytest.mark.parametrize("width", WIDTHS)
def test_statistics_filtered_by_agency_match_the_catalogue_and_a_bar_lands_on_them(
    page, seeded, width
):
    at_width(page, width)
    page.goto("/statistics/?agency=FR-ANSM")
    figures = counted(page)
    assert page.locator("svg#by-agency title").all_text_contents()[1:] == [f"FR-ANSM: {figures}"]
    screenshot(page, f"statistics-filtered-{width}")

    page.get_by_role("link", name="See these use cases in the catalogue").click()
    page.wait_for_url(re.compile(r"/\?agency=FR-ANSM$"))
    assert catalogue_total(page) == figures

    page.goto("/statistics/?agency=FR-ANSM")
    bar = page.locator("svg#by-stage [data-href]").first
    stage_count = int(bar.locator("title").text_content().rsplit(": ", 1)[1])
    bar.locator("rect").click()
    page.wait_for_url(re.compile(r"/\?agency=FR-ANSM&stage=\w+$"))
    assert catalogue_total(page) == stage_count


@pytest.mark.parametrize("width", WIDTHS)
def test_the_data_table_links_reach_the_same_filtered_catalogue(page, seeded, width):
    at_width(page, width)
    page.goto("/statistics/")
    figure = page.locator("figure", has=page.locator("svg#by-agency"))
    figure.get_by_text("Show the data as a table").click()
    figure.get_by_role("link", name="DE-BFARM").click()
    page.wait_for_url(re.compile(r"/\?agency=DE-BFARM$"))
    assert catalogue.result_titles(page) == ["Übersetzung der Produktinformation"]


@pytest.mark.parametrize("width", WIDTHS)
def test_chart_text_stays_readable_and_nothing_scrolls_sideways(page, seeded, width):
    at_width(page, width)
    page.goto("/statistics/")
    sizes = page.locator("svg.chart text").evaluate_all(
        "all => all.map(t => parseFloat(getComputedStyle(t).fontSize)"
        " * t.ownerSVGElement.getScreenCTM().a)"
    )
    assert sizes and min(sizes) >= MIN_CHART_TEXT_PX
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    labels = page.locator("svg#started-over-time text[text-anchor='middle']")
    svg_box = page.locator("svg#started-over-time").bounding_box()
    last = labels.last.bounding_box()
    assert last["x"] + last["width"] <= svg_box["x"] + svg_box["width"] + 0.5
    screenshot(page, f"statistics-{width}")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "url", ["/statistics/", "/statistics/?agency=FR-ANSM", "/statistics/?stage=pilot&search=signal"]
)
def test_statistics_pages_pass_the_automated_wcag_21_aa_checks(page, seeded, url, width):
    from axe_playwright_python.sync_playwright import Axe

    at_width(page, width)
    page.goto(url)
    page.locator("details.chart-data").evaluate_all("all => all.forEach(d => d.open = true)")
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    problems = [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
    assert problems == []
