"""Exports of a filtered catalogue view: CSV and JSON, streamed, same visibility as the list."""

import csv
import io
import json

from catalogue.selectors import NETWORK_FIELDS, PUBLIC_FIELDS
from registry.validation import NETWORK_ONLY_FIELDS
from tests.catalogue.test_api import keys, visible
from tests.factories import UseCaseFactory

EXPORT = "/api/v1/use-cases/export"


def streamed_text(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(streamed_text(response))))


def test_csv_export_streams_every_visible_record_as_an_attachment(anon_client, catalogue):
    response = anon_client.get(f"{EXPORT}.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="use-cases.csv"'
    rows = csv_rows(response)
    assert {(r["origin"], r["uid"]) for r in rows} == keys(visible(catalogue, network=False))


def test_csv_export_has_public_columns_only_for_anonymous_visitors(
    anon_client, member_client, catalogue
):
    anonymous = csv_rows(anon_client.get(f"{EXPORT}.csv"))
    member = csv_rows(member_client.get(f"{EXPORT}.csv"))

    assert set(PUBLIC_FIELDS) <= set(anonymous[0])
    assert not NETWORK_ONLY_FIELDS & set(anonymous[0])
    assert set(NETWORK_FIELDS) <= set(member[0])
    assert {(r["origin"], r["uid"]) for r in member} == keys(visible(catalogue, network=True))


def test_csv_export_joins_lists_with_bars_and_writes_plain_values(member_client, catalogue):
    row = next(r for r in catalogue if r.publication_level == "network" and len(r.techniques) > 1)

    exported = {r["uid"]: r for r in csv_rows(member_client.get(f"{EXPORT}.csv"))}[str(row.uid)]

    assert exported["techniques"] == "|".join(row.techniques)
    assert exported["regulatory_processes"] == "|".join(row.regulatory_processes)
    assert exported["started_on"] == row.started_on.isoformat()
    assert exported["reusable"] == ("true" if row.reusable else "false")
    assert exported["version"] == str(row.version)
    assert exported["title"] == row.title


def test_csv_export_keeps_formulas_from_running_in_spreadsheets(anon_client, agencies):
    UseCaseFactory(publication_level="public", title='=HYPERLINK("http://x")')

    rows = csv_rows(anon_client.get(f"{EXPORT}.csv"))

    assert rows[0]["title"] == '\'=HYPERLINK("http://x")'


def test_csv_export_applies_the_filters_and_search(anon_client, catalogue):
    shown = visible(catalogue, network=False)

    rows = csv_rows(anon_client.get(f"{EXPORT}.csv", {"agency": "FR-ANSM", "search": "catalogue"}))

    assert {(r["origin"], r["uid"]) for r in rows} == keys(
        r for r in shown if r.origin_id == "FR-ANSM"
    )


def test_json_export_is_one_array_of_list_items(anon_client, catalogue):
    response = anon_client.get(f"{EXPORT}.json", {"techniques": "nlp"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="use-cases.json"'
    items = json.loads(streamed_text(response))
    expected = [r for r in visible(catalogue, network=False) if "nlp" in r.techniques]
    assert {(i["origin"], i["uid"]) for i in items} == keys(expected)
    listed = anon_client.get("/api/v1/use-cases/", {"techniques": "nlp", "page_size": 200})
    assert sorted(items, key=lambda i: i["uid"]) == sorted(
        listed.json()["results"], key=lambda i: i["uid"]
    )


def test_an_empty_export_is_still_valid(anon_client, agencies):
    assert json.loads(streamed_text(anon_client.get(f"{EXPORT}.json"))) == []
    assert len(csv_rows(anon_client.get(f"{EXPORT}.csv"))) == 0


def test_export_with_bad_filters_is_a_400_problem(anon_client, catalogue):
    for suffix in ("csv", "json"):
        response = anon_client.get(f"{EXPORT}.{suffix}", {"stage": "nope"})
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert "stage" in response.json()["errors"]
