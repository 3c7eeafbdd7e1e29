"""A bar chart as inline SVG, drawn on the server: no script, no CDN, readable by a screen reader
through its <title> elements (the page's table holds the same figures). No Django imports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 1000, 240
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 10, 40
GRID_LINES = 4


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Decimal]
    css_class: str


def _nice_step(span: Decimal) -> Decimal:
    """A step of 1, 2 or 5 times a power of ten that splits ``span`` into about GRID_LINES parts."""
    raw = span / GRID_LINES if span > 0 else Decimal(1)
    power = Decimal(10) ** (raw.adjusted())
    for factor in (1, 2, 5, 10):
        if raw <= power * factor:
            return power * factor
    return power * 10


def bar_chart(*, days: Sequence[date], series: Sequence[Series], unit: str) -> str:
    """Grouped bars per day, one colour per series, with a y axis in ``unit`` and a legend."""
    values = [value for one in series for value in one.values]
    top = max([Decimal(0), *values])
    bottom = min([Decimal(0), *values])
    step = _nice_step(top - bottom)
    top = ((top / step).to_integral_value(rounding="ROUND_CEILING") * step) or step
    bottom = (bottom / step).to_integral_value(rounding="ROUND_FLOOR") * step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: Decimal) -> float:
        return TOP + float((top - value) / (top - bottom)) * plot_h

    parts = [
        f'<svg class="finance-chart" viewBox="0 0 {WIDTH} {HEIGHT + 24}" width="100%" role="img"'
        f' aria-label="{escape(", ".join(one.label for one in series))} per day, in {escape(unit)}"'
        ' xmlns="http://www.w3.org/2000/svg">'
    ]
    level = bottom
    while level <= top:
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(level):.1f}" y2="{y(level):.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y(level) + 4:.1f}" text-anchor="end">{level:,.0f}</text>'
        )
        level += step
    slot = plot_w / max(len(days), 1)
    bar = slot * 0.8 / max(len(series), 1)
    label_every = max(1, round(len(days) / 15))
    for index, day in enumerate(days):
        x0 = LEFT + index * slot + slot * 0.1
        for number, one in enumerate(series):
            value = one.values[index]
            y_top, y_zero = y(max(value, Decimal(0))), y(min(value, Decimal(0)))
            parts.append(
                f'<rect class="{escape(one.css_class)}" x="{x0 + number * bar:.1f}" y="{y_top:.1f}"'
                f' width="{max(bar - 1, 1):.1f}" height="{max(y_zero - y_top, 0.5):.1f}">'
                f"<title>{day.isoformat()} {escape(one.label)}: {value:,.2f} {escape(unit)}</title></rect>"
            )
        if index % label_every == 0:
            parts.append(
                f'<text class="axis" x="{x0 + slot * 0.4:.1f}" y="{HEIGHT - BOTTOM + 16}"'
                f' text-anchor="middle">{day:%m-%d}</text>'
            )
    zero = y(Decimal(0))
    parts.append(f'<line class="zero" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{zero:.1f}" y2="{zero:.1f}"/>')
    legend_x = LEFT
    for one in series:
        parts.append(
            f'<rect class="{escape(one.css_class)}" x="{legend_x}" y="{HEIGHT + 6}" width="12" height="12"/>'
            f'<text class="legend" x="{legend_x + 18}" y="{HEIGHT + 16}">{escape(one.label)}</text>'
        )
        legend_x += 30 + 8 * len(one.label)
    parts.append("</svg>")
    return "".join(parts)
