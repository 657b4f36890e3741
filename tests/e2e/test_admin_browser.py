"""The admin as an agency admin uses it, in a real browser: registering a use case (the error
summary, drafts), the duplicate warning and the related use cases picker (registry/admin_related.py
and its related.js), publishing from the list, and the list's width at 1280 px.

Chromium, the live server and the screenshots are those of tests/e2e/test_browser.py; each
scenario writes artifacts/screenshots/admin-*.png. The picker's endpoints are debounced: the
locators' auto-waiting waits for them, never a sleep.
"""

import datetime as dt
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from registry.models import UseCase
from tests.e2e import test_browser as catalogue
from tests.e2e.test_browser import PASSWORD, screenshot
from tests.factories import UseCaseFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The same module-scoped Chromium and 1280x900 page on the live server as the catalogue's tests.
browser = catalogue.browser
page = catalogue.page

ADD = reverse("admin:registry_usecase_add")
CHANGELIST = reverse("admin:registry_usecase_changelist")
DUPLICATE_TITLE = "Duplicate ICSR detection in EudraVigilance"


@pytest.fixture
def signed_in(page, home_agency, settings):
    """The page, signed in through the login form as an agency admin (staff, not superuser)."""
    # A quick hash: the slow default would take a second per test (the live server shares these).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    UserFactory(username="registrar", agency=home_agency, is_superuser=False, password=PASSWORD)
    page.goto(reverse("admin:login"))
    page.get_by_label("Username").fill("registrar")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_contain_text(settings.NODE_AGENCY)
    return page


def change_url(use_case: UseCase) -> str:
    return reverse("admin:registry_usecase_change", args=[use_case.pk])


def messages(page):
    return page.locator("ul.messagelist")


def run_action(page, title: str, action: str) -> None:
    row = page.locator("#result_list tbody tr").filter(has_text=title)
    row.locator("input.action-select").check()
    page.locator("select[name=action]").select_option(label=action)
    page.locator("button[name=index]").click()


def test_the_add_form_lists_what_publishing_needs_and_a_draft_needs_only_a_title(signed_in):
    page = signed_in
    page.goto(ADD)
    page.locator("#id_title").fill("Signal triage of ICSRs")
    page.locator("#id_publication_level").select_option(label="Network")
    started_on = page.locator("#id_started_on")
    assert started_on.get_attribute("type") == "date"  # no 01/03/2025 to misread
    started_on.fill("2025-03-01")
    page.locator("input[name=_save]").click()

    summary = page.locator("nav#error-summary")
    expect(summary).to_be_focused()  # read first, before the form
    expect(summary.locator("h2")).to_contain_text("This use case was not saved")
    links = summary.locator("li a")
    expect(links.filter(has_text=re.compile("^summary$", re.I))).to_have_count(1)
    hrefs = links.evaluate_all("all => all.map(a => a.getAttribute('href'))")
    assert len(hrefs) >= 5 and all(re.fullmatch(r"#id_\w+", href) for href in hrefs), hrefs
    for href in hrefs:  # every link leads to a field of the form
        assert page.locator(href).count() == 1, href
    screenshot(page, "admin-add-errors")

    target = page.locator(hrefs[-1])  # the furthest down the form: Contact, a text input
    expect(target).not_to_be_in_viewport()
    links.last.click()
    expect(target).to_be_in_viewport()
    expect(target).to_be_focused()

    assert started_on.input_value() == "2025-03-01"  # kept through the refused save
    page.locator("#id_publication_level").select_option(label="Draft")
    page.locator("input[name=_save]").click()
    expect(messages(page)).to_contain_text("Saved “Signal triage of ICSRs” at level Draft")
    saved = UseCase.objects.get(title="Signal triage of ICSRs")
    assert (saved.publication_level, saved.started_on) == ("draft", dt.date(2025, 3, 1))

    page.goto(ADD)
    page.locator("#id_title").fill("Only a title")
    page.locator("input[name=_save]").click()
    expect(messages(page)).to_contain_text(
        re.compile(r"Saved “Only a title” at level Draft.*still needs: .*summary", re.I)
    )
    assert UseCase.objects.get(title="Only a title").publication_level == "draft"
    screenshot(page, "admin-draft-saved")


def test_typing_a_title_warns_of_another_agencys_similar_use_case_and_records_the_duplicate(
    signed_in, other_agency
):
    page = signed_in
    theirs = UseCaseFactory(
        origin=other_agency, publication_level="network", title=DUPLICATE_TITLE, stage="pilot"
    )
    page.goto(ADD)
    panel = page.locator("section#similar-use-cases")
    expect(panel).to_be_attached()
    expect(panel).to_be_hidden()
    page.locator("#id_title").fill("Duplicate ICSR detection")

    match = panel.locator(f"li.similar-use-case[data-origin='DE-BFARM'][data-uid='{theirs.uid}']")
    expect(match.locator("a.similar-title")).to_have_text(DUPLICATE_TITLE)
    expect(match.locator(".similar-facts")).to_contain_text("BfArM (DE-BFARM), Pilot")
    match.locator("button[data-kind='duplicate_of']").click()
    expect(match.locator("button[data-kind='duplicate_of']")).to_have_attribute(
        "aria-pressed", "true"
    )
    row = page.locator(f"#related-picker li.related-row[data-uid='{theirs.uid}']")
    expect(row.locator("a.related-title")).to_have_text(DUPLICATE_TITLE)
    expect(row.locator("select.related-kind")).to_have_value("duplicate_of")
    assert_lined_up(panel.locator("h3"), match)
    assert_lined_up(page.locator("#related-search"), row)
    screenshot(page, "admin-duplicate-warning")

    page.locator("input[name=_save]").click()
    expect(messages(page)).to_contain_text("Saved “Duplicate ICSR detection” at level Draft")
    ours = UseCase.objects.get(title="Duplicate ICSR detection")
    assert ours.related == [{"origin": "DE-BFARM", "uid": str(theirs.uid), "kind": "duplicate_of"}]


