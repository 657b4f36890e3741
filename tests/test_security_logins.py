"""Password guessing (issue 12.3): django-axes locks a user name out from one address after
LOGIN_FAILURE_LIMIT failures (admin form and API Basic auth alike), and passwords must pass all
four of Django's validators with at least PASSWORD_MIN_LENGTH characters."""

import base64

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client

from registry import services
from tests.factories import UserFactory

PASSWORD = "a-long-passphrase-for-tests"
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def fast_hasher_and_empty_cache(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_FAILURE_LIMIT = 5
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(home_agency):
    user = UserFactory(username="anna", agency=home_agency, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(client: Client, password: str, address: str = "192.0.2.1"):
    return client.post(LOGIN, {"username": "anna", "password": password}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_after_five_wrong_passwords_the_right_one_does_not_log_in(staff):
    client = Client()
    statuses = [log_in(client, "wrong-password-guess").status_code for _ in range(5)]
    assert statuses == [200] * 4 + [429]  # the fifth failure locks
    locked = log_in(client, PASSWORD)
    assert locked.status_code == 429
    assert not signed_in(client)


def test_the_lockout_holds_one_user_name_at_one_address(staff):
    for _ in range(5):
        log_in(Client(), "wrong-password-guess")
    client = Client()
    assert log_in(client, PASSWORD, address="192.0.2.50").status_code == 302
    assert signed_in(client)


def test_fewer_failures_than_the_limit_then_success_clears_the_count(staff):
    client = Client()
    for _ in range(4):
        log_in(client, "wrong-password-guess")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        log_in(client, "wrong-password-guess")
    assert log_in(client, PASSWORD).status_code == 302


def test_basic_auth_guesses_lock_out_the_api_too(staff, settings):
    settings.AUTH_FAILURE_THROTTLE = ""  # the per-address failure throttle is tested apart
    client = Client()

    def call(password):
        token = base64.b64encode(f"anna:{password}".encode()).decode()
        return client.get("/api/v1/agencies/", HTTP_AUTHORIZATION=f"Basic {token}")

    assert [call("wrong-password-guess").status_code for _ in range(4)] == [401] * 4
    call("wrong-password-guess")
    locked = call(PASSWORD)
    assert locked.status_code == 401  # DRF answers the refused login; axes refused it
    assert locked["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "password",
    [
        "Vx7-lock-rv",  # 11 characters
        "918273645546",  # digits only
        "password1234",  # a common password
        "anna-agency-admin",  # too like the user name
    ],
)
def test_weak_passwords_are_refused(home_agency, password):
    with pytest.raises(ValidationError):
        services.create_agency_admin(
            username="anna-agency-admin", agency_code=home_agency.code, password=password
        )


def test_a_twelve_character_passphrase_is_accepted(db):
    validate_password("Vx7-lock-rvr")


def test_code_on_the_node_authenticates_without_a_request(staff):
    """A management command or the shell has no client address: nothing to lock out."""
    from django.contrib.auth import authenticate

    assert authenticate(username="anna", password=PASSWORD) == staff
    assert authenticate(username="anna", password="wrong-password-guess") is None
