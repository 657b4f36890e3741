"""An agency admin (create_agency_admin, the "Agency admins" group) sets up webhooks in the
admin: his own subscriptions and their deliveries only, a disabled one enabled again from the
page its e-mail links to."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from registry import services as registry_services
from tests.factories import UserFactory
from tests.webhooks.conftest import RECEIVER_URL, SITE, dispatch_and_send, publish
from webhooks import http, services
from webhooks.models import Delivery, Subscription

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-passphrase-for-tests"
SECRET = "whsec_" + "A" * 44


@pytest.fixture
def agency_admin(client, home_agency):
    user, _ = registry_services.create_agency_admin(
        username="ema-admin",
        agency_code=home_agency.code,
        email="it@ema.example.eu",
        password=PASSWORD,
    )
    client.force_login(user)
    return user


@pytest.fixture
def stranger(home_agency):
    return UserFactory(username="someone-else", agency=home_agency, email="else@example.eu")


def subscription_of(user, name="Receiver", **fields):
    return services.create_subscription(name=name, url=RECEIVER_URL, owner=user, **fields)


def test_an_agency_admin_opens_the_webhook_pages(client, agency_admin):
    for name in [
        "admin:webhooks_subscription_changelist",
        "admin:webhooks_subscription_add",
        "admin:webhooks_delivery_changelist",
    ]:
        assert client.get(reverse(name)).status_code == 200, name
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:webhooks_subscription_changelist") in index


def test_an_agency_admin_adds_a_subscription_that_is_his(client, agency_admin, stranger):
    response = client.post(
        reverse("admin:webhooks_subscription_add"),
        {
            "name": "Partner",
            "url": RECEIVER_URL,
            "filters": "stage=pilot",
            "secret": SECRET,
            "owner": stranger.pk,  # not his to choose: the field is read-only for him
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Subscription.objects.get().owner == agency_admin


def test_an_agency_admin_sees_his_deliveries_and_their_attempts(client, agency_admin, receiver):
    receiver.answers = [http.Answer(503, "", 12)]
    subscription = subscription_of(agency_admin)
    publish()
    dispatch_and_send(subscription)
    delivery = subscription.deliveries.get()
    page = client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    assert delivery.webhook_id in page.content.decode()
    assert "503" in page.content.decode()  # the attempts inline


def test_an_agency_admin_never_sees_nor_changes_another_users_subscriptions(
    client, agency_admin, stranger, receiver
):
    mine = subscription_of(agency_admin, name="Mine")
    theirs = subscription_of(stranger, name="Theirs-hook")
    publish()
    dispatch_and_send(theirs)
    Subscription.objects.filter(pk=theirs.pk).update(enabled=False, consecutive_failures=5)

    listing = client.get(reverse("admin:webhooks_subscription_changelist")).content.decode()
    assert "Mine" in listing and "Theirs-hook" not in listing
    deliveries = client.get(reverse("admin:webhooks_delivery_changelist")).content.decode()
    assert "Theirs-hook" not in deliveries  # neither rows nor the subscription filter
    their_page = client.get(reverse("admin:webhooks_subscription_change", args=[theirs.pk]))
    assert their_page.status_code == 302  # "doesn't exist", back to the index
    their_delivery = theirs.deliveries.get()
    assert (
        client.get(reverse("admin:webhooks_delivery_change", args=[their_delivery.pk])).status_code
        == 302
    )

    client.post(
        reverse("admin:webhooks_subscription_changelist"),
        {"action": "enable_again", "_selected_action": [theirs.pk, mine.pk]},
    )
    client.post(
        reverse("admin:webhooks_subscription_change", args=[theirs.pk]),
        {"name": "Taken", "url": RECEIVER_URL, "filters": "", "secret": SECRET, "enabled": "on"},
    )
    client.post(reverse("admin:webhooks_subscription_delete", args=[theirs.pk]), {"post": "yes"})
    theirs.refresh_from_db()
    assert (theirs.name, theirs.enabled, theirs.owner) == ("Theirs-hook", False, stranger)


def disabled_with_a_pending_delivery(owner, receiver):
    receiver.answers = [http.Answer(500, "", 5)]
    subscription = subscription_of(owner)
    publish()
    dispatch_and_send(subscription)
    Subscription.objects.filter(pk=subscription.pk).update(
        enabled=False, consecutive_failures=5, disabled_at=timezone.now()
    )
    return subscription


def test_the_disabled_notice_leads_the_agency_admin_to_a_page_that_enables_it_again(
    client, agency_admin, receiver, settings
):
    subscription = disabled_with_a_pending_delivery(agency_admin, receiver)
    assert services.notify_owner(subscription.pk)
    link = next(line for line in mail.outbox[0].body.splitlines() if line.startswith(SITE))
    page = client.get(link.removeprefix(SITE))
    assert page.status_code == 200
    assert "tick “enabled”" in mail.outbox[0].body

    response = client.post(
        link.removeprefix(SITE),
        {
            "name": subscription.name,
            "url": subscription.url,
            "filters": "",
            "secret": subscription.secret,
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    subscription.refresh_from_db()
    assert (subscription.enabled, subscription.consecutive_failures) == (True, 0)
    assert subscription.disabled_at is None
    pending = subscription.deliveries.get(status=Delivery.Status.PENDING)
    assert pending.next_attempt_at <= timezone.now() + dt.timedelta(seconds=1)


def test_an_agency_admin_enables_his_own_subscription_again_with_the_action(
    client, agency_admin, receiver
):
    subscription = disabled_with_a_pending_delivery(agency_admin, receiver)
    response = client.post(
        reverse("admin:webhooks_subscription_changelist"),
        {"action": "enable_again", "_selected_action": [subscription.pk]},
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.enabled, subscription.consecutive_failures) == (True, 0)
