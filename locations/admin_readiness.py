"""Readiness for the terminal in the admin: the checklist on an object's page and a Ready / Not ready
list filter. Used by the location, EVSE and connector admins here and by the terminal admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from locations.readiness import Readiness


def readiness_html(readiness: Readiness) -> SafeString:
    """The checklist: one line per check, ticked or crossed, with what is missing beneath."""
    rows = format_html_join(
        "",
        '<li class="{}"><span aria-hidden="true">{}</span> {}{}</li>',
        (
            (
                "ready" if check.ok else "not-ready",
                "✔" if check.ok else "✘",
                check.label,
                format_html_join("", "<ul><li>{}</li></ul>", ((line,) for line in check.missing))
                if not check.ok
                else "",
            )
            for check in readiness.checks
        ),
    )
    verdict = "Ready for the terminal" if readiness.ready else "Not ready for the terminal"
    return format_html('<div class="readiness"><strong>{}</strong><ul>{}</ul></div>', verdict, rows)


class ReadinessFilter(admin.SimpleListFilter):
    """Ready / Not ready: each listed object's checklist is worked out (see ``ready_pks``)."""

    title = "ready for the terminal"
    parameter_name = "ready"
    ready_pks: Callable[[QuerySet[Any]], set[int]]

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Ready"), ("no", "Not ready")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() not in ("yes", "no"):
            return None
        ready = type(self).ready_pks(queryset.order_by())
        return queryset.filter(pk__in=ready) if self.value() == "yes" else queryset.exclude(pk__in=ready)


def readiness_filter(ready_pks: Callable[[QuerySet[Any]], set[int]]) -> type[ReadinessFilter]:
    return type("ReadinessFilter", (ReadinessFilter,), {"ready_pks": staticmethod(ready_pks)})
