"""Webhooks in the admin: subscriptions checked when saved, deliveries and their attempts shown
read-only, a disabled subscription enabled again."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from tests.webhooks.conftest import RECEIVER_URL, dispatch_and_send, publish
from webhooks import http, services
from webhooks.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(client, home_agency):
    user = UserFactory(username="root", agency=home_agency, is_superuser=True)
    client.force_login(user)
    return user


def add(client, **fields):
    data = {"name": "Partner", "url": RECEIVER_URL, "filters": "", "secret": "whsec_" + "A" * 44}
    data.update(fields)
    data.setdefault("owner", "")
    return client.post(reverse("admin:webhooks_subscription_add"), {**data, "enabled": "on"})


def test_a_subscription_added_in_the_admin_starts_at_the_end_of_the_feed(client, superuser):
    publish()
    response = add(client, owner=superuser.pk, filters="stage=pilot")
    assert response.status_code == 302, response.content.decode()[:2000]
    subscription = Subscription.objects.get()
    assert (subscription.owner, subscription.filters) == (superuser, "stage=pilot")
    assert subscription.cursor_seq > 0


def test_the_admin_refuses_an_inward_url_and_bad_filters(client, superuser, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = add(client, owner=superuser.pk, url="http://127.0.0.1:8025/", filters="stage=x")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "not a public address" in str(errors["url"])
    assert "stage" in str(errors["filters"])
    assert not Subscription.objects.exists()


def test_a_delivery_shows_its_attempts_read_only(client, superuser, receiver, subscribe):
    receiver.answers = [http.Answer(503, "", 12), http.Answer(204, "", 8)]
    subscription = subscribe()
    publish()
    dispatch_and_send(subscription)
    delivery = subscription.deliveries.get()
    services.attempt_delivery(delivery.pk, now=timezone.now() + dt.timedelta(seconds=2))

    page = client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert delivery.webhook_id in text
    assert "503" in text and "204" in text
    assert 'name="_save"' not in text
    assert client.get(reverse("admin:webhooks_delivery_add")).status_code == 403


def test_enable_again_turns_a_disabled_subscription_back_on(client, superuser, subscribe):
    subscription = subscribe()
    Subscription.objects.filter(pk=subscription.pk).update(enabled=False, consecutive_failures=5)
    response = client.post(
        reverse("admin:webhooks_subscription_changelist"),
        {"action": "enable_again", "_selected_action": [subscription.pk]},
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.enabled, subscription.consecutive_failures) == (True, 0)
