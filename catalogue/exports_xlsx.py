"""The catalogue's spreadsheet export: a filtered view as one XLSX workbook (Office Open XML,
ISO/IEC 29500), the columns of the CSV export in the same order.

Written with openpyxl's write-only workbook, which appends each row to a temporary file, and
saved into another temporary file that the response then streams: memory stays flat however
many rows there are (bench/catalogue.py measures it at 100,000). An XLSX file is a zip archive
whose directory comes last, so nothing can be sent before the last row is written.

Cells keep their types where a spreadsheet has one: numbers, yes/no as booleans, dates as dates
and timestamps as UTC date-times; text goes through the CSV's rule against formula injection
(serializers.neutralise_formula) and loses the control characters XML 1.0 cannot hold.
"""

import datetime as dt
import tempfile
from typing import IO, Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from catalogue.serializers import (
    EXPORT_CHUNK_ROWS,
    EXPORT_HEADER_START,
    list_cell,
    neutralise_formula,
    use_case_data,
)
from registry.validation import FIELDS

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE = "Use cases"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
# Read from the row itself: the API's dict holds them as ISO text.
TIMESTAMPS = ("created", "modified", "received_at")
DATES = tuple(name for name, field in FIELDS.items() if field.kind == "date")
# Spooled in memory up to this size, then on disk.
SPOOL_BYTES = 1 << 20


def write_workbook(rows, *, fields: tuple[str, ...]) -> IO[bytes]:
    """The XLSX file of rows (a queryset of use cases, read with a server-side cursor) with the
    header uid, origin, version, provenance, then fields; returned as a temporary file at its
    start, deleted when closed."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    header = [*EXPORT_HEADER_START, *fields]
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}1"
    bold = Font(bold=True)
    sheet.append([_styled(sheet, name, font=bold) for name in header])
    today = timezone.localdate()
    for use_case in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        data = use_case_data(use_case, fields=fields, today=today)
        sheet.append([_cell(sheet, name, use_case, data[name]) for name in header])
    # Handed to the response, which closes it once sent.
    output = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        workbook.save(output)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    return output


def _cell(sheet, name: str, use_case, value: Any) -> Any:
    if name in TIMESTAMPS or name in DATES:
        moment = getattr(use_case, name)
        if moment is None:
            return None
        if isinstance(moment, dt.datetime):
            # Spreadsheets have no time zones: UTC, as the API's "Z" timestamps.
            naive = moment.astimezone(dt.UTC).replace(tzinfo=None)
            return _styled(sheet, naive, number_format=DATETIME_FORMAT)
        return _styled(sheet, moment, number_format=DATE_FORMAT)
    if isinstance(value, list):
        value = list_cell(value)
    if isinstance(value, str):
        return neutralise_formula(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def _styled(sheet, value: Any, *, font: Font | None = None, number_format: str = "") -> Any:
    cell = WriteOnlyCell(sheet, value=value)
    if font is not None:
        cell.font = font
    if number_format:
        cell.number_format = number_format
    return cell
