"""Charts drawn on the server as SVG with leather.

leather writes plain SVG with presentation attributes (fill, stroke, font) and no
`<style>` or `<script>` element, so the charts sit inline in the pages under a strict
Content-Security-Policy (`default-src 'self'`, no inline styles or scripts) and print as
they are shown. Every chart is accompanied on the page by a table of its numbers.
Values are converted to floats only to place marks; the figures shown are the reports'
own strings.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import leather
from markupsafe import Markup

from app.pages.labels import MONTHS_SHORT

FONT = "DejaVu Sans, Arial, sans-serif"
BLUE, ORANGE, RED = "#1f5f99", "#e08a1e", "#b03a2e"

leather.theme.background_color = "#ffffff"
leather.theme.default_series_colors = [BLUE, ORANGE, RED, "#3f8f4f", "#7a4f9a"]
for _name in ("title", "legend", "tick", "axis_title"):
    setattr(leather.theme, f"{_name}_font_family", FONT)
leather.theme.tick_font_size = 13
leather.theme.legend_font_size = 13
leather.theme.tick_color = "#555555"
leather.theme.label_color = "#333333"
leather.theme.legend_color = "#333333"


def _svg(chart: leather.Chart, title: str, width: int, height: int) -> Markup:
    svg = chart.to_svg(width=width, height=height)
    # A viewBox lets the stylesheet scale the drawing to the page width; the title names
    # the chart for screen readers.
    opening = f'<svg width="{width}" height="{height}"'
    assert svg.startswith(opening)
    svg = svg.replace(
        opening,
        f'<svg class="chart-svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{Markup.escape(title)}"',
        1,
    )
    return Markup(svg)


def grouped(value: float) -> str:
    """An axis tick: whole numbers with French digit grouping, else as short as possible."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u202f")
    return f"{value:g}".replace(".", ",")


def month_label(day: date) -> str:
    return f"{MONTHS_SHORT[day.month - 1]} {day.year % 100:02d}"


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[date, Decimal | None]]]],
    *,
    y_suffix: str = "",
    width: int = 640,
    height: int = 260,
) -> Markup:
    """Lines over dates; a point without a value (a ratio of nothing) is left out."""
    chart = leather.Chart()
    for name, points in series:
        drawn = [(day, float(value)) for day, value in points if value is not None]
        chart.add_line(drawn, name=name, width=2)
    days = sorted({day for _, points in series for day, _ in points})
    if days:
        chart.set_x_scale(leather.Temporal(days[0], days[-1]))
        # Month ends only: today sits too close to the last one to carry a label.
        month_ends = days[:-1] or days
        step = max(1, len(month_ends) // 6)
        chart.add_x_axis(ticks=month_ends[::step], tick_formatter=lambda day, *_: month_label(day))
    chart.add_y_axis(tick_formatter=lambda value, *_: f"{value:g}{y_suffix}")
    return _svg(chart, title, width, height)


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, Decimal | int]],
    *,
    width: int | None = None,
    height: int | None = None,
    color: str = BLUE,
) -> Markup:
    """Horizontal bars, one per category (zeros included), labelled on the left; long
    labels widen the drawing so that the bars keep their room."""
    chart = leather.Chart()
    data = [(float(value), name) for name, value in bars]
    chart.add_bars(data, fill_color=color)
    if all(value == 0 for value, _ in data):
        chart.set_x_scale(leather.Linear(0, 1))
    chart.add_x_axis(tick_formatter=lambda value, *_: grouped(value))
    longest = max((len(name) for name, _ in bars), default=0)
    drawn_width = width or 560 + 7 * max(longest - 18, 0)
    return _svg(chart, title, drawn_width, height or 50 + 28 * len(bars))


def column_pairs(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Decimal]]],
    *,
    width: int = 640,
    height: int = 260,
) -> Markup:
    """Two or more series per category as lines over the same ordinal axis."""
    chart = leather.Chart()
    for name, values in series:
        points = [(index, float(value)) for index, value in enumerate(values)]
        chart.add_line(points, name=name, width=2)
    chart.set_x_scale(leather.Linear(0, max(len(labels) - 1, 1)))
    chart.add_x_axis(
        ticks=list(range(0, len(labels), 2)),
        tick_formatter=lambda index, *_: labels[int(index)] if int(index) < len(labels) else "",
    )
    chart.add_y_axis(tick_formatter=lambda value, *_: grouped(value))
    return _svg(chart, title, width, height)
