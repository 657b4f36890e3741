"""The receiving side of PROTOCOL.md, one test per rule, through the real endpoints."""

import io
import json
import uuid

import pytest

from registry import feed
from registry.canonical import record_hash
from registry.models import Agency, FeedEntry, UseCase
from sync import auth, receiver, serving
from sync.models import PeerToken
from tests.factories import valid_record
from tests.sync.conftest import AGENCY, HUB, envelope

pytestmark = pytest.mark.django_db


def statuses(response):
    assert response.status_code == 200, response.content
    return [r["status"] for r in response.json()["results"]]


def test_node_describes_itself_without_authentication(client, hub_node):
    body = client.get("/federation/v1/node").json()
    assert body["agency"] == HUB
    assert body["role"] == "hub"
    assert body["protocol"] == ["1"]
    assert body["schema_version"] == 1
    uuid.UUID(body["feed_id"])


# Rule 1: authentication


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong-token", "Basic abc"])
def test_changes_without_a_valid_token_is_a_401_problem(client, hub_node, agency_token, header):
    headers = {"Authorization": header} if header else {}
    for response in (
        client.get("/federation/v1/changes", headers=headers),
        client.post(
            "/federation/v1/changes", "{}", content_type="application/json", headers=headers
        ),
    ):
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == 401


def test_a_revoked_token_stops_working_at_once(hub_node, agency_token, push):
    assert push(agency_token, []).status_code == 200
    auth.revoke_tokens(PeerToken.objects.filter(agency=AGENCY))
    assert push(agency_token, []).status_code == 401


def test_only_the_hash_of_a_token_is_stored(hub_node, agency_token):
    stored = PeerToken.objects.get()
    assert agency_token not in stored.token_hash
    assert len(stored.token_hash) == 64


# Rule 2: origin authorisation


def test_a_peer_may_push_only_its_own_origin(hub_node, agency_token, push):
    forged = envelope(origin="FR-ANSM")
    own = envelope()
    response = push(agency_token, [forged, own])
    assert statuses(response) == ["rejected", "applied"]
    assert "origin" in response.json()["results"][0]["errors"]
    assert not UseCase.objects.filter(origin_id="FR-ANSM").exists()
    assert not FeedEntry.objects.filter(origin="FR-ANSM").exists()


# Rule 3: ordering and idempotency


def test_a_higher_version_applies_and_is_stored_as_a_read_only_copy(hub_node, agency_token, push):
    uid = uuid.uuid4()
    assert statuses(push(agency_token, [envelope(uid=uid, version=1)])) == ["applied"]
    newer = valid_record(title="Renamed")
    assert statuses(push(agency_token, [envelope(uid=uid, version=2, record=newer)])) == ["applied"]
    copy = UseCase.objects.get(uid=uid)
    assert (copy.origin_id, copy.version, copy.title) == (AGENCY, 2, "Renamed")
    assert copy.received_from == AGENCY and copy.received_at is not None
    entry = FeedEntry.objects.get(uid=uid)
    assert (entry.version, entry.hash, entry.received_from) == (2, record_hash(newer), AGENCY)
    assert entry.record == newer


def test_the_same_version_and_hash_again_is_unchanged(hub_node, agency_token, push):
    change = envelope()
    push(agency_token, [change])
    seq = FeedEntry.objects.get().seq
    assert statuses(push(agency_token, [change])) == ["unchanged"]
    assert FeedEntry.objects.get().seq == seq


def test_stale_version_never_overwrites_newer(hub_node, agency_token, push):
    uid = uuid.uuid4()
    push(agency_token, [envelope(uid=uid, version=3, record=valid_record(title="Three"))])
    old = envelope(uid=uid, version=2, record=valid_record(title="Two"))
    assert statuses(push(agency_token, [old])) == ["stale"]
    assert UseCase.objects.get(uid=uid).title == "Three"


