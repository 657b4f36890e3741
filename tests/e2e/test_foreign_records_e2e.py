"""Leaked-token clean-up end to end (issue 12), in the suite's shared federation: someone holding
the token the hub issued to EMA (agency A) pushes a record under EMA's origin that EMA never had;
the hub applies it and DE-BFARM (B) receives it. EMA's agency admin (not a superuser) finds it in
the admin (Federation sync → records under this agency's name it never had) and runs the action
"Tombstone through the hub": the hub and B drop it. Real processes and real HTTP throughout; the
admin is driven with Django's test client inside A's own process."""

import datetime as dt
import json
import uuid

import pytest
import requests

from federation import probe
from registry.canonical import record_hash
from tests.e2e.helpers import wait_until
from tests.factories import valid_record

pytestmark = pytest.mark.e2e

# Sync intervals are 2 s in the suite; A's own push goes out on commit. Slack for a busy machine.
ARRIVAL_SECONDS = 60

# Run inside A: what EMA's agency admin sees on the page, then the action on every row of it.
ADMIN_ACTION = """
import json, secrets
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
from registry import services
setup_test_environment()
user, _ = services.create_agency_admin(username="e2e-foreign-admin",
    agency_code=settings.NODE_AGENCY, password=secrets.token_urlsafe(24))
assert not user.is_superuser
client = Client()
client.force_login(user)
url = reverse("admin:sync_foreignrecord_changelist")
listed = client.get(url).context["cl"].result_list
answer = client.post(url, {"action": "tombstone_action",
    "_selected_action": [row.pk for row in listed]}, follow=True)
print(json.dumps({"listed": [str(row.uid) for row in listed],
    "said": [str(m) for m in answer.context["messages"]]}))
"""


def forged_envelope(uid: str) -> dict:
    record = valid_record(title="Pushed with a stolen token", publication_level="network")
    return {"origin": "EMA", "uid": uid, "version": 1, "deleted": False, "record": record,
            "modified": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "hash": record_hash(record)}  # fmt: skip


def test_a_record_pushed_with_a_stolen_token_is_tombstoned_by_its_agency_everywhere(
    hub, agency_a, agency_b, proxy
):
    stolen = agency_a.config.hub_token  # the token the hub issued to EMA, as A's config holds it
    uid = str(uuid.uuid4())
    key = ("EMA", uid.replace("-", ""))
    answer = requests.post(
        f"{hub.url}/federation/v1/changes",
        json={"changes": [forged_envelope(uid)]},
        headers={"Authorization": f"Bearer {stolen}"},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "applied"
    wait_until(
        lambda: key in probe.use_cases(agency_b, "EMA"),
        timeout=ARRIVAL_SECONDS,
        what="B to receive the forged record from the hub",
    )
    assert key not in probe.use_cases(agency_a, "EMA"), "A never takes its own origin from outside"

    def listed_at_a():
        output = agency_a.shell(
            "from sync import foreign; print([str(r.uid) for r in foreign.foreign_records()])"
        )
        return uid in output

    wait_until(listed_at_a, timeout=ARRIVAL_SECONDS, what="A to pull the forged record and list it")

    result = json.loads(agency_a.shell(ADMIN_ACTION).strip().splitlines()[-1])
    assert uid in result["listed"]
    assert any("tombstone" in said and "written" in said for said in result["said"]), result

    wait_until(
        lambda: key not in probe.use_cases(agency_b, "EMA"),
        timeout=ARRIVAL_SECONDS,
        what="B to drop the forged record",
    )
    at_hub = probe.feed(hub, "EMA")[key]
    assert (at_hub.version, at_hub.deleted) == (2, True), "the hub's version + 1, a deletion"
    assert key not in probe.use_cases(hub, "EMA")
    assert probe.feed(agency_b, "EMA")[key].deleted
    wait_until(
        lambda: not listed_at_a(),
        timeout=ARRIVAL_SECONDS,
        what="the record to leave A's list once its tombstone went through",
    )
