"""The one settings module. Everything a deployment changes comes from the environment.

With no variables set it runs on a laptop: SQLite, a Celery broker on the file system, debug on.
Production sets DATABASE_URL, CELERY_BROKER_URL, CACHE_URL, SECRET_KEY, DEBUG=0 and ALLOWED_HOSTS.
"""

import datetime as dt
import os
import re
import urllib.parse
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRET = "insecure-local-development-key-change-me"


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A throttle rate "<n>/<sec|min|hour|day>" (DRF's and django-ratelimit's form), or empty."""
    rate = env_str(name, default).strip()
    if rate and not re.fullmatch(r"\d+/(s|sec|m|min|h|hour|d|day)", rate):
        raise ImproperlyConfigured(f"{name}={rate!r}: use <n>/<sec|min|hour|day>, e.g. 120/min")
    return rate


def env_int_item(name: str, item: str) -> int:
    """One item of a comma-separated list of whole numbers, zero or more."""
    if not item.isdigit():
        raise ImproperlyConfigured(f"{name}: {item!r} is not a whole number of seconds")
    return int(item)


# Node identity (PROTOCOL.md: Identity and records)
NODE_ROLE = env_str("NODE_ROLE", "agency")
if NODE_ROLE not in {"agency", "hub"}:
    raise ImproperlyConfigured(f"NODE_ROLE={NODE_ROLE!r}: use 'agency' or 'hub'")
NODE_AGENCY = env_str("NODE_AGENCY", "EMRN-HUB" if NODE_ROLE == "hub" else "EMA")
if not re.fullmatch(r"[A-Z0-9-]{2,32}", NODE_AGENCY):
    raise ImproperlyConfigured(
        f"NODE_AGENCY={NODE_AGENCY!r}: upper-case letters, digits and '-', 2-32 characters"
    )

# DEBUG default: on only for a node that answers to localhost alone (a laptop); a node given
# ALLOWED_HOSTS, i.e. reachable under a real name, runs with DEBUG off unless DEBUG=1 asks.
DEBUG = env_bool("DEBUG", "ALLOWED_HOSTS" not in os.environ)
SECRET_KEY = env_str("SECRET_KEY", PLACEHOLDER_SECRET)
if not DEBUG and SECRET_KEY == PLACEHOLDER_SECRET:
    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY is the placeholder: set SECRET_KEY (or DEBUG=1 on a laptop)"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_celery_beat",
    "axes",
    "registry",
    "catalogue",
    "sync",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.RateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "registry.context_processors.single_sign_on",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'registry.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A fresh clone has no var/ yet, and SQLite cannot create the folder of its file.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server read while a worker writes; the timeout rides out short locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "registry.User"

# Password validators: all four of Django's, with a minimum of 12 characters (OWASP ASVS 4.0.3
# V2.1.1); they apply wherever a password is set (admin forms, create_agency_admin, seed_demo).
PASSWORD_MIN_LENGTH = env_int("PASSWORD_MIN_LENGTH", 12)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Axes: repeated failed logins (admin form, API Basic auth: both go through authenticate()) lock
# out that user name from that address (config.client_ip) for LOGIN_LOCKOUT_MINUTES; a success
# clears the count. Failures are kept in the database (axes' tables), not the cache.
AUTHENTICATION_BACKENDS = [
    "config.auth.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner on every start of every command
AXES_HTTP_RESPONSE_CODE = 429

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
# One display format for dates, ISO-only input (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# In debug, WhiteNoise serves straight from the apps' static folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "admin:login"

# Single sign-on (registry/oidc.py, docs/security.md): agency staff sign in with their agency's
# OpenID Connect provider when OIDC_RP_CLIENT_ID is set; local passwords stay (the embedded
# default has no provider). The provider's endpoints are given one by one, as
# mozilla-django-oidc takes them (its discovery document lists them).
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "your agency account")
OIDC_AGENCY_CLAIM = env_str("OIDC_AGENCY_CLAIM", "agency")
OIDC_ROLES_CLAIM = env_str("OIDC_ROLES_CLAIM", "roles")
OIDC_ADMIN_ROLE = env_str("OIDC_ADMIN_ROLE", "registry_admin")
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.append("registry.oidc.AgencyOIDCBackend")
    OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "")
    OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = "openid email profile"
    _oidc_endpoints = {
        name: env_str(name, "")
        for name in (
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
        )
    }
    _oidc_missing = [name for name, url in _oidc_endpoints.items() if not url]
    if _oidc_missing or not OIDC_RP_CLIENT_SECRET:
        raise ImproperlyConfigured(
            "OIDC_RP_CLIENT_ID is set, so single sign-on needs "
            + ", ".join(
                _oidc_missing + ([] if OIDC_RP_CLIENT_SECRET else ["OIDC_RP_CLIENT_SECRET"])
            )
        )
    globals().update(_oidc_endpoints)
    LOGIN_REDIRECT_URL = "/admin/"
    LOGIN_REDIRECT_URL_FAILURE = "/admin/login/"
    LOGOUT_REDIRECT_URL = "/"

# The cache (cached catalogue counts and responses, the anonymous API throttle): in each process's
# memory by default; a redis:// URL gives all of a node's gunicorn workers one shared cache.
# Cache fail-soft: a Redis that is down or slow costs speed, never an answer or a save
# (config/cache.py); a call waits at most CACHE_TIMEOUT_MILLISECONDS for it.
CACHE_URL = env_str("CACHE_URL", "locmem://")
CACHE_TIMEOUT_MILLISECONDS = env_int("CACHE_TIMEOUT_MILLISECONDS", 500)


def caches_from_url(url: str) -> dict[str, dict]:
    """Django's CACHES for CACHE_URL: locmem:// (or empty), redis://host:port/N, rediss://..."""
    if url.startswith(("redis://", "rediss://")):
        timeout = CACHE_TIMEOUT_MILLISECONDS / 1000
        return {
            "default": {
                "BACKEND": "config.cache.FailSoftRedisCache",
                "LOCATION": url,
                "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
            }
        }
    if url in {"", "locmem://"}:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    raise ImproperlyConfigured(f"CACHE_URL={url!r}: use locmem:// or redis://host:port/N")


