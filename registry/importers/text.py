"""Small helpers that turn messy spreadsheet cells into clean values of our record."""

import ast
import datetime as dt
import html
import re
import textwrap
from html.parser import HTMLParser

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from inscriptis import get_text
from inscriptis.model.config import ParserConfig

EMAIL_RE = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)
_url_validator = URLValidator(schemes=["http", "https"])
_email_validator = EmailValidator()

# Cells that look filled but say nothing ("N/A", "n.v.t.", a lone dash, a non-breaking space).
PLACEHOLDERS = {
    "",
    "-",
    "--",
    "0",
    "n/a",
    "na",
    "none",
    "no",
    "unknown",
    "tbd",
    "not available",
    "not applicable",
    "not publicly available",
    "n.v.t.",
    "n.v.t",
    "nvt",
    "volgt",
    "niet bekend.",
    "niet bekend",
    "nog niet beschikbaar",
    "niet van toepassing",
    "niet beschikbaar",
}
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTHS = {name: number for number, name in enumerate(MONTH_NAMES, 1)}


def clean(value) -> str:
    """A cell as stripped text; None and non-text become ''."""
    if value is None:
        return ""
    return str(value).replace("\xa0", " ").strip()


def plain_text(value) -> str:
    """A cell as plain text: HTML (the Dutch register's `<p>`, `<ul>`, entities) becomes text with
    its paragraphs as blank-line breaks and its list items as "• " lines; text without markup is
    only stripped and its character references read ('&amp;' is '&'), so its own line breaks
    stay.

    inscriptis renders HTML the way a browser lays it out, which regexes cannot do for nested
    lists, entities and stray tags.
    """
    text = clean(value)
    if "<" not in text or not _has_markup(text):
        # Entities without tags ('images &amp; decomposition' in the OMB file) are still HTML.
        return html.unescape(text) if "&" in text else text
    rendered = get_text(text, _HTML_TO_TEXT)
    lines = []
    for line in rendered.splitlines():
        stripped = line.strip()
        if stripped[:2] in _LIST_MARKERS and line.startswith("  "):  # inscriptis: *, + and o
            depth = (len(line) - len(line.lstrip()) - 2) // 4
            stripped = "  " * max(depth, 0) + "• " + stripped[2:].strip()
        if stripped or (lines and lines[-1]):
            lines.append(stripped)
    return "\n".join(lines).strip()


_LIST_MARKERS = ("* ", "+ ", "o ")
_HTML_TO_TEXT = ParserConfig(display_links=False, display_anchors=False)


class _MarkupDetector(HTMLParser):
    found = False

    def handle_starttag(self, tag, attrs):
        self.found = True

    def handle_endtag(self, tag):
        self.found = True


def _has_markup(text: str) -> bool:
    """True when the text holds an HTML start or end tag ('a < b' and '<3' do not count)."""
    detector = _MarkupDetector(convert_charrefs=True)
    detector.feed(text)
    detector.close()
    return detector.found


def meaningful(value) -> str:
    """The cell's text, or '' when it is a placeholder."""
    text = clean(value)
    return "" if text.casefold() in PLACEHOLDERS else text


def one_line(value) -> str:
    return " ".join(clean(value).split())


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary and mark the cut, so a long source text still fits our field."""
    text = one_line(text)
    if len(text) <= limit:
        return text
    return textwrap.shorten(text, width=limit, placeholder=" …")


def first_email(value) -> str:
    """The first e-mail address in a cell ('a@x.gov, cc: b@x.gov', 'Mail us at a@x.nl.')."""
    for match in EMAIL_RE.finditer(clean(value)):
        address = match.group(0).rstrip(".")
        try:
            _email_validator(address)
        except ValidationError:
            continue
        return address
    return ""


def contact(value, fallback: str, notes: list[str]) -> str:
    """The row's contact: its first e-mail address; else the agency's functional mailbox; else
    the first contact page URL in the cell. A cell that says more than the contact we use (a
    person's name, a phone number, directions for a contact form) is kept in the notes."""
    address = first_email(value)
    if address:
        return address
    used = fallback or first_url(value)
    text = meaningful(one_line(value))
    if text and text != used:
        notes.append(f"Contact given in the source: {shorten(text, 300).rstrip('.')}.")
    return used


def first_url(value) -> str:
    """The first http(s) URL in a cell ('Use the form at https://x.nl/contact, or call us.')."""
    for match in URL_RE.finditer(clean(value)):
        url = http_url(match.group(0).rstrip(".,;:)"))
        if url:
            return url
    return ""


def http_url(value) -> str:
    """The cell when it is one http(s) URL of at most 2000 characters, else ''."""
    text = clean(value)
    if not text or len(text) > 2000 or any(ch.isspace() for ch in text):
        return ""
    try:
        _url_validator(text)
    except ValidationError:
        return ""
    return text


def literal_list(value) -> list[str]:
    """A Python-literal list stored as text ("['a) Race', 'c) Age']"); never evaluates code."""
    text = clean(value)
    if not text:
        return []
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return [text]
    if isinstance(parsed, list | tuple):
        return [clean(item) for item in parsed if clean(item)]
    return [clean(parsed)] if clean(parsed) else []


def parse_date(value) -> dt.date | str | None:
    """An ISO date from the formats the inventories use; a month or year alone means its first day.

    Returns None for an empty cell, and the raw text when no format fits, so the record validator
    names the field and the row is skipped with that reason instead of losing the date silently.
    """
    text = one_line(value)
    if not text:
        return None
    for parse in (_iso, _us_numeric, _month_year, _month_abbrev, _year):
        parsed = parse(text)
        if parsed is not None:
            return parsed
    return text


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _iso(text: str) -> dt.date | None:
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][\d:.]+(?:[+-]\d\d:\d\d)?)?", text)
    return _safe_date(*map(int, match.groups())) if match else None


def _us_numeric(text: str) -> dt.date | None:
    """M/D/YYYY, optionally with a time ('9/1/2019 0:00', '09/24/2024 12:00:00 AM')."""
    match = re.fullmatch(
        r"(\d{1,2})/(\d{1,2})/(\d{4})(?: \d{1,2}:\d\d(?::\d\d)?(?: [AP]M)?)?", text
    )
    if not match:
        return None
    month, day, year = map(int, match.groups())
    return _safe_date(year, month, day)


def _month_year(text: str) -> dt.date | None:
    match = re.fullmatch(r"(\d{1,2})/(\d{4})", text)
    return _safe_date(int(match.group(2)), int(match.group(1)), 1) if match else None


def _month_abbrev(text: str) -> dt.date | None:
    """'Jul-25' is July 2025 (Excel's month-year display)."""
    match = re.fullmatch(r"([A-Za-z]{3})-(\d{2})", text)
    if not match or match.group(1).lower() not in MONTHS:
        return None
    return _safe_date(2000 + int(match.group(2)), MONTHS[match.group(1).lower()], 1)


def _year(text: str) -> dt.date | None:
    match = re.fullmatch(r"(19|20)\d\d", text)
    return dt.date(int(text), 1, 1) if match else None


def paragraphs(*parts: tuple[str, str]) -> str:
    """Labelled paragraphs ('Label: text') for the ones that have text."""
    return "\n\n".join(f"{label}: {text}" if label else text for label, text in parts if text)
