"""Limits per client address (issue 12.2): the address comes from REMOTE_ADDR or, behind
TRUSTED_PROXY_COUNT proxies, from the entry of X-Forwarded-For the outermost one wrote
(config/client_ip.py); anonymous pages, exports and API calls are limited, and so are requests
whose credentials fail (config/middleware.py). Rates are per hour here so that a window never
ends in the middle of a test."""

import base64
import uuid

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory

from config.client_ip import client_ip
from tests.factories import UserFactory

API = "/api/v1/agencies/"
PASSWORD = "a-long-passphrase-for-tests"


@pytest.fixture(autouse=True)
def empty_cache(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def member(home_agency):
    user = UserFactory(username="member", agency=home_agency)
    user.set_password(PASSWORD)
    user.save()
    return user


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def random_address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}"


# ---- the client's address ---------------------------------------------------------------------


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from("192.0.2.7", "203.0.113.9")) == "192.0.2.7"


def test_behind_one_proxy_the_client_is_the_address_that_proxy_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from("10.0.0.2", "203.0.113.9")) == "203.0.113.9"
    # What the client wrote itself stays on the left and is never used.
    assert client_ip(request_from("10.0.0.2", "1.2.3.4, 203.0.113.9")) == "203.0.113.9"


def test_behind_two_proxies_the_second_entry_from_the_right_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request_from("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.0.0.1")) == "203.0.113.9"


def test_a_forwarded_entry_that_is_no_address_falls_back_to_the_peer(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from("10.0.0.2", "<script>")) == "10.0.0.2"
    assert client_ip(request_from("10.0.0.2")) == "10.0.0.2"


# ---- API ------------------------------------------------------------------------------------


def test_a_forged_x_forwarded_for_does_not_escape_the_api_throttle(client, settings, db):
    settings.API_ANON_THROTTLE = "3/hour"
    statuses = [
        client.get(API, HTTP_X_FORWARDED_FOR=random_address()).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_behind_a_proxy_each_client_has_its_own_api_allowance(client, settings, db):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.API_ANON_THROTTLE = "2/hour"
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    first = [
        client.get(API, HTTP_X_FORWARDED_FOR=f"{random_address()}, 203.0.113.9", **proxy)
        for _ in range(3)
    ]
    other = client.get(API, HTTP_X_FORWARDED_FOR="203.0.113.10", **proxy)
    assert [r.status_code for r in first] == [200, 200, 429]
    assert other.status_code == 200


# ---- pages and exports -------------------------------------------------------------------------


def test_anonymous_pages_are_limited_per_address(client, settings, home_agency):
    settings.PAGES_ANON_THROTTLE = "3/hour"
    statuses = [client.get("/agencies/").status_code for _ in range(4)]
    refused = client.get("/statistics/")
    elsewhere = client.get("/agencies/", REMOTE_ADDR="192.0.2.99")
    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused["Content-Type"].startswith("text/plain")
    assert elsewhere.status_code == 200


@pytest.mark.parametrize("authorization", ["Bearer x", "Basic bm9ib2R5Og=="])
def test_an_authorization_header_alone_does_not_lift_the_page_and_export_limits(
    client, settings, home_agency, authorization
):
    settings.PAGES_ANON_THROTTLE = "2/hour"
    settings.EXPORTS_ANON_THROTTLE = "1/hour"
    settings.API_ANON_THROTTLE = "1000/hour"
    pages = [
        client.get("/agencies/", HTTP_AUTHORIZATION=authorization).status_code for _ in range(3)
    ]
    assert pages == [200, 200, 429]
    export = client.get("/api/v1/use-cases/export.csv", HTTP_AUTHORIZATION=authorization)
    again = client.get("/api/v1/use-cases/export.csv", HTTP_AUTHORIZATION=authorization)
    assert export.status_code in (200, 401)  # a wrong Basic password is a 401 of its own
    assert again.status_code == 429


def test_signed_in_members_are_not_limited_as_anonymous_visitors(client, settings, member):
    settings.PAGES_ANON_THROTTLE = "1/hour"
    client.force_login(member)
    assert [client.get("/agencies/").status_code for _ in range(3)] == [200, 200, 200]


def test_exports_are_limited_per_address_with_a_problem_body(client, settings, home_agency):
    settings.API_ANON_THROTTLE = "1000/hour"
    settings.EXPORTS_ANON_THROTTLE = "2/hour"
    statuses = [client.get("/api/v1/use-cases/export.csv").status_code for _ in range(3)]
    refused = client.get("/api/v1/use-cases/export.json")
    assert statuses == [200, 200, 429]
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["status"] == 429


def test_static_files_admin_and_federation_are_not_limited_by_the_page_limit(
    client, settings, home_agency
):
    settings.PAGES_ANON_THROTTLE = "1/hour"
    client.get("/agencies/")
    assert client.get("/admin/login/").status_code == 200
    assert client.get("/federation/v1/node").status_code != 429


# ---- failed credentials ----------------------------------------------------------------------


def test_failed_basic_auth_is_throttled_per_address_whatever_the_user_name(settings, member):
    settings.AUTH_FAILURE_THROTTLE = "3/hour"
    client = Client()
    guesses = [
        client.get(API, HTTP_AUTHORIZATION=basic(name, "wrong-guess")).status_code
        for name in ("alice", "bob", "carol")
    ]
    right_password_too_late = client.get(API, HTTP_AUTHORIZATION=basic("member", PASSWORD))
    from_elsewhere = client.get(
        API, HTTP_AUTHORIZATION=basic("member", PASSWORD), REMOTE_ADDR="192.0.2.99"
    )
    assert guesses == [401, 401, 401]
    assert right_password_too_late.status_code == 429
    assert right_password_too_late["Content-Type"] == "application/problem+json"
    assert from_elsewhere.status_code == 200
