"""REST endpoint for finance tools (not OCPI): the CDR export, with its own permission.

Authenticated as a portal user (session or HTTP Basic over TLS); the user needs
``finance.export_cdrs``. The body streams: CSV and JSON lines as they are read, XLSX from a
temporary file.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from finance.exports import EXPORT_PERMISSION, Credits, ExportFilter, Format, filtered_cdrs
from finance.http import export_response


class CanExportCdrs(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.has_perm(EXPORT_PERMISSION))


class ExportQuerySerializer(serializers.Serializer[dict[str, Any]]):
    file_format = serializers.ChoiceField(choices=Format.choices, default=Format.CSV)
    date_from = serializers.DateField(required=False, help_text="First day, in time_zone.")
    date_to = serializers.DateField(required=False, help_text="Last day (included), in time_zone.")
    time_zone = serializers.CharField(default="UTC", help_text="IANA name, such as Europe/Amsterdam.")
    party = serializers.RegexField(r"^[A-Z]{2}\*[A-Z0-9]{3}$", required=False, help_text="Such as NL*CPO.")
    partner = serializers.IntegerField(required=False, help_text="Id of the partner whose tokens charged.")
    location_id = serializers.CharField(required=False, max_length=36)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    credits = serializers.ChoiceField(choices=Credits.choices, default=Credits.ALL)

    def validate_time_zone(self, value: str) -> str:
        from zoneinfo import available_timezones

        if value not in available_timezones():
            raise serializers.ValidationError("Not an IANA time zone name.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": "The period ends before it starts."})
        return attrs

    def export_filter(self) -> ExportFilter:
        data = self.validated_data
        return ExportFilter(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            time_zone=data["time_zone"],
            party=data.get("party", ""),
            partner_id=data.get("partner"),
            location_id=data.get("location_id", ""),
            currency=data.get("currency", ""),
            credits=data["credits"],
        )


class CdrExportView(APIView):
    authentication_classes = (SessionAuthentication, BasicAuthentication)
    permission_classes = (IsAuthenticated, CanExportCdrs)

    @extend_schema(
        operation_id="finance_cdrs_export",
        summary="Export the CDRs of a period (CSV, XLSX or OCPI JSON lines)",
        parameters=[ExportQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV, columns in the README"),
            (200, Format.content_types[Format.XLSX]): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.BINARY, description="One OCPI CDR object per line"
            ),
            400: OpenApiResponse(description="A query parameter is invalid; the body says which."),
        },
        tags=["finance"],
    )
    def get(self, request: Request) -> HttpResponseBase:
        query = ExportQuerySerializer(data=request.query_params)
        if not query.is_valid():
            return Response(query.errors, status=400)
        export_filter = query.export_filter()
        return export_response(
            export_format=query.validated_data["file_format"],
            queryset=filtered_cdrs(export_filter),
            user=request.user,
            stem=export_filter.describe(),
        )
