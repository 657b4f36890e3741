"""The claim mapping of single sign-on (registry/oidc.py). The protocol itself runs end to end
against a real provider in tests/e2e/test_sso_browser.py."""

import pytest
from django.conf import settings
from django.test import override_settings

from registry import oidc
from registry.models import User
from tests.factories import AgencyFactory

PROVIDER = {
    "OIDC_RP_CLIENT_ID": "node",
    "OIDC_RP_CLIENT_SECRET": "secret",
    "OIDC_OP_TOKEN_ENDPOINT": "http://127.0.0.1:1/token/",
    "OIDC_OP_USER_ENDPOINT": "http://127.0.0.1:1/userinfo/",
    "OIDC_OP_JWKS_ENDPOINT": "http://127.0.0.1:1/jwks/",
    "OIDC_RP_SIGN_ALGO": "RS256",
}


def claims(**values) -> dict:
    return {
        "sub": "u-42",
        "email": "anna@agency.example",
        "given_name": "Anna",
        "agency": settings.NODE_AGENCY,
        "roles": ["registry_admin"],
    } | values


@pytest.fixture
def backend(db):
    AgencyFactory(code=settings.NODE_AGENCY)
    with override_settings(**PROVIDER):
        yield oidc.AgencyOIDCBackend()


def test_an_admin_of_this_agency_becomes_staff_in_the_agency_admins_group(backend):
    user = backend.create_user(claims())
    assert (user.username, user.agency_id, user.is_staff, user.is_superuser) == (
        "sso-u-42",
        settings.NODE_AGENCY,
        True,
        False,
    )
    assert not user.has_usable_password()
    assert [g.name for g in user.groups.all()] == ["Agency admins"]


@pytest.mark.parametrize("roles", [["reader"], "reader", [], None])
def test_without_the_admin_role_the_account_is_a_reader(backend, roles):
    user = backend.create_user(claims(roles=roles))
    assert (user.is_staff, list(user.groups.all())) == (False, [])


def test_roles_as_a_space_separated_string_are_read(backend):
    assert backend.create_user(claims(roles="reader registry_admin")).is_staff


def test_a_role_the_provider_withdraws_is_withdrawn_at_the_next_sign_in(backend):
    user = backend.create_user(claims())
    user = backend.update_user(user, claims(roles=["reader"]))
    user.refresh_from_db()
    assert (user.is_staff, list(user.groups.all())) == (False, [])


def test_a_provider_never_makes_a_superuser(backend):
    user = backend.create_user(claims())
    User.objects.filter(pk=user.pk).update(is_superuser=True)
    user.refresh_from_db()
    assert backend.update_user(user, claims()).is_superuser is False


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"agency": "DE-BFARM"}, "says your agency is DE-BFARM"),
        ({"agency": None}, "says your agency is no agency"),
        ({"sub": ""}, "no subject"),
    ],
)
def test_claims_of_another_agency_or_without_a_subject_are_refused(backend, values, reason):
    assert reason in oidc.refusal(claims(**values))
    assert backend.verify_claims(claims(**values)) is False
    assert backend.verify_claims(claims()) is True


def test_accounts_are_keyed_on_the_subject_never_on_the_e_mail(backend):
    backend.create_user(claims())
    same_mail_other_subject = claims(sub="u-43")
    assert not backend.filter_users_by_claims(same_mail_other_subject).exists()
    assert backend.filter_users_by_claims(claims(email="changed@agency.example")).exists()


def test_a_subject_django_cannot_take_as_a_name_is_hashed_and_never_a_local_name():
    assert oidc.username_for({"sub": "alice"}) == "sso-alice"
    odd = oidc.username_for({"sub": "CN=Anna Müller/O=EMA"})
    assert odd.startswith("sso-") and len(odd) == 44 and " " not in odd
