"""webhooks/services.py: events made from the change feed, delivered signed, retried with the
same id, failures counted, the subscription disabled and its owner told. HTTP is faked at the
seam (webhooks.http.post)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from standardwebhooks import Webhook

from registry import services as registry_services
from tests.factories import AgencyFactory, UseCaseFactory
from tests.webhooks.conftest import SITE, dispatch_and_send, publish
from webhooks import http, services
from webhooks.models import Delivery, Subscription

pytestmark = pytest.mark.django_db
FAILED = http.Answer(None, "ConnectionRefusedError", 3)
SERVER_ERROR = http.Answer(500, "", 3)
OK = http.Answer(204, "", 3)


def kinds(subscription) -> list[tuple[str, int]]:
    return [(d.kind, d.version) for d in subscription.deliveries.order_by("pk")]


# Events ---------------------------------------------------------------------------------------


def test_a_published_record_is_sent_once_signed_with_the_subscription_secret(subscribe, receiver):
    subscription = subscribe()
    record = publish(title="Signal ranking")

    dispatch_and_send(subscription)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    event = Webhook(subscription.secret).verify(request["body"], request["headers"])
    assert event["type"] == "use_case.published"
    assert event["data"]["uid"] == str(record.uid)
    assert event["data"]["origin"] == "EMA"
    assert event["data"]["version"] == record.version
    assert event["data"]["title"] == "Signal ranking"
    assert event["data"]["links"] == {
        "html": f"{SITE}/use-cases/EMA/{record.uid}/",
        "api": f"{SITE}/api/v1/use-cases/EMA/{record.uid}/",
    }
    delivery = subscription.deliveries.get()
    assert request["headers"]["webhook-id"] == delivery.webhook_id
    assert delivery.webhook_id.startswith("msg_")
    assert delivery.status == Delivery.Status.DELIVERED


def test_a_signature_made_with_another_secret_does_not_verify(subscribe, receiver):
    subscription = subscribe()
    publish()
    dispatch_and_send(subscription)
    request = receiver.requests[0]
    with pytest.raises(Exception, match="signature"):
        Webhook(Subscription().secret).verify(request["body"], request["headers"])


def test_dispatching_again_makes_no_second_delivery(subscribe, receiver):
    subscription = subscribe()
    publish()
    services.dispatch(subscription.pk)
    Subscription.objects.filter(pk=subscription.pk).update(cursor_txid=0, cursor_seq=0)

    services.dispatch(subscription.pk)

    assert subscription.deliveries.count() == 1


def test_an_update_is_updated_and_a_withdrawal_withdrawn(subscribe, receiver):
    subscription = subscribe()
    record = publish()
    services.dispatch(subscription.pk)
    record.title = "A better title"
    registry_services.save_use_case(record)
    services.dispatch(subscription.pk)
    registry_services.withdraw(record)

    dispatch_and_send(subscription)

    first = record.version - 2
    assert kinds(subscription) == [
        ("use_case.published", first),
        ("use_case.updated", first + 1),
        ("use_case.withdrawn", first + 2),
    ]
    withdrawn = receiver.events()[-1]
    assert withdrawn["data"] == {"origin": "EMA", "uid": str(record.uid), "version": first + 2}


def test_changes_made_between_two_dispatches_arrive_as_the_latest_state(subscribe, receiver):
    subscription = subscribe()
    record = publish(title="First")
    record.title = "Second"
    registry_services.save_use_case(record)

    dispatch_and_send(subscription)

    assert [(e["type"], e["data"]["title"]) for e in receiver.events()] == [
        ("use_case.published", "Second")
    ]


def test_a_deleted_record_once_told_is_withdrawn(subscribe, receiver):
    subscription = subscribe()
    record = publish()
    services.dispatch(subscription.pk)
    registry_services.delete_use_case(record)

    services.dispatch(subscription.pk)

    v = record.version
    assert kinds(subscription) == [("use_case.published", v), ("use_case.withdrawn", v + 1)]


def test_the_catalogue_filters_choose_the_records(subscribe, receiver):
    subscription = subscribe("stage=production&ai_act_risk=high,limited")
    chosen = publish(stage="production", ai_act_risk="limited", operational_since="2025-06-01")
    publish(stage="production", ai_act_risk="minimal", operational_since="2025-06-01")
    publish(stage="pilot", ai_act_risk="limited")

    services.dispatch(subscription.pk)

    assert [d.uid for d in subscription.deliveries.all()] == [chosen.uid]


def test_a_record_that_stops_matching_is_withdrawn_and_one_never_told_is_not(subscribe):
    subscription = subscribe("stage=production")
    told = publish(stage="production", operational_since="2025-06-01")
    never_told = publish(stage="pilot")
    services.dispatch(subscription.pk)
    told.stage = "retired"
    told.retired_on = dt.date(2026, 1, 1)
    registry_services.save_use_case(told)
    registry_services.withdraw(never_told)

    services.dispatch(subscription.pk)

    assert [(d.uid, d.kind) for d in subscription.deliveries.order_by("pk")] == [
        (told.uid, "use_case.published"),
        (told.uid, "use_case.withdrawn"),
    ]


def test_an_agency_filter_matches_records_received_from_it(subscribe):
    from registry import received
    from registry.canonical import record_hash
    from registry.validation import validate_record
    from tests.factories import valid_record

    subscription = subscribe("agency=DE-BFARM")
    AgencyFactory(code="DE-BFARM")
    publish()  # the home agency's: not chosen
    record = valid_record(publication_level="public", title="Aus Bonn")
    copy = received.Copy(
        origin="DE-BFARM",
        uid=UseCaseFactory.build().uid,
        version=4,
        modified=timezone.now(),
        hash=record_hash(record),
        record=record,
        values=validate_record(record),
    )
    received.store_copies([copy], received_from="EMRN-HUB")

    services.dispatch(subscription.pk)

    delivery = subscription.deliveries.get()
    assert (delivery.origin, delivery.uid, delivery.version) == ("DE-BFARM", copy.uid, 4)


def test_a_public_subscription_hears_nothing_of_network_records(subscribe, receiver):
    subscription = subscribe()
    publish("network")

    services.dispatch(subscription.pk)

    assert subscription.deliveries.count() == 0


def test_a_record_dropping_from_public_to_network_is_withdrawn_for_public_subscribers(subscribe):
    public_only = subscribe()
    network = subscribe(network=True)
    record = publish("public")
    services.dispatch(public_only.pk)
    services.dispatch(network.pk)
    registry_services.set_publication_level(record, "network")

    services.dispatch(public_only.pk)
    services.dispatch(network.pk)

    v = record.version
    assert kinds(public_only) == [("use_case.published", v - 1), ("use_case.withdrawn", v)]
    assert kinds(network) == [("use_case.published", v - 1), ("use_case.updated", v)]


def test_public_subscribers_get_no_network_tier_fields(subscribe, receiver):
    public_only = subscribe()
    network = subscribe(network=True)
    publish("public", monitoring="Monthly drift report to the Article 57 board")

    dispatch_and_send(public_only)
    dispatch_and_send(network)

    by_url = {(r["headers"]["webhook-id"]): r for r in receiver.requests}
    public_event = Delivery.objects.get(subscription=public_only).webhook_id
    network_event = Delivery.objects.get(subscription=network).webhook_id
    assert "monitoring" not in by_url[public_event]["body"].decode()
    assert "Article 57" in by_url[network_event]["body"].decode()


def test_a_new_subscription_starts_at_the_end_of_the_feed(subscribe, receiver):
    publish()
    subscription = subscribe()

    services.dispatch(subscription.pk)

    assert subscription.deliveries.count() == 0


def test_a_subscription_refuses_filters_the_catalogue_refuses(subscribe):
    with pytest.raises(ValidationError) as refused:
        subscribe("stage=sometime")
    assert "filters" in refused.value.message_dict


def test_a_public_subscription_may_not_filter_on_network_fields(subscribe):
    with pytest.raises(ValidationError):
        subscribe("hosting=eu_cloud")
    assert subscribe("hosting=eu_cloud", network=True).pk


def test_a_subscription_refuses_a_private_address_unless_allowed(subscribe, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(ValidationError) as refused:
        subscribe(url="http://127.0.0.1:9000/hook")
    assert "url" in refused.value.message_dict
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    assert subscribe(url="http://127.0.0.1:9000/hook").pk


# Delivery -------------------------------------------------------------------------------------


def test_a_failed_attempt_is_retried_on_schedule_with_the_same_id_and_body(subscribe, receiver):
    receiver.answers = [SERVER_ERROR, FAILED, OK]
    subscription = subscribe()
    publish()
    services.dispatch(subscription.pk)
    delivery = subscription.deliveries.get()
    start = timezone.now()

    assert services.attempt_delivery(delivery.pk, now=start) == 1
    assert services.attempt_delivery(delivery.pk, now=start) is None  # not due yet
    assert services.attempt_delivery(delivery.pk, now=start + dt.timedelta(seconds=1)) == 5
    assert services.attempt_delivery(delivery.pk, now=start + dt.timedelta(seconds=6)) is None

    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    assert len({r["body"] for r in receiver.requests}) == 1
    assert len(receiver.requests) == 3
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERED, 3)
    log = [(a.number, a.status_code, a.succeeded) for a in delivery.attempt_log.all()]
    assert log == [(1, 500, False), (2, None, False), (3, 204, True)]
    assert delivery.attempt_log.get(number=2).error == "ConnectionRefusedError"


def test_a_claimed_delivery_is_not_attempted_by_a_second_worker(subscribe, receiver):
    subscription = subscribe()
    publish()
    services.dispatch(subscription.pk)
    delivery = subscription.deliveries.get()
    now = timezone.now()

    assert services._claim(delivery.pk, now) is not None
    assert services._claim(delivery.pk, now) is None
    later = now + dt.timedelta(seconds=3 + services.CLAIM_MARGIN_SECONDS + 1)
    assert services._claim(delivery.pk, later) is not None  # its worker died


def test_failed_deliveries_in_a_row_disable_the_subscription_and_tell_its_owner(
    subscribe, receiver, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    receiver.answers = [SERVER_ERROR]
    subscription = subscribe()
    publish()
    publish()
    services.dispatch(subscription.pk)
    first, second = subscription.deliveries.order_by("pk")
    now = timezone.now()

    for offset in (0, 1, 6):
        services.attempt_delivery(first.pk, now=now + dt.timedelta(seconds=offset))
    subscription.refresh_from_db()
    assert (subscription.enabled, subscription.consecutive_failures) == (True, 1)
    with django_capture_on_commit_callbacks() as queued:
        for offset in (0, 1, 6):
            services.attempt_delivery(second.pk, now=now + dt.timedelta(seconds=offset))

    subscription.refresh_from_db()
    assert (subscription.enabled, subscription.consecutive_failures) == (False, 2)
    assert subscription.disabled_at is not None
    assert {d.status for d in subscription.deliveries.all()} == {Delivery.Status.FAILED}
    assert len(queued) == 1
    assert services.notify_owner(subscription.pk) is True
    assert services.notify_owner(subscription.pk) is False  # told once
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["olga@ema.example.eu"]
    assert "Receiver" in mailoutbox[0].subject
    assert f"{SITE}/admin/webhooks/subscription/{subscription.pk}/change/" in mailoutbox[0].body


def test_a_success_between_failures_starts_the_count_over(subscribe, receiver):
    receiver.answers = [SERVER_ERROR, SERVER_ERROR, SERVER_ERROR, OK]
    subscription = subscribe()
    publish()
    services.dispatch(subscription.pk)
    delivery = subscription.deliveries.get()
    now = timezone.now()
    for offset in (0, 1, 6):
        services.attempt_delivery(delivery.pk, now=now + dt.timedelta(seconds=offset))
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 1
    publish()
    dispatch_and_send(subscription)

    subscription.refresh_from_db()
    assert (subscription.enabled, subscription.consecutive_failures) == (True, 0)


def test_a_disabled_subscription_gets_nothing_until_enabled_again(subscribe, receiver):
    subscription = subscribe()
    publish()
    services.dispatch(subscription.pk)
    Subscription.objects.filter(pk=subscription.pk).update(enabled=False)
    publish()

    dispatch_and_send(subscription)
    assert receiver.requests == []

    services.enable_again(subscription)
    dispatch_and_send(subscription)
    assert len(receiver.requests) == 2
    assert subscription.consecutive_failures == 0


def test_a_mail_server_failure_leaves_the_owner_to_be_told_on_retry(subscribe, settings):
    settings.EMAIL_BACKEND = "tests.webhooks.test_services.BrokenMail"
    subscription = subscribe()
    Subscription.objects.filter(pk=subscription.pk).update(enabled=False)

    with pytest.raises(OSError):
        services.notify_owner(subscription.pk)

    subscription.refresh_from_db()
    assert subscription.owner_notified_at is None


class BrokenMail:
    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_the_dispatcher_runs_on_beat_and_an_admin_change_is_kept(settings):
    settings.WEBHOOKS_DISPATCH_INTERVAL_SECONDS = 7
    PeriodicTask.objects.filter(name=services.SCHEDULE_NAME).delete()
    task = services.ensure_schedule()
    assert (task.task, task.interval.every, task.interval.period) == (
        "webhooks.tasks.dispatch_webhooks",
        7,
        "seconds",
    )
    task.enabled = False
    task.save()
    assert services.ensure_schedule().enabled is False
