"""Addresses of use cases that are gone or were never there: a record its agency withdrew or
deleted answers 410 with a plain page in the site's layout, anything else the same plain 404, with
DEBUG on as well (where an Http404 would show Django's debug page). And the favicon is served."""

import datetime as dt
import re
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from registry import received, services
from registry.canonical import record_hash
from registry.validation import validate_record
from tests.factories import AgencyFactory, UseCaseFactory, UserFactory, valid_record

pytestmark = pytest.mark.django_db
UNKNOWN_UID = uuid.UUID("99999999-9999-4999-8999-999999999999")
WITHDRAWN_ON = dt.datetime(2026, 2, 14, 9, 30, tzinfo=dt.UTC)
# Django's technical 404 page says this; the site's pages never do.
DEBUG_PAGE_MARK = "DEBUG = True"
CSRF_TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture(autouse=True)
def debug_on(settings):
    """On, as outside tests (pytest-django turns it off): where Http404 shows the debug page."""
    settings.DEBUG = True


@pytest.fixture
def home():
    return AgencyFactory(code=settings.NODE_AGENCY, name="European Medicines Agency", country="EU")


@pytest.fixture
def home_member(home):
    return UserFactory(agency=home, is_staff=False)


@pytest.fixture
def shared_own_record(home):
    """An own record published through the real write path, so the feed knows it."""
    use_case = UseCaseFactory(origin=home, publication_level="draft")
    return services.set_publication_level(use_case, "public")


def use_case_url(origin: str, uid) -> str:
    return f"/use-cases/{origin}/{uid}/"


def reader(who: str, member) -> Client:
    client = Client()
    if who == "member":
        client.force_login(member)
    return client


def assert_site_page(response, template: str) -> str:
    html = response.content.decode()
    assert template in [t.name for t in response.templates]
    assert 'class="site-header"' in html
    assert DEBUG_PAGE_MARK not in html
    return html


def comparable(response, uid) -> str:
    """The page less what differs between any two renderings: the address (in the sign-in
    link) and the masked CSRF token (of the sign-out form)."""
    html = response.content.decode().replace(str(uid), "UID")
    return CSRF_TOKEN_RE.sub("", html)


def received_copy(uid: uuid.UUID, version: int, *, deleted: bool = False) -> received.Copy:
    record = None if deleted else valid_record(publication_level="public")
    return received.Copy(
        origin="FR-ANSM",
        uid=uid,
        version=version,
        modified=WITHDRAWN_ON,
        hash="" if deleted else record_hash(record),
        record=record,
        values=None if deleted else validate_record(record),
    )


# ---- withdrawn: 410 -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_a_withdrawn_own_record_is_gone_with_its_agency_named(shared_own_record, home_member, who):
    client = reader(who, home_member)
    assert client.get(use_case_url(settings.NODE_AGENCY, shared_own_record.uid)).status_code == 200
    services.withdraw(shared_own_record)
    cache.clear()  # anonymous pages may lag a change by CATALOGUE_CACHE_SECONDS

    response = client.get(use_case_url(settings.NODE_AGENCY, shared_own_record.uid))

    assert response.status_code == 410
    html = assert_site_page(response, "catalogue/withdrawn.html")
    modified = shared_own_record.modified
    withdrawn_on = f"{modified.day} {modified:%B %Y}"
    assert "This use case was withdrawn by European Medicines Agency on" in html
    assert withdrawn_on in html
    assert '<a href="/">Go to the catalogue</a>' in html


def test_a_deleted_own_record_that_was_shared_is_gone_too(shared_own_record):
    uid = shared_own_record.uid
    services.delete_use_case(shared_own_record)

    response = Client().get(use_case_url(settings.NODE_AGENCY, uid))

    assert response.status_code == 410
    assert "withdrawn by European Medicines Agency" in assert_site_page(
        response, "catalogue/withdrawn.html"
    )


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_a_received_record_whose_tombstone_arrived_is_gone(home_member, who):
    AgencyFactory(code="FR-ANSM", name="Agence nationale de sécurité du médicament", country="FR")
    uid = uuid.uuid4()
    client = reader(who, home_member)
    received.store_copies([received_copy(uid, 1)], received_from="EMRN-HUB")
    assert client.get(use_case_url("FR-ANSM", uid)).status_code == 200
    received.store_copies([received_copy(uid, 2, deleted=True)], received_from="EMRN-HUB")
    cache.clear()  # anonymous pages may lag a change by CATALOGUE_CACHE_SECONDS

    response = client.get(use_case_url("FR-ANSM", uid))

    assert response.status_code == 410
    html = assert_site_page(response, "catalogue/withdrawn.html")
    assert "withdrawn by Agence nationale de sécurité du médicament on" in html
    assert "14 February 2026" in html


