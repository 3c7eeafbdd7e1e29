"""HTTP responses for exports, shared by the admin and the REST endpoint."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse

from finance.exports import UNMASK_PERMISSION, filename, stream
from sessions.models import Cdr


def export_response(
    *, export_format: str, queryset: QuerySet[Cdr], user: Any, stem: str
) -> StreamingHttpResponse | FileResponse:
    """The export as a download; the token uid in full only for users with the explicit permission."""
    body, content_type = stream(
        export_format=export_format, queryset=queryset, unmask=user.has_perm(UNMASK_PERMISSION)
    )
    name = filename(stem=stem, export_format=export_format)
    if hasattr(body, "read"):
        return FileResponse(body, as_attachment=True, filename=name, content_type=content_type)
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
