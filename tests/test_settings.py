"""Settings are read in a fresh interpreter each time: they are module-level and read once."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY", "NODE_ROLE"}
    }
    environment.update(env)
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from django.db import connection; "
        "s.DATABASES['default']['ENGINE'].endswith('sqlite3') and connection.ensure_connection(); "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.NODE_ROLE, s.NODE_AGENCY)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_defaults_need_no_server(tmp_path):
    result = load_settings(DATA_DIR=str(tmp_path / "not-yet-there"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://", "agency", "EMA"]


def test_database_and_broker_urls_select_postgresql_and_redis(tmp_path):
    result = load_settings(
        DATA_DIR=str(tmp_path),
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/example",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/9",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == [
        "django.db.backends.postgresql",
        "redis://127.0.0.1:6379/9",
    ]


def test_a_hub_gets_the_hub_code_by_default(tmp_path):
    result = load_settings(DATA_DIR=str(tmp_path), NODE_ROLE="hub")
    assert result.stdout.split()[2:] == ["hub", "EMRN-HUB"]


def test_start_up_refuses_debug_off_with_the_placeholder_secret(tmp_path):
    result = load_settings(DATA_DIR=str(tmp_path), DEBUG="0")
    assert result.returncode != 0
    assert "DEBUG is off but SECRET_KEY is the placeholder" in result.stderr


def test_debug_off_starts_with_a_real_secret(tmp_path):
    result = load_settings(DATA_DIR=str(tmp_path), DEBUG="0", SECRET_KEY="s3cr3t-" * 8)
    assert result.returncode == 0, result.stderr


def test_a_malformed_setting_is_named(tmp_path):
    result = load_settings(DATA_DIR=str(tmp_path), NODE_ROLE="spoke")
    assert "NODE_ROLE='spoke'" in result.stderr
    result = load_settings(DATA_DIR=str(tmp_path), DEBUG="maybe")
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_a_malformed_email_url_stops_start_up_naming_email_url(tmp_path):
    for url, form in [
        ("smtp://relay:notaport", "smtp://user:password@host:port"),
        ("file://relative/path", "file:///absolute/folder"),
    ]:
        result = load_settings(DATA_DIR=str(tmp_path), EMAIL_URL=url)
        assert result.returncode != 0, url
        last_line = result.stderr.strip().splitlines()[-1]
        assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: EMAIL_URL")
        assert form in last_line
        assert "ValueError" not in result.stderr


def test_a_well_formed_email_url_starts(tmp_path):
    result = load_settings(DATA_DIR=str(tmp_path), EMAIL_URL=f"file://{tmp_path / 'mail'}")
    assert result.returncode == 0, result.stderr


def cache_backend(tmp_path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    code = "import django; django.setup(); from django.conf import settings as s; "
    code += "print(s.CACHES['default']['BACKEND'], s.CACHES['default'].get('LOCATION', ''))"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **environment,
            **env,
            "DATA_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cache_is_per_process_by_default_and_shared_in_redis_by_cache_url(tmp_path):
    default = cache_backend(tmp_path)
    shared = cache_backend(tmp_path, CACHE_URL="redis://127.0.0.1:6379/7")
    assert default.stdout.split() == ["django.core.cache.backends.locmem.LocMemCache"]
    assert shared.stdout.split() == [
        "config.cache.FailSoftRedisCache",  # Django's RedisCache, a miss while Redis is down
        "redis://127.0.0.1:6379/7",
    ]


def test_an_unknown_cache_url_is_refused_by_name(tmp_path):
    result = cache_backend(tmp_path, CACHE_URL="memcached://127.0.0.1:11211")
    assert result.returncode != 0
    assert "CACHE_URL='memcached://127.0.0.1:11211'" in result.stderr
