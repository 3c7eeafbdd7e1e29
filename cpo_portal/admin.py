"""Admin helpers shared by the apps: read-only admins for append-only records."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import Model
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

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


def is_changelist(request: HttpRequest) -> bool:
    """Whether the request lists objects (where heavy fields are deferred) rather than showing one."""
    match = request.resolver_match
    return bool(match and match.url_name and match.url_name.endswith("_changelist"))


def pretty_json(value: Any) -> SafeString:
    """JSON laid out for reading on a view page."""
    return format_html('<pre class="json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False))