CACHES = caches_from_url(CACHE_URL)

# Celery: a broker on the file system by default, so nothing needs a server.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = Path(env_str("CELERY_BROKER_DIR", str(DATA_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's file-system transport, writing each message atomically (config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
# A Redis that hangs (paused, or a dead network path: the TCP connection opens, nothing answers)
# must fail a publish within seconds, not hang the admin's save that queues a sync (sync/signals.py,
# webhooks/signals.py, issue 14 review). redis-py has no socket timeout by default. The worker's
# BRPOP waits 1 s, well within it. max_retries 0: one attempt when a publisher opens its channel
# (kombu's default retries for broker_connection_timeout, a second timeout); the worker's own
# reconnection follows broker_connection_max_retries, not this.
CELERY_BROKER_SOCKET_TIMEOUT_SECONDS = env_int("CELERY_BROKER_SOCKET_TIMEOUT_SECONDS", 3)
REDIS_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": CELERY_BROKER_SOCKET_TIMEOUT_SECONDS,
    "socket_timeout": CELERY_BROKER_SOCKET_TIMEOUT_SECONDS,
    "max_retries": 0,
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# django-celery-beat's, minding a last run a clock left in the future (sync/schedule.py).
CELERY_BEAT_SCHEDULER = "sync.schedule:ClockSafeScheduler"
CELERY_TIMEZONE = "UTC"

