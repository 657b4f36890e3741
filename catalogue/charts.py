"""Server-side SVG charts for the catalogue pages (the machines are offline: no chart library, no
CDN). Each chart is a <figure> holding an SVG that screen readers announce as one image (role
"img", a <title> and an aria-label) and a data table with the same figures, for anyone who cannot
see or read the drawing.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 640
BAR_HEIGHT = 24
BAR_GAP = 8
LABEL_WIDTH = 250
VALUE_WIDTH = 56
COLUMN_AREA_HEIGHT = 180
AXIS_HEIGHT = 40
TOP_MARGIN = 10
# Colours meet WCAG 2.1 non-text contrast (3:1) against the white page.
BAR_COLOUR = "#1f4e79"
TEXT_COLOUR = "#1a1a1a"
GRID_COLOUR = "#6b6b6b"
MAX_X_LABELS = 8
MAX_COLUMN_WIDTH = 48


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    href: str = ""  # where the label links to in the data table


def bar_chart(bars: Sequence[Bar], *, title: str, chart_id: str) -> SafeString:
    """Horizontal bars, one per label, longest scale = the largest value."""
    if not bars:
        return _empty(title)
    peak = max(bar.value for bar in bars) or 1
    plot_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = TOP_MARGIN + len(bars) * (BAR_HEIGHT + BAR_GAP)
    shapes = []
    for index, bar in enumerate(bars):
        y = TOP_MARGIN + index * (BAR_HEIGHT + BAR_GAP)
        length = round(plot_width * bar.value / peak, 1)
        shapes.append(_bar_row(bar, y=y, length=length))
    svg = _svg(title, chart_id, height, mark_safe("".join(shapes)))
    return _figure(title, chart_id, svg, [(_linked(bar), bar.value) for bar in bars])


def _bar_row(bar: Bar, *, y: int, length: float) -> str:
    middle = y + BAR_HEIGHT / 2
    label = _truncate(bar.label, 30)
    return format_html(
        '<g class="bar"><title>{full}: {value}</title>'
        '<text x="{lx}" y="{ty}" text-anchor="end" dominant-baseline="middle">{label}</text>'
        '<rect x="{bx}" y="{y}" width="{length}" height="{h}" fill="{colour}"></rect>'
        '<text x="{vx}" y="{ty}" dominant-baseline="middle">{value}</text></g>',
        full=bar.label,
        value=bar.value,
        lx=LABEL_WIDTH - 8,
        ty=middle,
        label=label,
        bx=LABEL_WIDTH,
        y=y,
        length=max(length, 1 if bar.value else 0),
        h=BAR_HEIGHT,
        colour=BAR_COLOUR,
        vx=LABEL_WIDTH + length + 6,
    )


def column_chart(points: Sequence[tuple[str, int]], *, title: str, chart_id: str) -> SafeString:
    """Vertical columns over time (one per period label, oldest first), with a base line."""
    if not points:
        return _empty(title)
    peak = max(value for _label, value in points) or 1
    plot_left, plot_width = 40, WIDTH - 50
    step = plot_width / len(points)
    column_width = min(max(step * 0.7, 1), MAX_COLUMN_WIDTH)
    base = TOP_MARGIN + COLUMN_AREA_HEIGHT
    label_every = max(1, -(-len(points) // MAX_X_LABELS))
    shapes = [
        format_html(
            '<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{c}"></line>'
            '<text x="{tx}" y="{ty}" text-anchor="end" dominant-baseline="middle">{peak}</text>'
            '<text x="{tx}" y="{y}" text-anchor="end" dominant-baseline="middle">0</text>',
            x1=plot_left,
            x2=plot_left + plot_width,
            y=base,
            c=GRID_COLOUR,
            tx=plot_left - 6,
            ty=TOP_MARGIN + 6,
            peak=peak,
        )
    ]
    for index, (label, value) in enumerate(points):
        height = round(COLUMN_AREA_HEIGHT * value / peak, 1)
        x = round(plot_left + index * step + (step - column_width) / 2, 1)
        shapes.append(
            format_html(
                '<g class="column"><title>{label}: {value}</title>'
                '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}"></rect></g>',
                label=label,
                value=value,
                x=x,
                y=base - height,
                w=round(column_width, 1),
                h=height,
                c=BAR_COLOUR,
            )
        )
        if index % label_every == 0:
            shapes.append(
                format_html(
                    '<text x="{x}" y="{y}" text-anchor="middle">{label}</text>',
                    x=round(x + column_width / 2, 1),
                    y=base + 18,
                    label=label,
                )
            )
    svg = _svg(title, chart_id, base + AXIS_HEIGHT, mark_safe("".join(shapes)))
    return _figure(title, chart_id, svg, list(points))


def _svg(title: str, chart_id: str, height: float, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" id="{id}" xmlns="http://www.w3.org/2000/svg" role="img" '
        'aria-labelledby="{id}-title" aria-label="{title}" viewBox="0 0 {w} {h}" '
        'preserveAspectRatio="xMinYMin meet" font-size="15" fill="{text}">'
        '<title id="{id}-title">{title}</title>{body}</svg>',
        id=chart_id,
        title=title,
        w=WIDTH,
        h=height,
        text=TEXT_COLOUR,
        body=body,
    )


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


def _linked(bar: Bar):
    """A bar's label in the data table, as a link where the bar has one (links inside an SVG
    image are hidden from assistive technology, the table's are not)."""
    return format_html('<a href="{}">{}</a>', bar.href, bar.label) if bar.href else bar.label


def _empty(title: str) -> SafeString:
    return format_html(
        '<figure class="chart-figure"><figcaption>{}</figcaption><p>{}</p></figure>',
        title,
        _("No data yet."),
    )


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
