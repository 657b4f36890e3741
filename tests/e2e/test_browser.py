"""The catalogue in a real browser: Debian's Chromium driven by Playwright against a live Django
server with seeded data. Each scenario writes a screenshot to artifacts/screenshots/.

Playwright runs in the test thread; pytest-django's live server runs in its own thread and reads
the rows the test committed, hence transactional database access.
"""

import csv
import io
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from tests.catalogue.test_pages import INSPECTION_UID, TRANSLATION_UID, seed_catalogue
from tests.factories import UserFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
TIMEOUT_MS = 10_000
PASSWORD = "correct-horse-battery"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: run .ci/install-browser.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on this thread; Django would then refuse the
    # test's own (synchronous, same-thread) database calls. The server runs in another thread.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def seeded(transactional_db):
    cache.clear()  # counts cached by an earlier test's pages would not match these rows
    return seed_catalogue()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def result_titles(page) -> list[str]:
    return page.locator("ol.results h3 a").all_inner_texts()


def test_search_finds_and_highlights_matches(page, seeded):
    page.goto("/")
    screenshot(page, "catalogue")
    page.get_by_label("Search use cases").fill("signal")
    page.get_by_label("Search use cases").press("Enter")
    page.wait_for_url(re.compile(r"search=signal"))
    assert sorted(result_titles(page)) == [
        "Signal detection assistant for EudraVigilance",
        "Signal detection on spontaneous reports",
    ]
    assert page.locator("ol.results mark").count() >= 2
    screenshot(page, "catalogue-search")


def test_facet_checkbox_filters_and_the_state_is_in_the_address(page, seeded):
    from playwright.sync_api import expect

    page.goto("/")
    page.get_by_role("checkbox", name="Federal Institute for Drugs (DE-BFARM)").check()
    page.wait_for_url(re.compile(r"agency=DE-BFARM"))  # applied at once (catalogue.js)
    expect(page.locator("ol.results > li")).to_have_count(1)
    assert result_titles(page) == ["Übersetzung der Produktinformation"]
    shared_address = page.url
    page.goto("/")
    page.goto(shared_address)
    assert result_titles(page) == ["Übersetzung der Produktinformation"]
    assert page.get_by_role("checkbox", name="Federal Institute for Drugs (DE-BFARM)").is_checked()
    screenshot(page, "catalogue-facet")


def test_open_a_use_case_from_the_results(page, seeded):
    page.goto("/?agency=DE-BFARM")
    page.get_by_role("link", name="Übersetzung der Produktinformation").click()
    page.wait_for_url(f"**/use-cases/DE-BFARM/{TRANSLATION_UID}/")
    assert page.locator("h1").inner_text() == "Übersetzung der Produktinformation"
    assert page.get_by_role("heading", name="Provenance").is_visible()
    assert page.get_by_role("heading", name="Where in the regulatory system").is_visible()
    assert "Generative AI / LLM" in page.locator("main").inner_text()
    screenshot(page, "use-case")


def test_export_csv_downloads_the_filtered_records(page, seeded):
    page.goto("/?agency=DE-BFARM")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [row["title"] for row in rows] == ["Übersetzung der Produktinformation"]
    assert "risks_and_mitigations" not in rows[0]


def test_statistics_page_renders_its_charts(page, seeded):
    page.goto("/statistics/")
    charts = page.locator("svg.chart[role='img']")
    assert charts.count() >= 5
    assert page.locator("svg#by-agency rect").count() == 3
    assert page.locator("svg#by-stage title").first.text_content() == "Use cases by stage"
    page.get_by_text("Show the data as a table").first.click()
    assert page.locator("table#by-agency-data").is_visible()
    screenshot(page, "statistics")


def test_agency_pages_render(page, seeded):
    page.goto("/agencies/")
    page.get_by_role("link", name="Agence nationale de sécurité").click()
    page.wait_for_url("**/agencies/FR-ANSM/")
    assert page.locator("svg#stage").is_visible()
    assert result_titles(page) == ["Signal detection on spontaneous reports"]
    screenshot(page, "agency")


WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = [
    "/",
    "/?search=signal&stage=pilot",
    f"/use-cases/DE-BFARM/{TRANSLATION_UID}/",
    "/agencies/",
    "/agencies/FR-ANSM/",
    "/statistics/",
]


@pytest.mark.parametrize("url", PAGES)
def test_pages_pass_the_automated_wcag_21_aa_checks(page, seeded, url):
    from axe_playwright_python.sync_playwright import Axe

    page.goto(url)
    page.locator("details.chart-data").evaluate_all("all => all.forEach(d => d.open = true)")
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    problems = [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
    assert problems == []


def test_keyboard_users_reach_the_skip_link_first(page, seeded):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_signed_in_members_see_network_records(page, seeded):
    user = UserFactory(username="member", agency=seeded["home"])
    user.set_password(PASSWORD)
    user.save()
    page.goto("/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("member")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Log in", re.I)).click()
    page.wait_for_url(re.compile(r"/$"))
    assert "Inspection report summarisation" in result_titles(page)
    page.goto(f"/use-cases/FR-ANSM/{INSPECTION_UID}/")
    assert page.locator("h1").inner_text() == "Inspection report summarisation"
    assert settings.NODE_AGENCY in page.locator("header").inner_text()
    screenshot(page, "use-case-member")


@pytest.mark.parametrize("url", PAGES)
def test_no_page_scrolls_sideways_on_a_phone(page, seeded, url):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_narrow_screens_stack_the_filters_above_the_results(page, seeded):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/")
    facets = page.locator("aside.facets").bounding_box()
    results = page.locator("section.results-column").bounding_box()
    assert results["y"] > facets["y"] + facets["height"] - 1
    assert facets["width"] <= 390
    screenshot(page, "catalogue-mobile")
