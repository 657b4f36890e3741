"""What a subscription is refused for when saved: filters the catalogue does not know (they were
ignored, and the receiver got every record), a full address for filters, a network-tier filter
without network records, a signing secret that is not a Standard Webhooks one."""

import base64

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from standardwebhooks import Webhook

from tests.factories import UserFactory
from tests.webhooks.conftest import RECEIVER_URL
from webhooks import services
from webhooks.models import Subscription

pytestmark = pytest.mark.django_db
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def superuser(client, home_agency):
    user = UserFactory(username="root", agency=home_agency, is_superuser=True)
    client.force_login(user)
    return user


def add(client, owner, **fields):
    data = {"name": "Partner", "url": RECEIVER_URL, "filters": "", "secret": SECRET}
    data.update(fields, owner=owner.pk, enabled="on")
    return client.post(reverse("admin:webhooks_subscription_add"), data)


def errors_of(response) -> dict:
    assert response.status_code == 200, "saved"
    return response.context["adminform"].form.errors


@pytest.mark.parametrize(
    ("filters", "unknown"),
    [
        ("agncy=EMA", "agncy"),
        ("cursor=abc&page=2&sort=title", "cursor, page, sort"),
        ("agency=EMA&limit=10", "limit"),
        ("EMA", "EMA"),
    ],
)
def test_a_parameter_the_catalogue_does_not_filter_on_is_refused(
    client, superuser, filters, unknown
):
    message = str(errors_of(add(client, superuser, filters=filters))["filters"])
    assert f": {unknown}." in message
    assert "agency" in message and "stage" in message and "search" in message  # the allowed ones
    assert not Subscription.objects.exists()
    with pytest.raises(ValidationError, match=unknown):
        services.create_subscription(name="x", url=RECEIVER_URL, owner=superuser, filters=filters)


@pytest.mark.parametrize(
    "filters",
    [
        "http://127.0.0.1:32779/?agency=EMA",
        "https://registry.example.eu/use-cases/?stage=pilot",
        "www.registry.example.eu/?agency=EMA",
        "/use-cases/?agency=EMA",
    ],
)
def test_a_full_address_for_filters_is_refused_with_a_message(client, superuser, filters):
    message = str(errors_of(add(client, superuser, filters=filters))["filters"])
    assert "not a full address" in message
    assert not Subscription.objects.exists()


def test_a_leading_question_mark_is_dropped(client, superuser):
    response = add(client, superuser, filters=" ?agency=EMA&stage=pilot ")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Subscription.objects.get().filters == "agency=EMA&stage=pilot"
    subscription = services.create_subscription(
        name="x", url=RECEIVER_URL, owner=superuser, filters="?stage=pilot"
    )
    assert subscription.filters == "stage=pilot"


def test_known_filters_and_search_are_accepted(client, superuser):
    filters = "agency=EMA,DE-BFARM&stage=pilot&stage=production&search=signal&reusable=true"
    assert add(client, superuser, filters=filters).status_code == 302
    assert Subscription.objects.get().filters == filters


def test_a_network_filter_on_a_public_subscription_asks_for_network_records(client, superuser):
    message = str(errors_of(add(client, superuser, filters="hosting=on_premise"))["filters"])
    assert "hosting" in message and "needs “network records” ticked" in message
    assert "authenticated" not in message
    response = add(client, superuser, filters="hosting=on_premise", network="on")
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.mark.parametrize(
    "secret",
    [
        "not-a-secret",
        "whsec_",
        "whsec_not base64!",
        "whsec_" + base64.b64encode(b"too short, 23 bytes....").decode(),
        "whsec_" + base64.b64encode(bytes(65)).decode(),
        base64.b64encode(bytes(32)).decode(),  # no prefix
        SECRET.rstrip("=") + "*",
    ],
)
def test_a_secret_that_is_not_a_standard_webhooks_one_is_refused(client, superuser, secret):
    message = str(errors_of(add(client, superuser, secret=secret))["secret"])
    assert "whsec_" in message and "base64 of 24 to 64 random bytes" in message
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("size", [24, 32, 64])
def test_a_standard_webhooks_secret_is_accepted(client, superuser, size):
    secret = "whsec_" + base64.b64encode(bytes(range(size))).decode()
    assert add(client, superuser, secret=secret).status_code == 302
    assert Subscription.objects.get().secret == secret


def test_the_add_form_offers_a_fresh_random_secret(client, superuser):
    offered = []
    for _ in range(2):
        form = client.get(reverse("admin:webhooks_subscription_add")).context["adminform"].form
        secret = form["secret"].value()
        secret = secret() if callable(secret) else secret
        offered.append(secret)
        assert services.secret_errors(secret) == []
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        Webhook(secret)  # what signs the deliveries takes it
    assert offered[0] != offered[1]
