"""The spreadsheet export (catalogue.exports_xlsx): the CSV export's rows and columns in one XLSX
worksheet, opened here with openpyxl as a spreadsheet program would."""

import csv
import datetime as dt
import io

import openpyxl
import pytest

from catalogue.exports_xlsx import CONTENT_TYPE
from catalogue.selectors import NETWORK_FIELDS, PUBLIC_FIELDS
from registry.validation import NETWORK_ONLY_FIELDS
from tests.catalogue.test_api import keys, visible
from tests.factories import UseCaseFactory

EXPORT = "/api/v1/use-cases/export"


def sheet_rows(response) -> list[dict]:
    """The worksheet's rows as dicts keyed by the header row (values as openpyxl reads them)."""
    body = b"".join(response.streaming_content)
    workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_xlsx_export_is_an_attachment_holding_every_visible_record(anon_client, catalogue):
    response = anon_client.get(f"{EXPORT}.xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    assert response["Content-Disposition"] == 'attachment; filename="use-cases.xlsx"'
    rows = sheet_rows(response)
    assert {(r["origin"], r["uid"]) for r in rows} == keys(visible(catalogue, network=False))


def test_xlsx_export_has_the_csv_columns_in_the_csv_order(anon_client, member_client, catalogue):
    for client, fields in ((anon_client, PUBLIC_FIELDS), (member_client, NETWORK_FIELDS)):
        csv_text = b"".join(client.get(f"{EXPORT}.csv").streaming_content).decode()
        csv_header = next(csv.reader(io.StringIO(csv_text)))
        rows = sheet_rows(client.get(f"{EXPORT}.xlsx"))
        assert list(rows[0]) == csv_header
        assert set(fields) <= set(rows[0])
    anonymous = sheet_rows(anon_client.get(f"{EXPORT}.xlsx"))
    assert not NETWORK_ONLY_FIELDS & set(anonymous[0])


def test_xlsx_export_writes_typed_values(member_client, catalogue):
    row = next(r for r in catalogue if r.publication_level == "network" and len(r.techniques) > 1)

    exported = {r["uid"]: r for r in sheet_rows(member_client.get(f"{EXPORT}.xlsx"))}[str(row.uid)]

    assert exported["title"] == row.title
    assert exported["techniques"] == "|".join(row.techniques)
    assert exported["version"] == row.version
    assert exported["reusable"] is row.reusable
    # Dates are date cells (openpyxl reads them back as midnight), timestamps UTC date-times.
    assert exported["started_on"] == dt.datetime.combine(row.started_on, dt.time.min)
    row.refresh_from_db()
    modified = row.modified.astimezone(dt.UTC).replace(tzinfo=None)
    assert abs(exported["modified"] - modified) < dt.timedelta(milliseconds=1)
    assert exported["operational_since"] == (
        dt.datetime.combine(row.operational_since, dt.time.min) if row.operational_since else None
    )


@pytest.mark.parametrize(
    "title",
    ['=HYPERLINK("http://x","click")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1"],
)
def test_xlsx_export_keeps_formulas_from_running_as_the_csv_does(anon_client, agencies, title):
    UseCaseFactory(publication_level="public", title=title, tags=["=cmd|' /C calc'!A0"])

    response = anon_client.get(f"{EXPORT}.xlsx")
    body = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    header = [cell.value for cell in sheet[1]]
    title_cell = sheet.cell(row=2, column=header.index("title") + 1)
    tags_cell = sheet.cell(row=2, column=header.index("tags") + 1)
    csv_text = b"".join(anon_client.get(f"{EXPORT}.csv").streaming_content).decode()
    csv_title = next(csv.DictReader(io.StringIO(csv_text)))["title"]

    assert title_cell.data_type == "s" and tags_cell.data_type == "s"
    assert title_cell.value == "'" + title == csv_title
    assert tags_cell.value.startswith("'=cmd")


def test_xlsx_export_drops_control_characters_a_worksheet_cannot_hold(anon_client, agencies):
    UseCaseFactory(publication_level="public", title="Bell\x07 and\x1b escape")

    rows = sheet_rows(anon_client.get(f"{EXPORT}.xlsx"))

    assert rows[0]["title"] == "Bell and escape"


def test_xlsx_export_applies_the_filters_and_search(anon_client, catalogue):
    shown = visible(catalogue, network=False)

    response = anon_client.get(f"{EXPORT}.xlsx", {"agency": "FR-ANSM", "search": "catalogue"})

    assert {(r["origin"], r["uid"]) for r in sheet_rows(response)} == keys(
        r for r in shown if r.origin_id == "FR-ANSM"
    )


def test_xlsx_export_refuses_a_bad_filter_with_a_problem(anon_client, catalogue):
    response = anon_client.get(f"{EXPORT}.xlsx", {"stage": "nonsense"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "stage" in response.json()["errors"]


def test_catalogue_page_links_the_xlsx_export_of_its_filters(client, catalogue):
    html = client.get("/", {"agency": "FR-ANSM", "stage": "pilot"}).content.decode()

    assert 'href="/api/v1/use-cases/export.xlsx?agency=FR-ANSM&amp;stage=pilot"' in html