def test_the_related_picker_adds_and_removes_a_received_use_case(signed_in, other_agency):
    page = signed_in
    ours = UseCaseFactory(title="Product information checks", publication_level="draft")
    theirs = UseCaseFactory(
        origin=other_agency, publication_level="network", title="Übersetzung der Produktinformation"
    )
    page.goto(change_url(ours))
    page.locator("input#related-search").fill("Produktinformation")
    result = page.locator(f"ul#related-results li.related-result[data-uid='{theirs.uid}']")
    expect(result).to_have_attribute("data-origin", "DE-BFARM")
    result.locator("button[data-kind='same_product']").click()
    row = page.locator(f"ul#related-rows li.related-row[data-uid='{theirs.uid}']")
    expect(row.locator(".related-agency")).to_have_text("BfArM (DE-BFARM)")
    expect(page.locator("ul#related-results li")).to_have_count(0)
    assert_lined_up(page.locator("#related-search"), row)
    screenshot(page, "admin-related-picker")

    page.locator("input[name=_continue]").click()
    expect(messages(page)).to_contain_text("Saved “Product information checks”")
    ours.refresh_from_db()
    assert ours.related == [{"origin": "DE-BFARM", "uid": str(theirs.uid), "kind": "same_product"}]

    expect(row.locator("select.related-kind")).to_have_value("same_product")  # after reload
    row.locator("button.related-remove").click()
    expect(row).to_have_count(0)
    expect(page.locator("#related-picker .related-empty")).to_be_visible()
    page.locator("input[name=_continue]").click()
    expect(messages(page)).to_contain_text("Saved “Product information checks”")
    ours.refresh_from_db()
    assert ours.related == []


def test_publishing_an_incomplete_draft_is_refused_until_the_gap_is_filled(signed_in, settings):
    settings.HUB_URL = "http://127.0.0.1:9/"  # a node of the network: its hub gets it at once
    page = signed_in
    draft = UseCaseFactory(title="Incomplete triage draft", publication_level="draft", summary="")
    page.goto(CHANGELIST)
    run_action(page, draft.title, "Publish to the network")
    refusal = messages(page).locator("li.error")
    expect(refusal).to_contain_text("“Incomplete triage draft” was not changed")
    expect(refusal).to_contain_text(re.compile("summary", re.I))
    screenshot(page, "admin-publish-refused")

    page.get_by_role("link", name=draft.title).click()
    readiness = page.locator(".field-readiness ul.readiness")
    gap = readiness.locator("a[href='#id_summary']")
    expect(gap).to_have_text(re.compile("^summary$", re.I))
    bullet = readiness.locator("li").first.evaluate("li => getComputedStyle(li).listStyleType")
    assert bullet == "disc"
    assert_lined_up(page.locator(".field-readiness .readonly > p"), readiness, indent=30)
    screenshot(page, "admin-before-publishing")
    gap.click()
    expect(page.locator("#id_summary")).to_be_in_viewport()
    page.locator("#id_summary").fill("Ranks incoming case reports so assessors see urgent first.")
    page.locator("input[name=_save]").click()

    run_action(page, draft.title, "Publish to the network")
    expect(messages(page)).to_contain_text(
        "Published “Incomplete triage draft” to the network: the hub has it within seconds"
    )
    draft.refresh_from_db()
    assert draft.publication_level == "network"
    screenshot(page, "admin-published")


def test_the_list_opens_on_own_records_and_fits_1280_pixels(signed_in, other_agency):
    page = signed_in
    UseCaseFactory(title="Signal detection assistant for EudraVigilance")
    UseCaseFactory(title="Incomplete draft", summary="", purpose="", stage=None)
    UseCaseFactory(
        origin=other_agency, publication_level="network", title="Übersetzung der Produktinformation"
    )
    page.goto(CHANGELIST)
    results = page.locator("#result_list")
    expect(results).to_contain_text("Signal detection assistant for EudraVigilance")
    expect(results).not_to_contain_text("Übersetzung der Produktinformation")
    assert_fits(page)
    screenshot(page, "admin-list-own")

    page.locator("#changelist-filter").get_by_role(
        "link", name="Network's copies (other agencies)"
    ).click()
    expect(results).to_contain_text("Übersetzung der Produktinformation")
    expect(results).not_to_contain_text("Signal detection assistant")
    assert_fits(page)
    screenshot(page, "admin-list-received")


def assert_lined_up(reference, *boxes, indent: int = 0) -> None:
    """Lists start where the text beside them does, not another 170 px in (form .aligned ul)."""
    left = reference.bounding_box()["x"]
    for box in boxes:
        x = box.bounding_box()["x"]
        assert left - 1 <= x <= left + indent, (x, left)


def assert_fits(page) -> None:
    """No sideways scrolling: the table ends inside the viewport, its last column shown."""
    box = page.locator("#result_list").bounding_box()
    assert box["x"] + box["width"] <= 1280, box
    expect(page.locator("#result_list thead th").last).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
