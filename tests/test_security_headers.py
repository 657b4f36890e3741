"""Response headers and deployment settings: a Content-Security-Policy (django-csp) that no page
needs an inline script for, Permissions-Policy, no framing, and `check --deploy` silent for a
production configuration. tests/e2e/test_csp_browser.py runs the pages under the CSP in Chromium.
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.catalogue.test_pages import TRANSLATION_UID, seed_catalogue
from tests.registry.test_admin import form_data

ROOT = Path(__file__).resolve().parent.parent
# An executable inline script: no src, and not a data block (type="application/json"), which the
# browser never runs and the CSP does not govern.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(src=|type=\"application/[a-z+]*json\"))[^>]*>", re.I)
PAGES = [
    "/",
    "/agencies/",
    "/agencies/DE-BFARM/",
    "/statistics/",
    f"/use-cases/DE-BFARM/{TRANSLATION_UID}/",
    "/api/schema/swagger/",
    "/api/schema/redoc/",
]


@pytest.fixture
def catalogue_data(db, settings):
    settings.PAGES_ANON_THROTTLE = ""
    cache.clear()
    return seed_catalogue()


def directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in policy.split(";")) if part}


@pytest.mark.parametrize("url", PAGES)
def test_pages_carry_a_csp_and_need_no_inline_script(client, catalogue_data, url):
    response = client.get(url)
    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == "script-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert INLINE_SCRIPT.findall(response.content.decode()) == []
    assert response["Permissions-Policy"].startswith("accelerometer=()")
    assert response["X-Frame-Options"] == "DENY"


def test_only_redoc_and_the_admin_allow_inline_styles(client, catalogue_data, admin_user):
    assert "'unsafe-inline'" not in directives(client.get("/"))["style-src"]
    assert "'unsafe-inline'" not in directives(client.get("/api/schema/swagger/"))["style-src"]
    assert "'unsafe-inline'" in directives(client.get("/api/schema/redoc/"))["style-src"]
    client.force_login(admin_user)
    admin_page = client.get("/admin/")
    assert "'unsafe-inline'" in directives(admin_page)["style-src"]
    assert directives(admin_page)["script-src"] == "script-src 'self'"


def test_swagger_ui_takes_its_init_script_from_a_url(client, catalogue_data):
    script = client.get("/api/schema/swagger/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_the_admin_error_summary_focuses_without_an_inline_script(client, home_admin):
    client.force_login(home_admin)
    response = client.post(
        reverse("admin:registry_usecase_add"), form_data(stage="production", operational_since="")
    )
    html = response.content.decode()
    assert 'id="error-summary"' in html
    assert INLINE_SCRIPT.findall(html) == []
    assert "registry/admin/error_summary.js" in html


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY"}
    }
    return subprocess.run(
        # Every check, not only the security tag: the API schema's warnings count too.
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_silent_for_a_production_node(tmp_path):
    result = check_deploy(
        DATA_DIR=str(tmp_path),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        SITE_URL="https://ema.example.eu",
        ALLOWED_HOSTS="ema.example.eu",
        BEHIND_TLS_PROXY="1",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_node_given_its_host_names_runs_without_debug_unless_asked(tmp_path):
    hosts = {"DATA_DIR": str(tmp_path), "ALLOWED_HOSTS": "ema.example.eu"}
    refused = check_deploy(**hosts)
    assert refused.returncode != 0
    assert "DEBUG is off but SECRET_KEY is the placeholder" in refused.stderr
    asked = check_deploy(**hosts, DEBUG="1")
    assert "security.W018" in asked.stderr  # DEBUG on, as asked, and reported
