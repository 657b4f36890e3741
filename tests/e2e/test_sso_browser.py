"""Single sign-on end to end (registry/oidc.py; docs/security.md, "Single sign-on"): a real
OpenID Connect provider process (django-oauth-toolkit, tests/oidc_provider) and a real agency
node process on loopback, driven in real Chromium. The provider stands for the agency's identity
provider, which lies outside the system."""

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import expect

from federation import processes
from tests.e2e.conftest import single_agency_node
from tests.e2e.helpers import wait_until
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID, CLIENT_SECRET = "ema-registry", "client-secret-for-tests"
PASSWORD = "provider-password"


def provider_env(data_dir: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "OIDC_PROVIDER_DIR": str(data_dir),
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def provider_command(data_dir: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=provider_env(data_dir),
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def provider_dir(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("oidc-provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (data_dir / "oidc.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    provider_command(data_dir, "migrate", "-v0")
    return data_dir


@pytest.fixture(scope="module")
def sso(provider_dir, tmp_path_factory, marker):
    """The provider and an EMA node that trusts it; yields (node, provider URL)."""
    op_port = processes.free_port()
    op = f"http://127.0.0.1:{op_port}/o"
    env = {
        "OIDC_RP_CLIENT_ID": CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{op}/authorize/",
        "OIDC_OP_TOKEN_ENDPOINT": f"{op}/token/",
        "OIDC_OP_USER_ENDPOINT": f"{op}/userinfo/",
        "OIDC_OP_JWKS_ENDPOINT": f"{op}/.well-known/jwks.json",
        "OIDC_PROVIDER_NAME": "EMA account",
    }
    with single_agency_node(tmp_path_factory.mktemp("ema"), f"{marker}-sso", env) as node:
        provider_command(
            provider_dir,
            "setup_provider",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--redirect-uri",
            f"{node.url}/oidc/callback/",
            "--user",
            f"anna:{PASSWORD}:EMA:registry_admin",
            "--user",
            f"rita:{PASSWORD}:EMA:reader",
            "--user",
            f"bernd:{PASSWORD}:DE-BFARM:registry_admin",
        )
        log = (provider_dir / "provider.log").open("ab")
        provider = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{op_port}"],
            env=provider_env(provider_dir),
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            node.start_process("web")
            node.wait_ready()
            wait_until(
                lambda: urllib.request.urlopen(f"{op}/.well-known/jwks.json", timeout=2),
                timeout=30,
                what="the OIDC provider to answer",
            )
            yield node
        finally:
            provider.terminate()
            provider.wait(timeout=10)
            log.close()


@pytest.fixture
def page(sso):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/install-browser.sh")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=sso.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS * 2)
        yield context.new_page()
        browser.close()


def sign_in_with_provider(page, username: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.get_by_role("link", name="Sign in with EMA account").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def user_row(node, username: str) -> str:
    return (
        node.shell(
            "from registry.models import User\n"
            f"u = User.objects.get(email='{username}@agency.example')\n"
            "assert u.username.startswith('sso-')\n"
            "print(u.agency_id, u.is_staff, u.is_superuser, u.has_usable_password(),"
            " sorted(g.name for g in u.groups.all()))\n"
        )
        .strip()
        .splitlines()[-1]
    )


def test_agency_staff_sign_in_with_their_agency_account_and_land_in_the_admin(sso, page):
    sign_in_with_provider(page, "anna")
    expect(page).to_have_url(f"{sso.url}/admin/")
    expect(page.locator("#user-tools")).to_contain_text("Anna")
    expect(page.get_by_role("link", name="AI use cases")).to_be_visible()
    screenshot(page, "sso-signed-in-admin")
    # Staff of EMA in the agency admins' group, never superuser, no local password.
    assert user_row(sso, "anna") == "EMA True False False ['Agency admins']"


def test_a_reader_signs_in_without_admin_rights(sso, page):
    sign_in_with_provider(page, "rita")
    # Not staff: the admin's sign-in page says the account may not use it.
    expect(page.locator("body")).not_to_contain_text("Site administration")
    assert user_row(sso, "rita").startswith("EMA False False False []")


def test_staff_of_another_agency_are_refused_with_the_reason(sso, page):
    sign_in_with_provider(page, "bernd")
    expect(page).to_have_url(f"{sso.url}/admin/login/")
    expect(page.locator(".errornote, .messagelist")).to_contain_text(
        "Your identity provider says your agency is DE-BFARM; this registry is EMA's."
    )
    screenshot(page, "sso-other-agency-refused")
    assert "DoesNotExist" in sso.shell(
        "from registry.models import User\n"
        "try:\n    User.objects.get(email='bernd@agency.example')\n"
        "except User.DoesNotExist as exc:\n    print('DoesNotExist')\n"
    )


def test_the_local_password_form_stays_for_the_embedded_default(sso, page):
    page.goto("/admin/login/")
    expect(page.get_by_label("Username:")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in with EMA account")).to_be_visible()
    screenshot(page, "sso-login-page")
