"""Transport settings (docs/security.md, Transport): X-Forwarded-Proto is trusted only behind the
configured proxy; secure cookies and HSTS follow an https SITE_URL. Read in a fresh interpreter:
settings are module-level."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOWN = ("SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
         "SECURE_HSTS_SECONDS", "SYNC_CA_BUNDLE")  # fmt: skip


def transport_settings(tmp_path, **env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SITE_URL", *SHOWN}}
    environment.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings", **env)
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        f"print(repr({{name: getattr(s, name, None) for name in {SHOWN!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return eval(result.stdout.strip().splitlines()[-1])  # noqa: S307 (our own repr of settings)


def test_forwarded_proto_is_not_trusted_without_a_configured_proxy(tmp_path):
    values = transport_settings(tmp_path)
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["SESSION_COOKIE_SECURE"] is False and values["SECURE_HSTS_SECONDS"] == 0


def test_behind_the_tls_proxy_its_header_is_trusted(tmp_path):
    values = transport_settings(tmp_path, BEHIND_TLS_PROXY="1")
    assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_an_https_site_in_production_gets_secure_cookies_and_hsts(tmp_path):
    values = transport_settings(
        tmp_path, SITE_URL="https://hub.example.eu", DEBUG="0", SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="hub.example.eu", SYNC_CA_BUNDLE="/etc/registry/ca.pem",
    )  # fmt: skip
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert values["SYNC_CA_BUNDLE"] == "/etc/registry/ca.pem"