def test_same_version_with_other_content_is_a_rejected_conflict(hub_node, agency_token, push):
    uid = uuid.uuid4()
    push(agency_token, [envelope(uid=uid, version=2, record=valid_record(title="A"))])
    conflict = envelope(uid=uid, version=2, record=valid_record(title="B"))
    response = push(agency_token, [conflict])
    assert statuses(response) == ["rejected"]
    assert UseCase.objects.get(uid=uid).title == "A"


def test_a_hash_that_does_not_match_the_record_is_rejected(hub_node, agency_token, push):
    corrupt = envelope(hash=record_hash(valid_record(title="Something else")))
    response = push(agency_token, [corrupt])
    assert statuses(response) == ["rejected"]
    assert "hash" in response.json()["results"][0]["errors"]
    assert not UseCase.objects.exists()


def test_a_tombstone_deletes_the_copy_and_a_late_older_upsert_never_resurrects_it(
    hub_node, agency_token, push
):
    uid = uuid.uuid4()
    push(agency_token, [envelope(uid=uid, version=1)])
    assert statuses(push(agency_token, [envelope(uid=uid, version=2, deleted=True)])) == ["applied"]
    assert not UseCase.objects.filter(uid=uid).exists()
    assert statuses(push(agency_token, [envelope(uid=uid, version=1)])) == ["stale"]
    assert not UseCase.objects.filter(uid=uid).exists()
    entry = FeedEntry.objects.get(uid=uid)
    assert entry.deleted and entry.version == 2


def test_a_record_recreated_under_the_same_uid_continues_after_the_tombstone(
    hub_node, agency_token, push
):
    uid = uuid.uuid4()
    push(agency_token, [envelope(uid=uid, version=1), envelope(uid=uid, version=2, deleted=True)])
    assert statuses(push(agency_token, [envelope(uid=uid, version=3)])) == ["applied"]
    assert UseCase.objects.get(uid=uid).version == 3


def test_out_of_order_and_duplicate_delivery_converge_on_the_latest(hub_node, agency_token, push):
    uid = uuid.uuid4()
    v1, v2, v3 = (
        envelope(uid=uid, version=n, record=valid_record(title=f"v{n}")) for n in (1, 2, 3)
    )
    assert statuses(push(agency_token, [v3, v1, v2, v3])) == [
        "applied",
        "stale",
        "stale",
        "unchanged",
    ]
    assert UseCase.objects.get(uid=uid).title == "v3"


def test_a_node_never_applies_outside_changes_to_its_own_records(settings, db, push):
    """At agency DE-BFARM, even a peer authenticated as DE-BFARM cannot change its records."""
    settings.NODE_ROLE, settings.NODE_AGENCY = "agency", AGENCY
    token = auth.issue_token(agency=AGENCY)[1]
    response = push(token, [envelope(origin=AGENCY)])
    assert statuses(response) == ["rejected"]
    assert not UseCase.objects.exists()
    assert not FeedEntry.objects.exists()


# Rule 4: validation


def test_an_invalid_record_is_rejected_with_field_errors_and_the_valid_ones_apply(
    hub_node, agency_token, push
):
    bad = envelope(record=valid_record(stage="live", summary="s" * 400))
    response = push(agency_token, [envelope(), bad, envelope()])
    assert statuses(response) == ["applied", "rejected", "applied"]
    assert set(response.json()["results"][1]["errors"]) == {"stage", "summary"}
    assert UseCase.objects.count() == 2


def test_a_record_with_a_nul_character_is_rejected_not_a_500(hub_node, agency_token, push):
    response = push(agency_token, [envelope(record=valid_record(title="a\u0000b")), envelope()])
    assert statuses(response) == ["rejected", "applied"]


def test_a_record_below_network_level_is_rejected(hub_node, agency_token, push):
    response = push(agency_token, [envelope(record=valid_record(publication_level="draft"))])
    assert statuses(response) == ["rejected"]


