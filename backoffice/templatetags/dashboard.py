"""``{% dashboard %}`` on the admin index: the figures the signed-in user may see."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from backoffice import selectors

register = template.Library()

CHART_WIDTH = 600
CHART_HEIGHT = 100


def bar_chart(values: list[tuple[str, Decimal | int]]) -> dict[str, Any]:
    """Bars laid out for an inline SVG (drawn on the server: no script, no outside resource)."""
    top = max((value for _, value in values), default=0) or 1
    step = CHART_WIDTH / max(len(values), 1)
    bars = []
    for index, (label, value) in enumerate(values):
        height = round(float(value) / float(top) * CHART_HEIGHT, 1)
        bars.append(
            {
                "x": round(index * step + 1, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "width": round(step - 2, 1),
                "height": height,
                "label": label,
                "value": value,
            }
        )
    return {"bars": bars, "width": CHART_WIDTH, "height": CHART_HEIGHT, "top": top}


@register.inclusion_tag("backoffice/dashboard.html", takes_context=True)
def dashboard(context: template.Context) -> dict[str, Any]:
    user = context["request"].user
    panels = {name for name, permission in selectors.PANEL_PERMISSIONS.items() if user.has_perm(permission)}
    if not panels:
        return {"board": None}
    board = selectors.dashboard(panels=panels)
    charts = {}
    if board.days is not None:
        charts["sessions"] = bar_chart([(day.day.isoformat(), day.sessions) for day in board.days])
        charts["energy"] = bar_chart([(day.day.isoformat(), day.kwh) for day in board.days])
    return {"board": board, "charts": charts}