# Federation (PROTOCOL.md: Operations)
HUB_URL = env_str("HUB_URL", "")
HUB_TOKEN = env_str("HUB_TOKEN", "")
SYNC_INTERVAL_SECONDS = env_int("SYNC_INTERVAL_SECONDS", 300)
SYNC_HTTP_TIMEOUT_SECONDS = env_int("SYNC_HTTP_TIMEOUT_SECONDS", 30)
SYNC_PUSH_BATCH_SIZE = env_int("SYNC_PUSH_BATCH_SIZE", 500)
SYNC_PUSH_CONCURRENCY = env_int("SYNC_PUSH_CONCURRENCY", 2)
SYNC_PULL_PAGE_SIZE = env_int("SYNC_PULL_PAGE_SIZE", 500)
# The hub calls an agency healthy when it was in touch this recently (three of its own intervals
# by default, and never under the token's one-minute last-use resolution) and has no refused
# record left open (sync/ledger.py).
SYNC_HEALTHY_WITHIN_SECONDS = env_int(
    "SYNC_HEALTHY_WITHIN_SECONDS", max(180, 3 * SYNC_INTERVAL_SECONDS)
)
# How long the hub keeps its ledger of exchanges with agencies.
SYNC_LEDGER_DAYS = env_int("SYNC_LEDGER_DAYS", 90)

# Peers, tokens and transport (docs/security.md: Peers and tokens, Transport) ------------------
# A received version more than this above the stored one is refused (sync/receiver.py).
SYNC_MAX_VERSION_LEAP = env_int("SYNC_MAX_VERSION_LEAP", 1000)
# After `issue_peer_token --rotate`, the agency's older tokens keep working this long.
PEER_TOKEN_OVERLAP_HOURS = env_int("PEER_TOKEN_OVERLAP_HOURS", 24)
# CA certificates the sync client trusts for https peers (a PEM file); empty: the default bundle.
# Read at each sync, not at start-up: in the compose stack the proxy writes it after the nodes
# start (a sync before then fails and is retried like any peer failure).
SYNC_CA_BUNDLE = env_str("SYNC_CA_BUNDLE", "")
# Trust X-Forwarded-Proto only behind the proxy that sets it (docker/Caddyfile): anywhere else a
# client could claim https itself.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SERVED_OVER_HTTPS = env_str("SITE_URL", "").startswith("https://")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", SERVED_OVER_HTTPS)
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 365 * 24 * 3600 if SERVED_OVER_HTTPS and not DEBUG else 0
)
# A node served over https sends its peer tokens over https only: a peer URL of http:// is
# refused in the admin and by the sync client (a token in clear text is a stolen token).
SYNC_REQUIRE_HTTPS = env_bool("SYNC_REQUIRE_HTTPS", SERVED_OVER_HTTPS)

# Deploy checks: `manage.py check --deploy` reports nothing for a production node (DEBUG=0,
# SECRET_KEY, SITE_URL https://..., BEHIND_TLS_PROXY=1); tests/test_security_headers.py runs it.
# Plain-http pages are redirected to https; /federation/ is not (a peer's request already
# carried its token, and a redirected POST would lose its body).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SERVED_OVER_HTTPS and not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^federation/"]
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
X_FRAME_OPTIONS = "DENY"
# HSTS preloading binds the whole domain for months: the domain owner's choice, so not a default
# and its reminder (W021) is silenced until it is made.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# E-mail notices (registry/notices.py), sent by the Celery worker. EMAIL_URL, else the usual
# EMAIL_* variables (SMTP when EMAIL_HOST is set), else files in $DATA_DIR/mail: no server needed.
EMAIL_SCHEMES = {
    "smtp": "smtp",
    "smtp+tls": "smtp",
    "smtp+ssl": "smtp",
    "smtps": "smtp",
    "file": "filebased",
    "console": "console",
    "locmem": "locmem",
}


