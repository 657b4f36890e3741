"""The catalogue as a new reader uses it (issue 15), in real Chromium at 1280 px and at 390 px:
filters that apply at once with the address following each change and the Back button restoring
the previous results, filters folded above the results on a phone, a use-case page that leads
with the point, axe on every page at both widths. Screenshots go to artifacts/screenshots/.

Uses the browser, seeded data and helpers of tests/e2e/test_browser.py.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.catalogue.test_pages import TRANSLATION_UID
from tests.e2e import test_browser
from tests.e2e.test_browser import TIMEOUT_MS, WCAG_TAGS, result_titles, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# test_browser's fixtures, shared: one Chromium for its module, the same seeded catalogue.
browser = test_browser.browser
seeded = test_browser.seeded

WIDE, PHONE = 1280, 390
BFARM = "Federal Institute for Drugs (DE-BFARM)"
ANSM = "Agence nationale de sécurité (FR-ANSM)"
EVERYTHING = [
    "Signal detection assistant for EudraVigilance",
    "Signal detection on spontaneous reports",
    "Übersetzung der Produktinformation",
]
USE_CASE = f"/use-cases/DE-BFARM/{TRANSLATION_UID}/"
PAGES = [
    "/",
    "/?search=signal&stage=pilot",
    "/?agency=DE-BFARM&sort=-title",
    USE_CASE,
    "/agencies/",
    "/agencies/FR-ANSM/",
    "/statistics/",
    "/?search=signal%00detection",  # the 400 page of a refused search
]


@pytest.fixture
def open_page(browser, live_server):
    """open_page(width) -> a new tab of that width on the live server."""
    contexts = []

    def opened(width: int):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield opened
    for context in contexts:
        context.close()


def mark_document(page) -> None:
    """A property on this document's window: still there after a change only if the page was
    not reloaded."""
    page.evaluate("window.notReloaded = true")


def not_reloaded(page) -> bool:
    return page.evaluate("window.notReloaded === true")


def sorted_titles(page) -> list[str]:
    return sorted(result_titles(page))


def test_a_ticked_facet_applies_at_once_and_back_restores_the_results(open_page, seeded):
    page = open_page(WIDE)
    page.goto("/")
    assert sorted_titles(page) == EVERYTHING
    assert not page.get_by_role("button", name="Apply filters").is_visible()
    mark_document(page)

    page.get_by_role("checkbox", name=BFARM).check()
    page.wait_for_url(re.compile(r"/\?agency=DE-BFARM$"))
    expect(page.locator("ol.results > li")).to_have_count(1)
    assert result_titles(page) == ["Übersetzung der Produktinformation"]
    assert page.locator("#filter-chosen").inner_text() == "1 chosen"
    assert page.evaluate("document.activeElement.value") == "DE-BFARM"

    page.get_by_role("checkbox", name=ANSM).check()
    page.wait_for_url(re.compile(r"agency=DE-BFARM&agency=FR-ANSM$"))
    expect(page.locator("ol.results > li")).to_have_count(2)
    screenshot(page, "catalogue-applied-at-once-1280")

    page.go_back()
    page.wait_for_url(re.compile(r"/\?agency=DE-BFARM$"))
    expect(page.locator("ol.results > li")).to_have_count(1)
    assert not page.get_by_role("checkbox", name=ANSM).is_checked()
    page.go_back()
    expect(page.locator("ol.results > li")).to_have_count(3)
    assert not page.get_by_role("checkbox", name=BFARM).is_checked()
    assert not_reloaded(page)


def test_the_sort_order_and_the_search_apply_without_a_reload(open_page, seeded):
    page = open_page(WIDE)
    page.goto("/")
    mark_document(page)
    page.get_by_label("Sort by").select_option("-title")
    page.wait_for_url(re.compile(r"sort=-title"))
    expect(page.locator("ol.results h3 a").first).to_have_text("Übersetzung der Produktinformation")
    page.get_by_label("Search use cases").fill("signal")
    page.get_by_label("Search use cases").press("Enter")
    page.wait_for_url(re.compile(r"search=signal&sort=-title"))
    expect(page.locator("ol.results > li")).to_have_count(2)
    assert page.title().startswith("Search: signal")
    page.go_back()
    expect(page.locator("ol.results > li")).to_have_count(3)
    assert page.get_by_label("Search use cases").input_value() == ""
    assert not_reloaded(page)


def test_a_removed_filter_chip_applies_without_a_reload(open_page, seeded):
    page = open_page(WIDE)
    page.goto("/?agency=DE-BFARM&agency=FR-ANSM")
    mark_document(page)
    page.get_by_role("link", name=re.compile("Remove filter: Agency: Federal")).click()
    page.wait_for_url(re.compile(r"/\?agency=FR-ANSM$"))
    expect(page.locator("ol.results > li")).to_have_count(1)
    assert result_titles(page) == ["Signal detection on spontaneous reports"]
    assert not_reloaded(page)


def test_on_a_phone_the_results_come_first_and_the_filters_fold_above_them(open_page, seeded):
    page = open_page(PHONE)
    page.goto("/")
    first_result = page.locator("ol.results > li").first.bounding_box()
    assert first_result["y"] < 900, "the first result is on the first screen"
    assert not page.get_by_role("checkbox", name=BFARM).is_visible()
    screenshot(page, "catalogue-folded-390")

    page.get_by_text("Filter", exact=True).click()
    page.get_by_role("checkbox", name=BFARM).check()
    page.wait_for_url(re.compile(r"/\?agency=DE-BFARM$"))
    expect(page.locator("ol.results > li")).to_have_count(1)
    screenshot(page, "catalogue-filters-open-390")
    page.get_by_role("button", name="Show 1 use case").click()
    assert not page.get_by_role("checkbox", name=BFARM).is_visible()
    assert page.locator(".filter-panel summary").inner_text().endswith("1 chosen")

    page.go_back()
    expect(page.locator("ol.results > li")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE


# A statistics chart's link: filters the form has no box for (a date range), and a search.
FROM_A_CHART = "/?started_on_after=2024-01-01&search=signal"
FR_SIGNAL = ["Signal detection on spontaneous reports"]


def test_a_tick_narrows_the_filters_the_form_has_no_box_for_instead_of_dropping_them(
    open_page, seeded
):
    page = open_page(WIDE)
    page.goto(FROM_A_CHART)
    mark_document(page)

    page.get_by_role("checkbox", name=ANSM).check()
    page.wait_for_url(re.compile(r"agency=FR-ANSM"))
    assert "started_on_after=2024-01-01" in page.url and "search=signal" in page.url
    expect(page.locator("ol.results > li")).to_have_count(1)
    assert result_titles(page) == FR_SIGNAL

    page.get_by_role(
        "link", name=re.compile("Remove filter: Started on or after 1 January")
    ).click()
    page.wait_for_url(re.compile(r"/\?search=signal&agency=FR-ANSM$"))
    page.get_by_role("checkbox", name=ANSM).uncheck()
    page.wait_for_url(re.compile(r"/\?search=signal$"))
    assert not_reloaded(page)


def test_a_ticked_yes_no_box_replaces_the_kept_value_of_its_filter(open_page, seeded):
    page = open_page(WIDE)
    page.goto("/?review_overdue=0&search=signal")
    page.get_by_role("checkbox", name=ANSM).check()
    page.wait_for_url(re.compile(r"agency=FR-ANSM"))
    assert "review_overdue=0" in page.url

    page.get_by_role("checkbox", name=re.compile("^Review overdue")).check()
    page.wait_for_url(re.compile(r"review_overdue=1"))
    assert "review_overdue=0" not in page.url
    expect(page.locator("#results-region .total")).to_contain_text("use case")


@pytest.fixture
def open_page_without_javascript(browser, live_server):
    contexts = []

    def opened(width: int):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": 900},
            java_script_enabled=False,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield opened
    for context in contexts:
        context.close()


def test_without_javascript_a_phone_shows_the_results_first_and_apply_keeps_every_filter(
    open_page_without_javascript, seeded
):
    page = open_page_without_javascript(PHONE)
    page.goto(FROM_A_CHART)
    assert page.locator("ol.results > li").first.bounding_box()["y"] < 900
    assert not page.get_by_role("checkbox", name=ANSM).is_visible()
    screenshot(page, "catalogue-no-js-folded-390")

    page.get_by_text("Filter", exact=True).click()
    page.get_by_role("checkbox", name=ANSM).check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"agency=FR-ANSM"))
    assert "started_on_after=2024-01-01" in page.url and "search=signal" in page.url
    assert result_titles(page) == FR_SIGNAL


def test_without_javascript_the_filters_stand_beside_the_results_on_a_wide_screen(
    open_page_without_javascript, seeded
):
    page = open_page_without_javascript(WIDE)
    page.goto("/")
    assert page.get_by_role("checkbox", name=ANSM).is_visible()
    assert page.get_by_role("button", name="Apply filters").is_visible()
    filters = page.locator(".facets").bounding_box()
    first_result = page.locator("ol.results > li").first.bounding_box()
    assert first_result["x"] > filters["x"] + filters["width"] - 1, "beside, not below"
    assert first_result["y"] < 900
    screenshot(page, "catalogue-no-js-1280")


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_the_use_case_page_leads_with_the_point_and_ends_with_provenance(open_page, seeded, width):
    page = open_page(width)
    page.goto(USE_CASE)
    headings = page.locator("article h2").all_inner_texts()
    assert headings[0] == "Purpose and what it does"
    assert headings.index("Oversight and data") == 1
    assert headings[-1] == "Provenance and identifiers"
    tops = [
        page.locator(selector).first.bounding_box()["y"]
        for selector in ("h1", ".key-facts", "p.lead >> nth=1", "#group-purpose", ".not-stated")
    ]
    assert tops == sorted(tops)
    facts = page.locator(".key-facts").inner_text()
    assert "Federal Institute for Drugs" in facts and "Production" in facts
    assert "Limited risk" in facts
    screenshot(page, f"use-case-{width}")


# test_browser.py checks its pages at 1280 px already: here they are checked at 390 px only.
AXE_RUNS = [
    (url, width)
    for url in PAGES
    for width in (WIDE, PHONE)
    if not (width == WIDE and url in test_browser.PAGES)
]


@pytest.mark.parametrize(("url", "width"), AXE_RUNS)
def test_every_page_passes_axe_at_both_widths(open_page, seeded, width, url):
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(width)
    page.goto(url)
    page.locator("details.chart-data").evaluate_all("all => all.forEach(d => d.open = true)")
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    problems = [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
    assert problems == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    name = re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-") or "home"
    screenshot(page, f"axe-{name}-{width}")
