"""Every admin page opened by an agency admin (a member of the 'Agency admins' group, not a
superuser): a page they may not open is a 403 or a redirect, never a 500."""

import contextlib
import datetime as dt

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from registry import services
from registry.models import NoUseCaseAttestation
from sync.models import Peer, SyncRun
from tests.factories import UseCaseFactory
from webhooks.models import Subscription

PASSWORD = "a long enough passphrase for tests"


@pytest.fixture
def agency_admin(home_agency):
    user, _ = services.create_agency_admin(
        username="ema-admin", agency_code=home_agency.code, password=PASSWORD
    )
    return user


@pytest.fixture
def agency_admin_client(agency_admin):
    client = Client(raise_request_exception=False)
    client.force_login(agency_admin)
    return client


@pytest.fixture
def one_of_everything(home_agency, other_agency, agency_admin):
    """At least one row for the admin's main models, of this agency and of another."""
    UseCaseFactory(publication_level="draft")
    UseCaseFactory(origin=other_agency, publication_level="network")
    for agency in (home_agency, other_agency):
        NoUseCaseAttestation.objects.create(
            agency=agency, period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31)
        )
    peer = Peer.objects.create(name="hub", url="https://hub.example.eu/", token="t")
    SyncRun.objects.create(peer=peer, direction="push")
    Subscription.objects.create(
        name="mine", url="https://receiver.example.eu/hook", owner=agency_admin
    )


def rows_of(model):
    return list(model._default_manager.order_by("pk")[:2])


def test_no_admin_page_is_a_server_error_for_an_agency_admin(
    agency_admin_client, one_of_everything
):
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        with contextlib.suppress(NoReverseMatch):  # an admin without an add view
            urls.append(reverse("admin:{}_{}_add".format(*info)))
        for row in rows_of(model):
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[row.pk]))
            urls.append(reverse("admin:{}_{}_history".format(*info), args=[row.pk]))
    failed = {url: agency_admin_client.get(url).status_code for url in urls}
    failed = {url: status for url, status in failed.items() if status >= 500}
    assert not failed
    assert len(urls) > 3 * len(admin.site._registry)


def test_an_agency_admin_sees_the_attestation_they_added(agency_admin_client, home_agency):
    response = agency_admin_client.post(
        reverse("admin:registry_nousecaseattestation_add"),
        {"period_start": "2026-01-01", "period_end": "2026-06-30"},
    )
    assert response.status_code == 302
    attestation = NoUseCaseAttestation.objects.get()
    assert attestation.agency == home_agency
    listing = agency_admin_client.get(reverse("admin:registry_nousecaseattestation_changelist"))
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [attestation]
    change = reverse("admin:registry_nousecaseattestation_change", args=[attestation.pk])
    assert agency_admin_client.get(change).status_code == 200


def test_an_agency_admin_does_not_see_another_agencys_attestation(
    agency_admin_client, one_of_everything, other_agency
):
    theirs = NoUseCaseAttestation.objects.get(agency=other_agency)
    change = reverse("admin:registry_nousecaseattestation_change", args=[theirs.pk])
    assert agency_admin_client.get(change).status_code in (302, 404)
    listing = agency_admin_client.get(reverse("admin:registry_nousecaseattestation_changelist"))
    assert listing.context["cl"].result_count == 1