@pytest.mark.parametrize(
    "broken",
    [
        {"uid": "not-a-uuid"},
        {"version": 0},
        {"version": "2"},
        {"version": 2**31},
        {"origin": "lower-case"},
        {"hash": "md5:abc"},
        {"modified": "yesterday"},
        {"deleted": True},  # with a record still attached
    ],
)
def test_a_malformed_envelope_is_rejected_alone(hub_node, agency_token, push, broken):
    malformed = {**envelope(), **broken}
    response = push(agency_token, [malformed, envelope()])
    assert statuses(response) == ["rejected", "applied"]
    assert set(response.json()["results"][0]["errors"]) & {*broken, "record"}


def test_an_agency_first_heard_of_through_a_record_is_created(hub_node, push):
    token = auth.issue_token(agency="PL-URPL")[1]
    push(token, [envelope(origin="PL-URPL")])
    agency = Agency.objects.get(code="PL-URPL")
    assert agency.country == "PL"


# Rule 5: bad requests


def post_raw(client, token, body, content_type="application/json"):
    return client.post(
        "/federation/v1/changes",
        body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )


def assert_problem(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"]
    assert not FeedEntry.objects.exists()


def test_malformed_json_is_a_400_problem(client, hub_node, agency_token):
    assert_problem(post_raw(client, agency_token, '{"changes": [oops'), 400)


def test_absurdly_nested_json_is_a_400_problem(client, hub_node, agency_token):
    assert_problem(post_raw(client, agency_token, "[" * 100_000 + "]" * 100_000), 400)


@pytest.mark.parametrize("body", ["[]", '{"changes": {}}', '"changes"', "{}"])
def test_a_body_that_is_not_a_batch_is_a_400_problem(client, hub_node, agency_token, body):
    assert_problem(post_raw(client, agency_token, body), 400)


def test_a_wrong_content_type_is_a_415_problem(client, hub_node, agency_token):
    body = json.dumps({"changes": [envelope()]})
    assert_problem(post_raw(client, agency_token, body, "text/plain"), 415)


def test_a_body_over_8_mib_is_a_413_problem(client, hub_node, agency_token):
    body = json.dumps({"changes": [envelope(record=valid_record(description="x" * 9_000_000))]})
    assert_problem(post_raw(client, agency_token, body), 413)


def test_a_batch_over_1000_envelopes_is_a_413_problem(client, hub_node, agency_token):
    body = json.dumps({"changes": [envelope() for _ in range(1001)]})
    assert_problem(post_raw(client, agency_token, body), 413)


def test_a_batch_of_1000_envelopes_and_several_megabytes_is_accepted(
    hub_node, agency_token, push, settings
):
    changes = [envelope(record=valid_record(description="x" * 5000)) for _ in range(1000)]
    assert len(json.dumps({"changes": changes})) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert set(statuses(push(agency_token, changes))) == {"applied"}
    assert UseCase.objects.count() == 1000


def test_other_methods_are_a_405_problem(client, hub_node, agency_token):
    response = client.delete(
        "/federation/v1/changes", headers={"Authorization": f"Bearer {agency_token}"}
    )
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert client.post("/federation/v1/node").status_code == 405


# Serving the feed


def test_the_hub_republishes_received_copies_in_its_network_feed(
    hub_node, agency_token, push, pull
):
    sent = [envelope(), envelope(deleted=True, version=2)]
    push(agency_token, sent)
    page = pull(agency_token).json()
    assert [(c["uid"], c["deleted"]) for c in page["changes"]] == [
        (sent[0]["uid"], False),
        (sent[1]["uid"], True),
    ]
    first = page["changes"][0]
    assert first["hash"] == sent[0]["hash"] and first["record"] == sent[0]["record"]
    assert page["more"] is False
    assert pull(agency_token, since=page["next"]).json()["changes"] == []


def test_limit_defaults_to_500_and_is_capped_at_1000(hub_node, agency_token, push, pull):
    push(agency_token, [envelope() for _ in range(1000)])
    push(agency_token, [envelope() for _ in range(50)])
    default = pull(agency_token).json()
    assert len(default["changes"]) == 500 and default["more"] is True
    capped = pull(agency_token, limit=5000).json()
    assert len(capped["changes"]) == 1000 and capped["more"] is True
    rest = pull(agency_token, since=capped["next"], limit=1000).json()
    assert len(rest["changes"]) == 50 and rest["more"] is False


@pytest.mark.parametrize("limit", ["0", "-1", "ten", "1.5"])
def test_a_bad_limit_is_a_400_problem(hub_node, agency_token, pull, limit):
    response = pull(agency_token, limit=limit)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("cursor", ["garbage", "1.2", "1.2.AAAAAAAAAAAAAAAAAAAAAAAA", "x.y.z"])
def test_a_malformed_or_forged_cursor_is_a_400_problem(hub_node, agency_token, pull, cursor):
    response = pull(agency_token, since=cursor)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_a_cursor_with_a_changed_position_is_refused(hub_node, agency_token, push, pull):
    push(agency_token, [envelope(), envelope()])
    cursor = pull(agency_token, limit=1).json()["next"]
    txid, seq, signature = cursor.split(".")
    response = pull(agency_token, since=f"{txid}.{int(seq) + 1}.{signature}")
    assert response.status_code == 400


def test_an_agency_serves_only_its_own_records(settings, db, pull, push):
    settings.NODE_ROLE, settings.NODE_AGENCY = "agency", "FR-ANSM"
    token = auth.issue_token(agency=AGENCY)[1]
    push(token, [envelope()])  # a copy of DE-BFARM's record
    assert pull(token).json()["changes"] == []


def test_a_cursor_from_before_a_feed_reset_is_refused_and_node_shows_the_new_feed_id(
    client, hub_node, agency_token, push, pull
):
    push(agency_token, [envelope()])
    old_feed = client.get("/federation/v1/node").json()["feed_id"]
    cursor = pull(agency_token).json()["next"]
    feed.reset_feed_id()
    assert client.get("/federation/v1/node").json()["feed_id"] != old_feed
    assert pull(agency_token, since=cursor).status_code == 400
    assert len(pull(agency_token).json()["changes"]) == 1


# Limits of what a receiver stores: whatever passes must round-trip through either database


@pytest.mark.parametrize(
    "modified",
    [
        "9999-12-31T23:00:00-05:00",  # year 10000 in UTC
        "0001-01-01T00:00:00+05:00",  # year 0 in UTC
        "9999-12-31T23:59:59Z",
        "1899-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "2199-12-31T23:30:00-01:00",  # 2200 in UTC
        "2026-02-30T10:00:00Z",
        "2026-11-25T10:00:00+24:00",
    ],
)
def test_a_modified_time_outside_the_storable_range_is_rejected_and_the_feed_still_serves(
    hub_node, agency_token, push, pull, modified
):
    response = push(agency_token, [envelope(), envelope(modified=modified), envelope()])
    assert statuses(response) == ["applied", "rejected", "applied"]
    assert set(response.json()["results"][1]["errors"]) == {"modified"}
    page = pull(agency_token)
    assert page.status_code == 200
    assert len(page.json()["changes"]) == 2


@pytest.mark.parametrize(
    "modified, served",
    [
        ("1900-01-01T00:00:00Z", "1900-01-01T00:00:00Z"),
        ("2199-12-31T23:59:59.999999Z", "2199-12-31T23:59:59.999999Z"),
        ("2200-01-01T01:00:00+02:00", "2199-12-31T23:00:00Z"),
        ("2026-11-25T12:00:00+02:00", "2026-11-25T10:00:00Z"),
        ("2026-11-25T10:00:00", "2026-11-25T10:00:00Z"),  # no time zone: UTC
    ],
)
def test_a_modified_time_within_range_is_stored_and_served_in_utc(
    hub_node, agency_token, push, pull, modified, served
):
    assert statuses(push(agency_token, [envelope(modified=modified)])) == ["applied"]
    page = pull(agency_token)
    assert page.status_code == 200
    assert page.json()["changes"][0]["modified"] == served


@pytest.mark.parametrize(
    "field", ["started_on", "operational_since", "retired_on", "next_review_on"]
)
@pytest.mark.parametrize(
    "value", ["0000-01-01", "10000-01-01", "-0001-01-01", "2026-02-30", 20260101, ["2026-01-01"]]
)
def test_an_impossible_record_date_is_a_field_error(hub_node, agency_token, push, field, value):
    bad = envelope(record=valid_record(**{field: value}))
    response = push(agency_token, [bad, envelope()])
    assert statuses(response) == ["rejected", "applied"]
    assert field in response.json()["results"][0]["errors"]


def test_record_dates_at_the_ends_of_the_calendar_are_stored_and_served(
    hub_node, agency_token, push, pull
):
    record = valid_record(started_on="0001-01-01", next_review_on="9999-12-31")
    assert statuses(push(agency_token, [envelope(record=record)])) == ["applied"]
    copy = UseCase.objects.get()
    assert (copy.started_on.year, copy.next_review_on.year) == (1, 9999)
    page = pull(agency_token)
    assert page.status_code == 200
    assert page.json()["changes"][0]["record"]["next_review_on"] == "9999-12-31"


# Rule 5, whatever arrives: a 4xx problem or a rejected envelope, never a 500, nothing stored

NO_HASH = "sha256:" + "0" * 64  # for records whose hash cannot even be computed
BAD_BODIES = [
    b"null",
    b"1",
    b'"\\ud800"',
    b'{"changes": null}',
    b'{"changes": "x"}',
    b'{"changes": {"a": 1}}',
    b'{"changes": [{"version": 1' + b"0" * 5000 + b"}]}",  # past Python's digit limit
    b'{"changes": [], "x": NaN',
    b"\xff\xfe{}",
    b'{"changes": [\x00]}',
    b"",
]
BAD_ENVELOPES = [
    1,
    None,
    "envelope",
    [],
    [envelope()],
    {"version": 10**100},
    {"version": -1},
    {"version": True},
    {"version": 1.0},
    {"version": None},
    {"uid": 123},
    {"uid": "\ud800"},
    {"uid": "0" * 31 + "\ud800"},
    {"uid": ["6f1c2a8e-1a8d-4c51-9d4f-8d3e2f1b7c10"]},
    {"origin": 5},
    {"origin": ["DE-BFARM"]},
    {"origin": "\ud800"},
    {"origin": "DE-BFARM\x00"},
    {"origin": "X" * 100_000},
    {"record": []},
    {"record": "record"},
    {"record": 1},
    {"modified": "2026-11-25T10:00:00Z\x00"},
    {"modified": "2026-11-25T10:00:00\ud800Z"},
    {"modified": 1764064800},
    {"hash": "\ud800"},
    {"hash": ["sha256:"]},
    {"deleted": "true"},
    {"record": valid_record(title="\ud800"), "hash": NO_HASH},
    {"record": {**valid_record(), "\ud800": "x"}, "hash": NO_HASH},
    {"record": valid_record(title="a\x00b")},
    {"record": {**valid_record(), "ti\x00tle": "x"}},
    {"record": valid_record(description=float("inf")), "hash": NO_HASH},
    {"record": valid_record(title=["a"])},
    {"record": valid_record(tags=[["a"]])},
    {"record": valid_record(contact_email={"a": 1})},
    {"record": valid_record(related=[["x"]])},
    {"record": valid_record(related=[{"origin": "\x00", "uid": "x", "kind": "x"}])},
    {"record": valid_record(stage=[[["production"]]], outputs=[{"a": 1}])},
]


def _bad_envelope(case):
    if not isinstance(case, dict):
        return case
    hashed = (
        {"hash": record_hash(case["record"])} if "record" in case and "hash" not in case else {}
    )
    return {**envelope(), **hashed, **case}


@pytest.mark.parametrize("body", BAD_BODIES)
def test_a_body_that_is_not_a_batch_is_a_4xx_problem_whatever_it_holds(
    client, hub_node, agency_token, body
):
    response = post_raw(client, agency_token, body)
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)


