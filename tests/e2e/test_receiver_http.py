"""The hub process enforces PROTOCOL.md's receiver rules on plain HTTP requests: duplicates and
out-of-order delivery converge, forged origins and bad records are rejected one by one, bad
requests get problem bodies and store nothing, a revoked token stops working at once."""

import datetime as dt
import json
import uuid

import pytest
import requests

from federation import probe
from registry.canonical import record_hash
from tests.e2e.helpers import act
from tests.factories import valid_record

pytestmark = pytest.mark.e2e

PUSHER = "FR-ANSM"  # an agency with no node of its own here: the test speaks for it
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def token(network):
    return network.federation.hub.issue_peer_token(PUSHER)


@pytest.fixture
def push(hub, token):
    def push(*envelopes, data=None, content_type=None):
        headers = {"Authorization": f"Bearer {token}"}
        if data is None:
            data = json.dumps({"changes": list(envelopes)}).encode()
            headers["Content-Type"] = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        return requests.post(
            f"{hub.url}/federation/v1/changes", data=data, headers=headers, timeout=30
        )

    return push


def envelope(uid: str, version: int, *, origin: str = PUSHER, deleted=False, **fields) -> dict:
    record = None if deleted else valid_record(**fields)
    return {
        "origin": origin,
        "uid": uid,
        "version": version,
        "modified": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "deleted": deleted,
        "hash": record_hash(record),
        "record": record,
    }


def statuses(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [result["status"] for result in response.json()["results"]]


def held(hub, uid: str):
    return probe.use_cases(hub, PUSHER).get((PUSHER, uid.replace("-", "")))


def new_uid() -> str:
    return str(uuid.uuid4())


def test_duplicate_delivery_is_unchanged_and_keeps_one_copy(hub, push):
    uid = new_uid()
    first = envelope(uid, 1, title="Delivered twice")
    assert statuses(push(first)) == ["applied"]
    assert statuses(push(first, first)) == ["unchanged", "unchanged"]
    assert held(hub, uid).version == 1
    assert len([k for k in probe.feed(hub, PUSHER) if k[1] == uid.replace("-", "")]) == 1


def test_out_of_order_delivery_converges_on_the_latest_version(hub, push):
    uid = new_uid()
    assert statuses(push(envelope(uid, 3, title="Third"))) == ["applied"]
    assert statuses(push(envelope(uid, 2, title="Second"), envelope(uid, 1))) == ["stale", "stale"]
    assert held(hub, uid) == probe.Held(3, "network", "Third")

    conflict = envelope(uid, 3, title="Third, but different")
    assert statuses(push(conflict)) == ["rejected"]
    assert held(hub, uid).title == "Third"


def test_a_late_upsert_never_resurrects_a_deleted_record(hub, push):
    uid = new_uid()
    assert statuses(push(envelope(uid, 4, deleted=True))) == ["applied"]
    assert statuses(push(envelope(uid, 3, title="Too late"))) == ["stale"]
    assert held(hub, uid) is None
    assert probe.feed(hub, PUSHER)[(PUSHER, uid.replace("-", ""))].deleted


def test_a_forged_origin_is_rejected_and_the_rest_of_the_batch_applied(hub, push):
    forged, own = new_uid(), new_uid()
    answer = push(envelope(forged, 1, origin="DE-BFARM"), envelope(own, 1))
    assert statuses(answer) == ["rejected", "applied"]
    assert answer.json()["results"][0]["errors"]
    assert ("DE-BFARM", forged.replace("-", "")) not in probe.use_cases(hub)
    assert ("DE-BFARM", forged.replace("-", "")) not in probe.feed(hub)


def test_invalid_records_and_bad_hashes_are_rejected_one_by_one(hub, push):
    invalid, tampered, valid = new_uid(), new_uid(), new_uid()
    bad = envelope(invalid, 1, stage="galaxy-brain")
    forged_hash = envelope(tampered, 1)
    forged_hash["record"]["title"] = "Changed after hashing"
    answer = push(bad, forged_hash, envelope(valid, 1))
    assert statuses(answer) == ["rejected", "rejected", "applied"]
    assert "stage" in json.dumps(answer.json()["results"][0]["errors"])
    assert held(hub, invalid) is None and held(hub, tampered) is None
    assert held(hub, valid).version == 1


def test_malformed_json_and_a_wrong_content_type_get_problems(hub, push):
    malformed = push(data=b'{"changes": [', content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.headers["Content-Type"].startswith(PROBLEM)

    form = push(data=b"changes=%5B%5D", content_type="application/x-www-form-urlencoded")
    assert 400 <= form.status_code < 500
    assert form.headers["Content-Type"].startswith(PROBLEM)


def test_a_batch_over_1000_envelopes_is_refused_and_nothing_stored(hub, push):
    uids = [new_uid() for _ in range(1001)]
    answer = push(*[envelope(uid, 1, deleted=True) for uid in uids])
    assert answer.status_code == 413
    assert answer.headers["Content-Type"].startswith(PROBLEM)
    stored = probe.feed(hub, PUSHER)
    assert not any((PUSHER, uid.replace("-", "")) in stored for uid in uids)


def test_a_body_over_8_mib_is_refused_and_nothing_stored(hub, push):
    uid = new_uid()
    big = envelope(uid, 1, description="x" * (9 * 1024 * 1024))
    answer = push(big)
    assert answer.status_code == 413
    assert answer.headers["Content-Type"].startswith(PROBLEM)
    assert held(hub, uid) is None


def test_no_token_or_a_revoked_token_gets_401_at_once(hub):
    url = f"{hub.url}/federation/v1/changes"
    anonymous = requests.get(url, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"].startswith(PROBLEM)

    token = hub.issue_peer_token("PL-URPL")
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    assert act(hub, "revoke_tokens", agency="PL-URPL") == 1
    revoked = requests.get(url, headers=headers, timeout=10)
    assert revoked.status_code == 401
    assert revoked.headers["Content-Type"].startswith(PROBLEM)
