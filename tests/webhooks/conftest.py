import ipaddress
import json
from dataclasses import dataclass, field

import pytest

from registry import services as registry_services
from tests.factories import UseCaseFactory, UserFactory
from webhooks import http
from webhooks import services as webhook_services

SITE = "https://ema.example.eu"
RECEIVER_URL = "https://receiver.example.org/hooks"


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_RETRY_SCHEDULE = [1, 5]
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 2
    settings.WEBHOOKS_HTTP_TIMEOUT_SECONDS = 3
    settings.SITE_URL = SITE
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


PUBLIC_ADDRESS = "93.184.215.14"
NAMES = {"receiver.example.org": PUBLIC_ADDRESS}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    """The machines are offline: names in NAMES resolve as listed, IP literals as themselves."""
    real = http.resolve

    def resolve(host, port):
        if host in NAMES:
            return [ipaddress.ip_address(NAMES[host])]
        return real(host, port)

    monkeypatch.setattr(http, "resolve", resolve)
    return NAMES


@dataclass
class FakeReceiver:
    """webhooks.http.post faked at the seam: every request kept, answers given in turn (the
    last one repeated)."""

    answers: list[http.Answer] = field(default_factory=lambda: [http.Answer(204, "", 5)])
    requests: list[dict] = field(default_factory=list)

    def post(self, url, *, body, headers, timeout):
        self.requests.append({"url": url, "body": body, "headers": headers})
        return self.answers[min(len(self.requests), len(self.answers)) - 1]

    def events(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]


@pytest.fixture
def receiver(monkeypatch):
    fake = FakeReceiver()
    monkeypatch.setattr(http, "post", fake.post)
    return fake


@pytest.fixture
def owner(home_agency):
    return UserFactory(username="olga", agency=home_agency, email="olga@ema.example.eu")


@pytest.fixture
def subscribe(owner):
    def subscribe(filters: str = "", *, network: bool = False, url: str = RECEIVER_URL):
        return webhook_services.create_subscription(
            name="Receiver", url=url, owner=owner, filters=filters, network=network
        )

    return subscribe


def publish(level: str = "public", **fields):
    """An own record written the real way (version, feed entry) at `level`."""
    use_case = UseCaseFactory(**fields)
    return registry_services.set_publication_level(use_case, level)


def dispatch_and_send(subscription) -> None:
    """What the tasks do, in the foreground: make the events, attempt every due delivery."""
    webhook_services.dispatch(subscription.pk)
    for delivery_id in webhook_services.due_delivery_ids():
        webhook_services.attempt_delivery(delivery_id)
