"""Redis really down (issue 14, item 5): agency A runs with a Redis server of its own as Celery
broker and as cache (CACHE_URL), and that server is stopped. An agency admin saves a record of
network level in the admin, in a real browser against A's web process: the save succeeds (the
push-soon hook and the cache fail softly after the commit). When Redis is back, A's worker and
beat reconnect and the network converges on the change without anyone acting.

A's Redis server is the fault scenarios' own (tests/e2e/conftest.py, redis_server.py), never
the machine's shared one; it starts again on the same port empty, as a Redis that lost its
queue."""

import time
from pathlib import Path

import pytest

from federation import probe
from tests.e2e.helpers import RECOVERY_SECONDS, act, key, wait_converged
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, TIMEOUT_MS

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "ema-registrar", "correct-horse-battery"


@pytest.fixture(scope="module")
def network(faults_network):
    return faults_network


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run .ci/install-browser.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def signed_in(browser, node):
    node.manage("create_agency_admin", ADMIN, "--agency=EMA", f"--password={PASSWORD}")
    context = browser.new_context(base_url=node.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/admin/login/")
    page.locator("#id_username").fill(ADMIN)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_url("**/admin/")
    return page


def test_an_admin_save_with_redis_down_succeeds_and_reaches_the_network_once_redis_is_back(
    hub, agency_a, agency_b, faults_redis, browser
):
    uid = act(agency_a, "create", count=1, level="network", title="Before the outage")[0]
    wait_converged(agency_a, hub, agency_b, timeout=RECOVERY_SECONDS)
    page = signed_in(browser, agency_a)
    page.goto("/admin/registry/usecase/?q=Before+the+outage")
    page.get_by_role("link", name="Before the outage").first.click()
    page.locator("#id_title").wait_for()

    faults_redis.stop()
    try:  # the faults federation lives on: whatever fails here, the next test gets its Redis
        page.locator("#id_title").fill("Saved while Redis was down")
        started = time.monotonic()
        with page.expect_navigation() as navigation:
            page.locator("input[name=_save]").click()
        took = time.monotonic() - started
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "redis-down-admin-save.png"), full_page=True)
        assert navigation.value.status == 200, navigation.value.status
        assert page.locator("ul.messagelist .success").count() == 1, page.content()[-3000:]
        print(f"\nadmin save with Redis down answered in {took:.1f}s")
        assert probe.use_cases(agency_a)[key(agency_a, uid)].version == 2
        assert probe.use_cases(hub)[key(agency_a, uid)].version == 1, "no broker: nothing pushed"
    finally:
        faults_redis.start()
    wait_converged(agency_a, hub, agency_b, timeout=RECOVERY_SECONDS)
    assert probe.use_cases(agency_b)[key(agency_a, uid)].title == "Saved while Redis was down"