@pytest.mark.parametrize("case", BAD_ENVELOPES, ids=lambda case: repr(case)[:60])
def test_a_malformed_envelope_is_rejected_whatever_it_holds_and_nothing_is_stored(
    client, hub_node, agency_token, case
):
    body = json.dumps({"changes": [_bad_envelope(case)]}, allow_nan=True)
    response = post_raw(client, agency_token, body)
    assert statuses(response) == ["rejected"]
    assert response.json()["results"][0]["errors"]
    assert not FeedEntry.objects.exists() and not UseCase.objects.exists()
    assert pull_ok(client, agency_token)


def pull_ok(client, token):
    page = client.get("/federation/v1/changes", headers={"Authorization": f"Bearer {token}"})
    return page.status_code == 200 and page.json()["changes"] == []


def test_only_valid_origins_and_uids_are_echoed_in_a_rejection(hub_node, agency_token, push):
    response = push(agency_token, [envelope(origin="\ud800", uid="\ud800", version=0)])
    assert response.json()["results"] == [
        {
            "origin": None,
            "uid": None,
            "status": "rejected",
            "errors": {
                "origin": [response.json()["results"][0]["errors"]["origin"][0]],
                "uid": ["Must be a UUID string."],
                "version": [response.json()["results"][0]["errors"]["version"][0]],
            },
        }
    ]