def email_from_url(url: str) -> dict[str, object]:
    """Django's EMAIL_* settings from one URL: smtp://user:password@host:port (smtp+tls:// for
    STARTTLS, smtp+ssl:// or smtps:// for implicit TLS), file:///absolute/folder, console://,
    locmem://. Anything else stops start-up with ImproperlyConfigured naming EMAIL_URL and the
    form expected (never the URL itself: it may hold a password).
    Written here rather than taken from django-environ (whose email_url_config was tried): it
    reads filemail:///var/mail as the relative path var/mail, turns smtps:// into STARTTLS
    instead of implicit TLS and leaves the port unset, each a silent misdelivery."""
    smtp_form = "smtp://user:password@host:port (or smtp+tls://, smtp+ssl://, smtps://)"
    file_form = "file:///absolute/folder, e.g. file:///var/mail/registry"
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as error:  # an unbalanced [ of an IPv6 host
        raise ImproperlyConfigured(f"EMAIL_URL is not a URL ({error}); use {smtp_form}") from None
    backend = EMAIL_SCHEMES.get(parts.scheme)
    if backend is None:
        raise ImproperlyConfigured(
            f"EMAIL_URL: unknown scheme {parts.scheme!r}; use one of {', '.join(EMAIL_SCHEMES)}"
        )
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"EMAIL_URL takes no ?query or #fragment: {parts.scheme}://…")
    config: dict[str, object] = {
        "EMAIL_BACKEND": f"django.core.mail.backends.{backend}.EmailBackend"
    }
    if backend == "filebased":
        # file://relative/path would read "relative" as a host and silently write to /path.
        if parts.netloc:
            raise ImproperlyConfigured(
                f"EMAIL_URL: a file URL has no host part ({parts.netloc!r}); use {file_form}"
            )
        path = urllib.parse.unquote(parts.path)
        if not path.startswith("/") or path.strip("/") == "":
            raise ImproperlyConfigured(f"EMAIL_URL: give an absolute folder, {file_form}")
        config["EMAIL_FILE_PATH"] = path
    elif backend == "smtp":
        try:
            port = parts.port
        except ValueError:  # not a number, or out of 0-65535
            raise ImproperlyConfigured(
                f"EMAIL_URL: the port is not a number from 1 to 65535; use {smtp_form}"
            ) from None
        if not parts.hostname:
            raise ImproperlyConfigured(f"EMAIL_URL: give the host, {smtp_form}")
        if port == 0 or parts.path not in {"", "/"}:
            raise ImproperlyConfigured(f"EMAIL_URL: a port from 1 to 65535, no path; {smtp_form}")
        ssl = parts.scheme in {"smtp+ssl", "smtps"}
        tls = parts.scheme == "smtp+tls"
        config.update(
            EMAIL_HOST=parts.hostname,
            EMAIL_PORT=port or (465 if ssl else 587 if tls else 25),
            EMAIL_HOST_USER=urllib.parse.unquote(parts.username or ""),
            EMAIL_HOST_PASSWORD=urllib.parse.unquote(parts.password or ""),
            EMAIL_USE_TLS=tls,
            EMAIL_USE_SSL=ssl,
        )
    elif parts.netloc or parts.path:
        raise ImproperlyConfigured(
            f"EMAIL_URL: {parts.scheme}:// takes nothing after it; use {parts.scheme}://"
        )
    return config


EMAIL_URL = env_str("EMAIL_URL", "")
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_URL:
    globals().update(email_from_url(EMAIL_URL))
# A mail server that stops answering fails the send (and the task retries) instead of hanging.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "AI registry <ai-registry@localhost>")
# The address people reach this node's pages at: notices link to records under it.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The stem of the linked-data IRIs (catalogue/linked_data.py): every node of a network sets the
# same one, so that a use case has one IRI wherever it is read.
CATALOGUE_BASE_URI = env_str("CATALOGUE_BASE_URI", SITE_URL).rstrip("/") + "/"
if not re.fullmatch(r"https?://[^\s/?#<>\"]+(/[^\s?#<>\"]*)?", CATALOGUE_BASE_URI):
    raise ImproperlyConfigured(
        f"CATALOGUE_BASE_URI={CATALOGUE_BASE_URI!r}: an absolute http(s) URL without query or #"
    )

