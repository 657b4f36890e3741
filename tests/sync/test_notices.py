"""The digest of records the hub refused (sync/notices.py), captured by Django's locmem backend:
sent when a refusal is new, never again for the same open refusals."""

import uuid

import pytest

from registry import notices as registry_notices
from registry import services
from registry.models import Notice
from sync import notices
from sync.models import Peer, Rejection
from tests.factories import UseCaseFactory, UserFactory
from tests.sync.fake_peer import PEER_URL

SITE = "https://ema.example.eu"


@pytest.fixture
def outbox(settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = SITE
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return mailoutbox


@pytest.fixture
def agency(home_agency):
    home_agency.contact_email = "ai-registry@ema.example.eu"
    home_agency.save()
    anna = UserFactory(username="anna", agency=home_agency, email="anna@ema.example.eu")
    anna.groups.add(services.agency_admins_group())  # as create_agency_admin makes her
    return home_agency


@pytest.fixture
def hub(db):
    return Peer.objects.create(name="hub", url=PEER_URL, token="t", agency="EMRN-HUB", role="hub")


def refuse(hub, use_case=None, *, version=None, status="rejected", **fields) -> Rejection:
    """What the sync engine remembers when the hub refuses a pushed version."""
    use_case = use_case or UseCaseFactory(publication_level="network")
    rejection, _ = Rejection.objects.update_or_create(
        peer=hub,
        origin=use_case.origin_id,
        uid=use_case.uid,
        defaults={"version": version or use_case.version, "status": status, **fields},
    )
    return rejection


def link(use_case) -> str:
    return f"{SITE}/admin/registry/usecase/{use_case.pk}/change/"


def test_the_digest_lists_the_refused_records_with_their_errors_and_links(agency, hub, outbox):
    first = UseCaseFactory(title="Signal ranker", publication_level="network")
    second = UseCaseFactory(title="Label reader", publication_level="network", version=4)
    refuse(hub, first, errors={"ai_act_risk": ["A high-risk system needs a justification."]})
    refuse(hub, second, status="stale", peer_version=6)

    notices.send_rejection_digest.apply()

    (message,) = outbox
    assert message.subject == "[EMA AI registry] 2 records refused by the hub"
    assert message.to == ["ai-registry@ema.example.eu", "anna@ema.example.eu"]
    assert "Newly refused:" in message.body and "reported before" not in message.body
    assert "- Signal ranker (version 1, rejected by hub)" in message.body
    assert "ai_act_risk: A high-risk system needs a justification." in message.body
    assert "- Label reader (version 4, stale by hub)" in message.body
    assert "stale: the hub holds a newer version (6)" in message.body
    assert link(first) in message.body and link(second) in message.body


def test_staff_outside_the_agency_admins_group_get_no_digest(agency, hub, outbox):
    UserFactory(agency=agency, email="helpdesk@ema.example.eu")  # staff who cannot see refusals
    refuse(hub)
    notices.deliver_rejection_digest()
    (message,) = outbox
    assert message.to == ["ai-registry@ema.example.eu", "anna@ema.example.eu"]


def test_the_same_open_refusals_are_never_sent_twice(agency, hub, outbox):
    refuse(hub)
    refuse(hub)
    notices.send_rejection_digest.apply()
    notices.send_rejection_digest.apply()  # the same message delivered again
    notices.deliver_rejection_digest()  # the next push's wake-up
    assert len(outbox) == 1
    assert Notice.objects.get().sent_at is not None


def test_two_workers_that_see_the_same_refusals_send_one_digest(agency, hub, outbox):
    refuse(hub)
    drafts = [notices.rejection_digest(), notices.rejection_digest()]  # before either sends
    assert drafts[0] == drafts[1]
    assert [registry_notices.deliver(draft) is not None for draft in drafts] == [True, False]
    assert len(outbox) == 1


def test_a_new_refusal_sends_a_digest_that_tells_it_from_the_ones_reported(agency, hub, outbox):
    reported = refuse(hub, UseCaseFactory(title="Reported before", publication_level="network"))
    notices.deliver_rejection_digest()
    refuse(hub, UseCaseFactory(title="Refused now", publication_level="network"))
    notices.deliver_rejection_digest()

    assert len(outbox) == 2
    latest = outbox[1]
    assert latest.subject == "[EMA AI registry] 1 record refused by the hub"
    new_part, earlier_part = latest.body.split("Still refused, reported before:")
    assert "Refused now" in new_part and "Reported before" in earlier_part
    assert f"{reported.origin}/{reported.uid}/v1/rejected" in Notice.objects.first().records


def test_a_settled_refusal_is_reported_again_only_for_a_new_version(agency, hub, outbox):
    use_case = UseCaseFactory(publication_level="network")
    refuse(hub, use_case)
    other = refuse(hub)
    notices.deliver_rejection_digest()

    Rejection.objects.filter(uid=use_case.uid).delete()  # version 1 got through after all
    notices.deliver_rejection_digest()
    refuse(hub, use_case, version=1)  # and was refused again: reported already
    notices.deliver_rejection_digest()
    assert len(outbox) == 1

    refuse(hub, use_case, version=2)
    notices.deliver_rejection_digest()
    assert len(outbox) == 2
    other.delete()
    refuse(hub, UseCaseFactory(publication_level="network"), status="stale")
    notices.deliver_rejection_digest()
    assert len(outbox) == 3


def test_a_refusal_of_a_deleted_record_names_it_without_a_link(agency, hub, outbox):
    uid = uuid.uuid4()
    Rejection.objects.create(peer=hub, origin="EMA", uid=uid, version=3, errors={})
    notices.deliver_rejection_digest()
    (message,) = outbox
    assert f"- EMA/{uid} (version 3, rejected by hub)" in message.body
    assert "/admin/registry/usecase/" not in message.body


def test_no_refusal_sends_nothing(agency, hub, outbox):
    assert notices.deliver_rejection_digest() is None
    assert outbox == []


def test_without_any_recipient_the_digest_waits_for_one(home_agency, hub, outbox):
    refuse(hub)
    notices.deliver_rejection_digest()
    assert outbox == [] and not Notice.objects.exists()
    home_agency.contact_email = "ai-registry@ema.example.eu"
    home_agency.save()
    notices.deliver_rejection_digest()
    assert len(outbox) == 1