def test_a_withdrawn_agency_name_is_escaped(home_member):
    AgencyFactory(code="FR-ANSM", name="<b>ANSM</b>", country="FR")
    uid = uuid.uuid4()
    received.store_copies([received_copy(uid, 1)], received_from="EMRN-HUB")
    received.store_copies([received_copy(uid, 2, deleted=True)], received_from="EMRN-HUB")

    html = Client().get(use_case_url("FR-ANSM", uid)).content.decode()

    assert "&lt;b&gt;ANSM&lt;/b&gt;" in html
    assert "<b>ANSM</b>" not in html


# ---- nothing known: 404 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin, uid",
    [
        (settings.NODE_AGENCY, str(UNKNOWN_UID)),
        ("XX-NOWHERE", str(UNKNOWN_UID)),
        (settings.NODE_AGENCY, "not-a-uuid"),
        (settings.NODE_AGENCY, str(UNKNOWN_UID).upper()),
    ],
)
def test_an_unknown_or_malformed_address_is_a_plain_404(home, origin, uid):
    response = Client().get(use_case_url(origin, uid))

    assert response.status_code == 404
    html = assert_site_page(response, "404.html")
    assert "Page not found" in html


@pytest.mark.parametrize(
    "level, who",
    [
        ("draft", "anonymous"),
        ("draft", "member"),  # even for the record's own agency: drafts live in its admin
        ("internal", "anonymous"),
        ("internal", "member"),
        ("network", "anonymous"),
    ],
)
def test_a_record_never_shared_with_the_reader_reads_exactly_like_an_unknown_one(
    home, home_member, level, who
):
    hidden = UseCaseFactory(origin=home, publication_level="draft")
    if level != "draft":
        services.set_publication_level(hidden, level)
    client = reader(who, home_member)

    hidden_response = client.get(use_case_url(settings.NODE_AGENCY, hidden.uid))
    unknown_response = client.get(use_case_url(settings.NODE_AGENCY, UNKNOWN_UID))

    assert hidden_response.status_code == unknown_response.status_code == 404
    assert comparable(hidden_response, hidden.uid) == comparable(unknown_response, UNKNOWN_UID)


def test_with_debug_off_any_unknown_address_gets_the_same_plain_404(home, settings):
    settings.DEBUG = False

    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in assert_site_page(response, "404.html")


# ---- favicon -----------------------------------------------------------------------------------


def test_the_favicon_is_served_at_its_conventional_address():
    response = Client().get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/")
    assert b"".join(response.streaming_content).startswith(b"\x00\x00\x01\x00")  # an ICO


def test_pages_link_the_favicon(home):
    html = Client().get("/").content.decode()

    assert '<link rel="icon" href="/static/catalogue/favicon.ico"' in html
    assert '<link rel="icon" href="/static/catalogue/favicon.svg" type="image/svg+xml">' in html


def test_a_withdrawn_network_record_is_gone_for_members_and_unknown_to_anonymous_readers(
    home, home_member
):
    """The Atom feed's rule (catalogue.changes.withdrawals): a reader learns of a withdrawal only
    of what it could see before."""
    network_only = services.set_publication_level(
        UseCaseFactory(origin=home, publication_level="draft"), "network"
    )
    services.withdraw(network_only)
    cache.clear()
    address = use_case_url(settings.NODE_AGENCY, network_only.uid)
    assert reader("member", home_member).get(address).status_code == 410
    anonymous = reader("anonymous", home_member).get(address)
    unknown = reader("anonymous", home_member).get(use_case_url(settings.NODE_AGENCY, uuid.uuid4()))
    assert anonymous.status_code == unknown.status_code == 404


@pytest.mark.parametrize("address", ["/agencies/NOPE/", "/use-cases/EMA/", "/no/such/page/"])
def test_other_unknown_addresses_get_the_catalogues_plain_404(home, address):
    response = Client().get(address)
    assert response.status_code == 404
    assert_site_page(response, "404.html")


def test_an_address_without_its_slash_is_still_redirected(home):
    assert Client().get("/agencies").status_code == 301
    assert Client().get("/admin").status_code == 301
