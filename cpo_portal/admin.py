"""Admin helpers shared by the apps: read-only admins for append-only records."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Model
from django.http import Http404, HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from simple_history.admin import SimpleHistoryAdmin

from cpo_portal.fields import EnumListField

# Django 6 will assume https for a URL typed without a scheme; staff URLs are https already.
URL_FIELD_OVERRIDES: dict[type[models.Field], dict[str, Any]] = {models.URLField: {"assume_scheme": "https"}}


class ReadOnlyAdminMixin:
    """Staff may look but not add, change or delete: the record belongs to a partner or to billing."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    show_change_link = True
    can_delete = False


# Words that stay in capitals when an OCPI enum value becomes a label (EV_ONLY: "EV only").
_ACRONYMS = frozenset({"AC", "DC", "EV", "ISO", "PED", "RFID"})
_SPECIAL_LABELS = {
    "ISO_15118_2_PLUG_AND_CHARGE": "ISO 15118-2 Plug & Charge",
    "ISO_15118_20_PLUG_AND_CHARGE": "ISO 15118-20 Plug & Charge",
    "WIFI": "Wi-Fi",
}


def enum_label(value: str) -> str:
    """A readable label for an OCPI enum value: CREDIT_CARD_PAYABLE -> "Credit card payable"."""
    if value in _SPECIAL_LABELS:
        return _SPECIAL_LABELS[value]
    words = [word if word in _ACRONYMS else word.lower() for word in value.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


class EnumLabelsMixin:
    """Checkbox labels for enum lists whose choices carry no label of their own."""

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if isinstance(db_field, EnumListField) and field is not None:
            field.choices = [
                (value, enum_label(value) if label == value.replace("_", " ").title() else label)
                for value, label in field.choices
            ]
        return field


class TimestampsOnChangeMixin:
    """No last_updated on an add page: a record that does not exist yet has no time of change."""

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        if obj is not None:
            return fieldsets
        return [
            (name, {**options, "fields": _without(options["fields"], "last_updated")})
            for name, options in fieldsets
        ]


def _without(fields: Any, name: str) -> list[Any]:
    kept: list[Any] = []
    for field in fields:
        if isinstance(field, (list, tuple)):
            row = [item for item in field if item != name]
            if row:
                kept.append(tuple(row))
        elif field != name:
            kept.append(field)
    return kept


@admin.display(description="party", ordering="party")
def party_code(obj: Any) -> str:
    """The party as OCPI names it (NL*VWY): short enough for a changelist column."""
    return f"{obj.party.country_code}*{obj.party.party_id}"


def is_changelist(request: HttpRequest) -> bool:
    """Whether the request lists objects (where heavy fields are deferred) rather than showing one."""
    match = request.resolver_match
    return bool(match and match.url_name and match.url_name.endswith("_changelist"))


def pretty_json(value: Any) -> SafeString:
    """JSON laid out for reading on a view page."""
    return format_html('<pre class="json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False))


def local_period(start: datetime | None, end: datetime | None, time_zone: str) -> str:
    """A UTC period on the location's own clock, for beside the UTC times (the convention: UTC
    everywhere, local time where the driver's or the tariff's clock matters)."""
    if start is None or not time_zone:
        return "-"
    zone = ZoneInfo(time_zone)
    text = f"{start.astimezone(zone):%Y-%m-%d %H:%M}"
    if end is not None:
        local_end = end.astimezone(zone)
        same_day = local_end.date() == start.astimezone(zone).date()
        text += f" to {local_end:%H:%M}" if same_day else f" to {local_end:%Y-%m-%d %H:%M}"
    return f"{text} {time_zone}"


def short_url(url: str, *, limit: int = 60) -> SafeString:
    """A URL for a list column: its path and query without scheme and host, shortened in the
    middle past ``limit`` characters; the whole URL shows on hover and on the object's page."""
    parts = urlsplit(url)
    text = parts.path + (f"?{parts.query}" if parts.query else "") if parts.netloc else url
    if len(text) > limit:
        keep = (limit - 1) // 2
        text = f"{text[:keep]}…{text[-keep:]}"
    return format_html('<span title="{}">{}</span>', url, text)


class HistoryAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    """The History page of curated objects (who changed what, old -> new; cpo_portal/history.py).

    django-simple-history filters its rows by the id in the URL as given: one that is not an id
    (a mistyped or crafted URL) would end in a server error; it is a page not found instead."""

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        try:
            pk = self.model._meta.pk.to_python(unquote(object_id))
        except ValidationError as error:
            raise Http404("No such object.") from error
        context = {**self.history_extra_context(request, pk), **(extra_context or {})}
        return super().history_view(request, object_id, context)

    def history_extra_context(self, request: HttpRequest, pk: Any) -> dict[str, Any]:
        """More for the History page's template (a tariff adds its texts' and elements' changes)."""
        return {}