# Outgoing webhooks (webhooks/, docs/webhooks.md), sent by the Celery worker.
# A receiver in a private, loopback or link-local range is refused unless this is on.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)
# Seconds before each retry of a failed delivery; one attempt more than there are entries.
WEBHOOKS_RETRY_SCHEDULE = [
    env_int_item("WEBHOOKS_RETRY_SCHEDULE", item)
    for item in env_list("WEBHOOKS_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,36000")
]
# Deliveries in a row that fail every attempt before the subscription is disabled.
WEBHOOKS_DISABLE_AFTER_FAILURES = env_int("WEBHOOKS_DISABLE_AFTER_FAILURES", 5)
WEBHOOKS_HTTP_TIMEOUT_SECONDS = env_int("WEBHOOKS_HTTP_TIMEOUT_SECONDS", 10)
# Beat's dispatcher interval (kept in Periodic tasks once created at migrate).
WEBHOOKS_DISPATCH_INTERVAL_SECONDS = env_int("WEBHOOKS_DISPATCH_INTERVAL_SECONDS", 10)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# Trusted proxies / client IP (config/client_ip.py): how many reverse proxies stand in front of
# the node (1 behind docker/Caddyfile). 0: X-Forwarded-For is ignored, the client is REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT

# Throttles, per client address, in the default cache (per process unless CACHE_URL points at a
# shared one): "<n>/<sec|min|hour|day>", empty or 0/... turns one off. Anonymous API calls
# (catalogue/api.py); anonymous pages, feeds and vocabularies, and exports (config/middleware.py);
# answers 401 to requests with credentials (a wrong Basic password), after which that address's
# requests with credentials are refused until the window ends. A cache that is down lets
# requests through (RATELIMIT_FAIL_OPEN).
API_ANON_THROTTLE = env_rate("API_ANON_THROTTLE", "120/min")
PAGES_ANON_THROTTLE = env_rate("PAGES_ANON_THROTTLE", "300/min")
EXPORTS_ANON_THROTTLE = env_rate("EXPORTS_ANON_THROTTLE", "30/min")
AUTH_FAILURE_THROTTLE = env_rate("AUTH_FAILURE_THROTTLE", "20/hour")
RATELIMIT_FAIL_OPEN = True
RATELIMIT_IP_META_KEY = "config.client_ip.client_ip"

# CSP: django-csp's Content-Security-Policy on every answer. Scripts only from this origin,
# never inline (catalogue/static, the admin's own files, Swagger UI and ReDoc from the sidecar
# package); styles too, except the admin's and ReDoc's inline ones (config/middleware.py,
# config/urls.py); ReDoc's search runs in a blob: worker. Nothing may frame the pages.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Permissions-Policy (config/middleware.py): the pages use no device or payment feature, so none
# is allowed to them or to anything they embed. Empty: no header.
PERMISSIONS_POLICY = env_str(
    "PERMISSIONS_POLICY",
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()",
)
# Anonymous answers of the catalogue's pages and API reads are cached whole for this many
# seconds (catalogue/response_cache.py), so they may lag a change by that long; 0 turns it off.
CATALOGUE_CACHE_SECONDS = env_int("CATALOGUE_CACHE_SECONDS", 30)
SPECTACULAR_SETTINGS = {
    "TITLE": "AI use-case registry: network catalogue API",
    "DESCRIPTION": (
        "The AI use cases of the European medicines regulatory network as this node sees them: "
        "its own and those received from every other agency. Anonymous callers see public "
        "records and public fields; authenticated callers (HTTP Basic or the admin session) see "
        "network records and network-tier fields too. Errors are RFC 9457 problem documents."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["catalogue.api.only_catalogue_endpoints"],
    # The machines are offline: Swagger UI and ReDoc come from the sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