def test_an_unexpected_error_is_a_500_problem_and_logged_with_its_traceback(
    hub_node, agency_token, push, pull, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("something unforeseen")

    monkeypatch.setattr(receiver, "receive", broken)
    monkeypatch.setattr(serving, "changes_page", broken)
    for response in (push(agency_token, [envelope()]), pull(agency_token)):
        assert response.status_code == 500
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == 500
        assert "unforeseen" not in response.content.decode()
    assert [r.exc_info[0] for r in caplog.records if r.name == "sync.views"] == [RuntimeError] * 2


# Bodies without a Content-Length (chunked transfer)


def post_unsized(client, token, body: bytes, *, terminated: bool):
    """As gunicorn hands over a chunked request: no CONTENT_LENGTH, a stream that ends."""
    extra = {"wsgi.input_terminated": True} if terminated else {}
    return client.generic(
        "POST",
        "/federation/v1/changes",
        CONTENT_TYPE="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **{"wsgi.input": io.BytesIO(body)},
        **extra,
    )


def test_a_chunked_body_is_read_when_the_server_ends_the_stream(client, hub_node, agency_token):
    body = json.dumps({"changes": [envelope(), envelope()]}).encode()
    response = post_unsized(client, agency_token, body, terminated=True)
    assert statuses(response) == ["applied", "applied"]


def test_a_chunked_body_over_8_mib_is_a_413_problem(client, hub_node, agency_token):
    body = json.dumps({"changes": [envelope(record=valid_record(description="x" * 9_000_000))]})
    response = post_unsized(client, agency_token, body.encode(), terminated=True)
    assert_problem(response, 413)


def test_a_body_of_unknown_length_on_a_server_that_cannot_end_it_is_a_411_problem(
    client, hub_node, agency_token
):
    body = json.dumps({"changes": [envelope()]}).encode()
    assert_problem(post_unsized(client, agency_token, body, terminated=False), 411)


def test_a_content_length_that_is_not_a_number_is_a_400_problem(client, hub_node, agency_token):
    response = client.generic(
        "POST",
        "/federation/v1/changes",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH="²",
        HTTP_AUTHORIZATION=f"Bearer {agency_token}",
    )
    assert_problem(response, 400)
