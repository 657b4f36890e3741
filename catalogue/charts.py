"""Server-side SVG charts for the catalogue pages (the machines are offline: no chart library, no
CDN). Each chart is a <figure> holding an SVG that screen readers announce as one image (role
"img", a <title> and an aria-label) and a data table with the same figures, for anyone who cannot
see or read the drawing; where a bar or column has an address, the table links to it and a
click on the drawing goes there (statistics.js).

The drawings are narrow (WIDTH units) and their text large, so that scaled to a phone's width
(about 350 px) the text stays near 13 px; the stylesheet keeps them from growing past about 1.2
times that on wide screens. Time runs by year, or by quarter when the span is short (time_axis).
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 360
FONT_SIZE = 14
# Horizontal bars: the label on its own line above each bar, so long labels keep the width.
LABEL_HEIGHT = 18
BAR_HEIGHT = 16
BAR_GAP = 10
VALUE_WIDTH = 44
LABEL_CHARACTERS = 44
# Columns over time.
COLUMN_AREA_HEIGHT = 160
AXIS_HEIGHT = 34
TOP_MARGIN = 10
PLOT_LEFT = 40  # at least; more when the peak's label is wider (_plot_left)
PLOT_RIGHT_MARGIN = 28  # room for half of the last label, so it is never cut
CHARACTER_WIDTH = 8.5  # of a digit at FONT_SIZE, to space the axis labels
# A digit's width at FONT_SIZE in the widest common sans-serif faces (about 8.9 px measured in
# Chromium), kept apart from CHARACTER_WIDTH so that the y axis's labels never start outside
# the drawing; and the gap between a label and the axis.
DIGIT_WIDTH = 9.5
Y_LABEL_GAP = 6
MAX_COLUMN_WIDTH = 40
# Colours meet WCAG 2.1 non-text contrast (3:1) against the white page.
BAR_COLOUR = "#1f4e79"
TEXT_COLOUR = "#1a1a1a"
GRID_COLOUR = "#6b6b6b"
# A span of at most this many months is shown by quarter; a longer one by year.
QUARTERS_UP_TO_MONTHS = 36


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    href: str = ""  # the catalogue filtered to this bar


@dataclass(frozen=True)
class Period:
    """One step of a time axis: label ("2024" or "2024 Q1"), count, first and last day."""

    label: str
    value: int
    start: dt.date
    end: dt.date
    href: str = ""


def bar_chart(
    bars: Sequence[Bar], *, title: str, chart_id: str, empty: str | None = None
) -> SafeString:
    """Horizontal bars, one per label with a value, longest scale = the largest value; the data
    table lists every label, zeros included. Without any value: the text empty (default: "No
    data yet.")."""
    drawn = [bar for bar in bars if bar.value]
    if not drawn:
        return _empty(title, empty)
    peak = max(bar.value for bar in drawn)
    plot_width = WIDTH - VALUE_WIDTH
    row_height = LABEL_HEIGHT + BAR_HEIGHT + BAR_GAP
    shapes = []
    for index, bar in enumerate(drawn):
        y = TOP_MARGIN + index * row_height
        length = round(plot_width * bar.value / peak, 1)
        shapes.append(_bar_row(bar, y=y, length=length))
    height = TOP_MARGIN + len(drawn) * row_height
    svg = _svg(title, chart_id, height, mark_safe("".join(shapes)), kind="bars")
    rows = [(_linked(bar.label, bar.href), bar.value) for bar in bars]
    return _figure(title, chart_id, svg, rows)


def _bar_row(bar: Bar, *, y: int, length: float) -> str:
    bar_top = y + LABEL_HEIGHT
    shape = format_html(
        '<g class="bar"><title>{full}: {value}</title>'
        '<text x="0" y="{ly}">{label}</text>'
        '<rect x="0" y="{by}" width="{length}" height="{h}" fill="{colour}"></rect>'
        '<text x="{vx}" y="{vy}" dominant-baseline="middle">{value}</text></g>',
        full=bar.label,
        value=bar.value,
        ly=y + LABEL_HEIGHT - 5,
        label=_truncate(bar.label, LABEL_CHARACTERS),
        by=bar_top,
        length=max(length, 1),
        h=BAR_HEIGHT,
        colour=BAR_COLOUR,
        vx=length + 6,
        vy=bar_top + BAR_HEIGHT / 2,
    )
    return _svg_link(shape, bar.href)


def time_axis(months: Sequence[dict]) -> list[Period]:
    """Monthly counts ([{"month": "YYYY-MM", "count": n}], as catalogue.counts gives them) as an
    even axis from the first period to the last, empty periods included: by quarter when the
    span is at most QUARTERS_UP_TO_MONTHS months, else by year."""
    counts = {tuple(map(int, row["month"].split("-"))): row["count"] for row in months}
    counts = {month: n for month, n in counts.items() if n}
    if not counts:
        return []
    first, last = min(counts), max(counts)
    span = (last[0] - first[0]) * 12 + last[1] - first[1] + 1
    step = 3 if span <= QUARTERS_UP_TO_MONTHS else 12
    start = (first[0], 1) if step == 12 else (first[0], first[1] - (first[1] - 1) % 3)
    periods = []
    while start <= last:
        following = _months_later(start, step)
        value = sum(n for month, n in counts.items() if start <= month < following)
        label = str(start[0]) if step == 12 else f"{start[0]} Q{(start[1] - 1) // 3 + 1}"
        end = dt.date(*following, 1) - dt.timedelta(days=1)
        periods.append(Period(label, value, dt.date(*start, 1), end))
        start = following
    return periods


def _months_later(month: tuple[int, int], count: int) -> tuple[int, int]:
    index = month[0] * 12 + month[1] - 1 + count
    return index // 12, index % 12 + 1


def cumulative(periods: Sequence[Period]) -> list[Period]:
    """The running total at the end of each period."""
    total = 0
    running = []
    for period in periods:
        total += period.value
        running.append(Period(period.label, total, period.start, period.end, period.href))
    return running


def column_chart(
    points: Sequence[Period], *, title: str, chart_id: str, empty: str | None = None
) -> SafeString:
    """Vertical columns over time (oldest first) with a base line; as many axis labels as fit
    without overlapping, the last period's always among them. The plot starts far enough right
    for the peak's label (_plot_left). Without any period: the text empty."""
    if not points:
        return _empty(title, empty)
    peak = max(point.value for point in points) or 1
    plot_left = _plot_left(peak)
    plot_width = WIDTH - plot_left - PLOT_RIGHT_MARGIN
    step = plot_width / len(points)
    column_width = min(max(step * 0.7, 1), MAX_COLUMN_WIDTH)
    base = TOP_MARGIN + COLUMN_AREA_HEIGHT
    shapes = [_axis(base, plot_left, plot_width, peak)]
    labelled = _labelled(points, step)
    for index, point in enumerate(points):
        height = round(COLUMN_AREA_HEIGHT * point.value / peak, 1)
        x = round(plot_left + index * step + (step - column_width) / 2, 1)
        column = format_html(
            '<g class="column"><title>{label}: {value}</title>'
            '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}"></rect></g>',
            label=point.label,
            value=point.value,
            x=x,
            y=base - height,
            w=round(column_width, 1),
            h=height,
            c=BAR_COLOUR,
        )
        shapes.append(_svg_link(column, point.href))
        if index in labelled:
            shapes.append(
                format_html(
                    '<text x="{x}" y="{y}" text-anchor="middle">{label}</text>',
                    x=round(x + column_width / 2, 1),
                    y=base + 20,
                    label=point.label,
                )
            )
    svg = _svg(title, chart_id, base + AXIS_HEIGHT, mark_safe("".join(shapes)), kind="columns")
    rows = [(_linked(point.label, point.href), point.value) for point in points]
    return _figure(title, chart_id, svg, rows)


def _plot_left(peak: int) -> float:
    """Where the plot starts: right of the y axis's widest label (the peak's), never left of
    PLOT_LEFT."""
    return max(PLOT_LEFT, len(str(peak)) * DIGIT_WIDTH + 2 * Y_LABEL_GAP)


def _axis(base: float, plot_left: float, plot_width: float, peak: int) -> str:
    return format_html(
        '<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{c}"></line>'
        '<text x="{tx}" y="{ty}" text-anchor="end" dominant-baseline="middle">{peak}</text>'
        '<text x="{tx}" y="{y}" text-anchor="end" dominant-baseline="middle">0</text>',
        x1=plot_left,
        x2=plot_left + plot_width,
        y=base,
        c=GRID_COLOUR,
        tx=plot_left - Y_LABEL_GAP,
        ty=TOP_MARGIN + 6,
        peak=peak,
    )


def _labelled(points: Sequence[Period], step: float) -> set[int]:
    """Indexes of the columns whose label is drawn: evenly spaced so that no two overlap,
    counted back from the last (the latest period is the one most looked for)."""
    widest = max(len(point.label) for point in points) * CHARACTER_WIDTH + 8
    every = max(1, -(-int(widest) // max(int(step), 1)))
    return set(range(len(points) - 1, -1, -every))


def _svg(title: str, chart_id: str, height: float, body: SafeString, *, kind: str) -> SafeString:
    return format_html(
        '<svg class="chart chart-{kind}" id="{id}" xmlns="http://www.w3.org/2000/svg" '
        'role="img" aria-labelledby="{id}-title" aria-label="{title}" viewBox="0 0 {w} {h}" '
        'preserveAspectRatio="xMinYMin meet" font-size="{size}" fill="{text}">'
        '<title id="{id}-title">{title}</title>{body}</svg>',
        kind=kind,
        id=chart_id,
        title=title,
        w=WIDTH,
        h=height,
        size=FONT_SIZE,
        text=TEXT_COLOUR,
        body=body,
    )


def _svg_link(shape: str, href: str) -> str:
    """A bar or column that leads to its use cases when clicked (catalogue/static/catalogue/
    statistics.js). Not an <a>: inside an image, which assistive technology announces as one,
    a link would be nested in it (WCAG 4.1.2); the data table's links are the ones every
    visitor, keyboard and screen reader included, can follow."""
    if not href:
        return shape
    return format_html('<g class="link" data-href="{}">{}</g>', href, shape)


def _figure(title: str, chart_id: str, svg: SafeString, rows: list[tuple]) -> SafeString:
    table_rows = format_html_join(
        "", '<tr><th scope="row">{}</th><td>{}</td></tr>', ((label, n) for label, n in rows)
    )
    return format_html(
        '<figure class="chart-figure"><figcaption>{title}</figcaption>{svg}'
        '<details class="chart-data"><summary>{show}</summary>'
        '<table id="{id}-data"><caption class="visually-hidden">{title}</caption>'
        '<thead><tr><th scope="col">{item}</th><th scope="col">{count}</th></tr></thead>'
        "<tbody>{rows}</tbody></table></details></figure>",
        title=title,
        svg=svg,
        show=_("Show the data as a table"),
        id=chart_id,
        item=_("Value"),
        count=_("Use cases"),
        rows=table_rows,
    )


def _linked(label: str, href: str):
    """A label in the data table, as a link where its bar or column has one."""
    return format_html('<a href="{}">{}</a>', href, label) if href else label


def _empty(title: str, text: str | None = None) -> SafeString:
    return format_html(
        '<figure class="chart-figure"><figcaption>{}</figcaption><p>{}</p></figure>',
        title,
        text or _("No data yet."),
    )


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
