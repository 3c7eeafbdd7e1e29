"""HTTP responses for exports, shared by the admin and the REST endpoint."""

from __future__ import annotations

import tempfile
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse

from finance.exports import UNMASK_PERMISSION, ExportFilter, Format, filename, stream
from finance.summaries import period_summary, summary_csv_lines, write_summary_xlsx
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


def summary_response(
    *, export_filter: ExportFilter, export_format: str
) -> StreamingHttpResponse | FileResponse:
    """The period summary (finance/summaries.py) as a CSV or XLSX download: a row per day, location
    and currency, small whatever the number of CDRs."""
    rows = period_summary(export_filter)
    name = filename(stem=export_filter.describe(), export_format=export_format).replace(
        "cdrs_", "summary_", 1
    )
    content_type = Format.content_types[export_format]
    if export_format == Format.XLSX:
        target = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it
        write_summary_xlsx(rows, target)
        target.seek(0)
        return FileResponse(target, as_attachment=True, filename=name, content_type=content_type)
    response = StreamingHttpResponse(
        (line.encode() for line in summary_csv_lines(rows)), content_type=content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
