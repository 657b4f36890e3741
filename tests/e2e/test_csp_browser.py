"""The Content-Security-Policy in a real browser: Swagger UI, ReDoc, the catalogue's pages and the
admin render and run under it with no violation (Chromium reports each one as a console error
and a securitypolicyviolation event; both are collected). Screenshots in artifacts/screenshots/.
"""

import pytest
from django.core.cache import cache

from tests.e2e.test_browser import SCREENSHOTS, TIMEOUT_MS, browser  # noqa: F401
from tests.factories import UserFactory

PASSWORD = "a-long-passphrase-for-tests"
TITLE = "AI use-case registry: network catalogue API"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any page script, outside the page's CSP (Playwright injects it through DevTools).
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def watched(browser, live_server):  # noqa: F811
    """A tab and the CSP complaints it collects: (page, console errors)."""
    cache.clear()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(COLLECT_VIOLATIONS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    yield tab, errors
    context.close()


def screenshot(page, name: str) -> None:
    """The first screenful only: ReDoc's full page is too tall to capture in time."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def violations(page, errors) -> list[str]:
    events = page.evaluate("window.__cspViolations")
    return events + [text for text in errors if "Content Security Policy" in text]


def test_swagger_ui_runs_under_the_csp(watched, home_agency):
    page, errors = watched
    response = page.goto("/api/schema/swagger/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".swagger-ui .info .title").filter(has_text=TITLE).wait_for()
    page.locator(".opblock").first.wait_for()
    screenshot(page, "csp-swagger-ui")
    assert violations(page, errors) == []


def test_redoc_runs_under_the_csp(watched, home_agency):
    page, errors = watched
    page.goto("/api/schema/redoc/")
    page.locator("h1").filter(has_text=TITLE).wait_for()
    page.locator("[data-section-id]").first.wait_for()
    screenshot(page, "csp-redoc")
    assert violations(page, errors) == []


def test_catalogue_pages_run_under_the_csp(watched, home_agency):
    page, errors = watched
    for url in ("/", "/statistics/", "/agencies/"):
        response = page.goto(url)
        assert response.status == 200
        assert response.headers["permissions-policy"].startswith("accelerometer=()")
    page.goto("/")
    page.get_by_label("Search use cases").fill("signal")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state("networkidle")
    screenshot(page, "csp-catalogue")
    assert violations(page, errors) == []


def test_the_admin_runs_under_the_csp(watched, home_agency):
    admin = UserFactory(username="csp-admin", agency=home_agency, is_superuser=True)
    admin.set_password(PASSWORD)
    admin.save()
    page, errors = watched
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("csp-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Administration", exact=True).wait_for()
    for url in ("/admin/registry/usecase/", "/admin/registry/usecase/add/"):
        assert page.goto(url).status == 200
    screenshot(page, "csp-admin-add")
    assert violations(page, errors) == []
