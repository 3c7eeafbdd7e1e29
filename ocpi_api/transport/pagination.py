"""Paginated GET of a Sender list (transport_and_format, "Pagination"; each module's GET list).

``offset``/``limit`` page through objects ordered by (last_updated, primary key) so that pages are
stable; ``date_from`` is inclusive and ``date_to`` exclusive on ``last_updated``. The answer carries
``X-Total-Count``, ``X-Limit`` (the server maximum) and, unless it is the last page,
``Link: <next>; rel="next"`` with every filter of the request kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.request import Request

from ocpi_api.transport.exceptions import InvalidParameters


def parse_datetime_param(name: str, value: str) -> datetime:
    """An RFC 3339 timestamp; without a zone it is UTC (types.asciidoc, "DateTime type")."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if "T" not in text.upper():
            raise InvalidParameters(f"{name} must include a time, such as 2024-01-31T12:00:00Z")
        # Converting to UTC can leave the years 1-9999 (9999-12-31T23:59:59-01:00): OverflowError.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidParameters(
            f"{name} must be an RFC 3339 timestamp such as 2024-01-31T12:00:00Z, not {value!r}"
        ) from None


def public_url_for_path(path: str) -> str:
    """The URL partners use for one of our /ocpi/ paths: under OCPI_BASE_URL, as in version details.

    Not the Host of the request: behind a TLS-terminating proxy that would give an internal
    host or plain http.
    """
    return settings.OCPI_BASE_URL.rstrip("/") + path.removeprefix("/ocpi")


def _int_param(name: str, value: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidParameters(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise InvalidParameters(f"{name} must be at least {minimum}")
    return number


@dataclass(frozen=True)
class PageRequest:
    offset: int
    limit: int
    date_from: datetime | None
    date_to: datetime | None

    @classmethod
    def from_request(cls, request: Request, *, date_from_required: bool = False) -> PageRequest:
        params = request.query_params
        maximum = settings.OCPI_PAGE_MAX_LIMIT
        offset = _int_param("offset", params["offset"], 0) if params.get("offset") else 0
        limit = _int_param("limit", params["limit"], 1) if params.get("limit") else maximum
        date_from, date_to = (
            parse_datetime_param(name, params[name]) if params.get(name) else None
            for name in ("date_from", "date_to")
        )
        if date_from_required and date_from is None:
            raise InvalidParameters("date_from is required on this list")
        return cls(offset=offset, limit=min(limit, maximum), date_from=date_from, date_to=date_to)


@dataclass(frozen=True)
class Page:
    objects: list[Any]
    total: int
    headers: dict[str, str]


def paginate(request: Request, queryset: QuerySet[Any], page_request: PageRequest) -> Page:
    """Filter ``queryset`` by the request's dates, take one page, and build the paging headers.

    ``queryset`` must already be ordered by (last_updated, pk).
    """
    if page_request.date_from is not None:
        queryset = queryset.filter(last_updated__gte=page_request.date_from)
    if page_request.date_to is not None:
        queryset = queryset.filter(last_updated__lt=page_request.date_to)
    total = queryset.count()
    start = page_request.offset
    objects: list[Any] = []
    if start < total:
        # Deferred join: the offset walks narrow (last_updated, pk) rows only, then the page's full
        # rows are fetched by key, so a deep page costs about what the first one does.
        keys = list(queryset.values_list("pk", flat=True)[start : start + page_request.limit])
        objects = list(queryset.filter(pk__in=keys))
    headers = {"X-Total-Count": str(total), "X-Limit": str(settings.OCPI_PAGE_MAX_LIMIT)}
    if start + len(objects) < total:
        params = {key: request.query_params.getlist(key) for key in request.query_params}
        params["offset"] = [str(start + len(objects))]
        params["limit"] = [str(page_request.limit)]
        base = public_url_for_path(request.path)
        headers["Link"] = f'<{base}?{urlencode(params, doseq=True)}>; rel="next"'
    return Page(objects=objects, total=total, headers=headers)
