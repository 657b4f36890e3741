import json
import uuid

import pytest
import responses

from registry.canonical import record_hash
from sync import auth
from sync.models import Peer
from tests.factories import valid_record
from tests.sync.fake_peer import PEER_URL, FakeHub

HUB = "EMRN-HUB"
AGENCY = "DE-BFARM"


def envelope(*, origin=AGENCY, uid=None, version=1, record=None, deleted=False, **overrides):
    """A well-formed wire envelope; a live one carries a valid record and its true hash."""
    if not deleted and record is None:
        record = valid_record()
    data = {
        "origin": origin,
        "uid": str(uid or uuid.uuid4()),
        "version": version,
        "modified": "2026-11-25T10:00:00Z",
        "deleted": deleted,
        "hash": None if deleted else record_hash(record),
        "record": None if deleted else record,
    }
    data.update(overrides)
    return data


@pytest.fixture
def hub_node(settings, db):
    """This node plays the hub."""
    settings.NODE_ROLE = "hub"
    settings.NODE_AGENCY = HUB
    return settings


@pytest.fixture
def agency_token(db):
    """A token the hub issued to DE-BFARM."""
    return auth.issue_token(agency=AGENCY)[1]


@pytest.fixture
def push(client):
    """POST a batch to this node's changes endpoint as the holder of `token`."""

    def _push(token, changes, **extra):
        body = json.dumps({"changes": changes})
        return client.post(
            "/federation/v1/changes",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
            **extra,
        )

    return _push


@pytest.fixture
def pull(client):
    def _pull(token, **params):
        return client.get(
            "/federation/v1/changes", params, headers={"Authorization": f"Bearer {token}"}
        )

    return _pull


# The engine's tests talk to a FakeHub behind `responses` (tests/sync/fake_peer.py).
@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def hub(mocked):
    return FakeHub(mocked)


@pytest.fixture
def peer(db):
    return Peer.objects.create(name="hub", url=PEER_URL, token="secret-token")
