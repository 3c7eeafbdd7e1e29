"""Payments module, Receiver interface (2.3.0 mod_payments; listed in 2.2.1 for the add-on).

- ``payments/terminals``: POST creates (a minimal body with only ``terminal_id`` is fine);
  ``payments/terminals/{terminal_id}``: GET, and PUT/PATCH too (Payter PATCHes terminals,
  shared/payter/README.md).
- ``payments/financial-advice-confirmations``: POST; ``.../{id}``: GET. POSTing the same id again
  updates the FAC. ``total_costs`` is accepted in either price shape, typed as types.asciidoc
  types them (Price, TaxAmount); fields the types do not name are not kept.

A write that creates an object answers 201, one that updates it 200 (status_codes).

Objects are the PTP's: each partner sees and writes only its own.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ocpi_api.formatting import format_coordinate
from ocpi_api.transport.envelope import ocpi_response
from ocpi_api.transport.exceptions import InvalidParameters, UnknownObject
from ocpi_api.transport.fields import CiStringField, OcpiDateTimeField, OcpiStringField
from ocpi_api.transport.views import OcpiView
from ocpi_api.versions import VersionProfile
from payments.models import CaptureStatusCode, FinancialAdviceConfirmation, InvoiceCreator, PaymentTerminal
from payments.selectors import fac_for_partner, terminal_for_partner
from payments.services import PaymentDataError, fac_upsert_from_ocpi, terminal_upsert


class GeoLocationSerializer(serializers.Serializer):
    latitude = serializers.RegexField(r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
    longitude = serializers.RegexField(r"^-?[0-9]{1,3}\.[0-9]{5,7}$")


class TerminalSerializer(serializers.Serializer):
    """mod_payments, Terminal object. Only terminal_id is required on create."""

    terminal_id = CiStringField(max_length=36, min_length=1)
    customer_reference = CiStringField(max_length=36, required=False, allow_null=True, allow_blank=True)
    party_id = serializers.RegexField(r"^[A-Z0-9]{3}$", required=False, allow_null=True)
    country_code = serializers.RegexField(r"^[A-Z]{2}$", required=False, allow_null=True)
    address = CiStringField(max_length=45, required=False, allow_null=True, allow_blank=True)
    city = CiStringField(max_length=45, required=False, allow_null=True, allow_blank=True)
    postal_code = CiStringField(max_length=10, required=False, allow_null=True, allow_blank=True)
    state = CiStringField(max_length=20, required=False, allow_null=True, allow_blank=True)
    country = serializers.RegexField(r"^[A-Z]{3}$", required=False, allow_null=True)
    coordinates = GeoLocationSerializer(required=False, allow_null=True)
    invoice_base_url = serializers.URLField(max_length=255, required=False, allow_null=True, allow_blank=True)
    invoice_creator = serializers.ChoiceField(choices=InvoiceCreator.values, required=False, allow_null=True)
    reference = CiStringField(max_length=36, required=False, allow_null=True, allow_blank=True)
    location_ids = serializers.ListField(
        child=CiStringField(max_length=36, min_length=1), required=False, allow_null=True
    )
    evse_uids = serializers.ListField(
        child=CiStringField(max_length=36, min_length=1), required=False, allow_null=True
    )
    # Optional on input: the spec's minimal create example has none; we then set the time.
    last_updated = OcpiDateTimeField(required=False)


# types, "number type": 4 decimals and "a sufficiently large amount of digits".
def _amount(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=4, min_value=0, **kwargs)


# TaxAmount lines are "all taxes applicable to this price"; a country levies a handful at most.
MAX_TAX_LINES = 10


class TaxAmountSerializer(serializers.Serializer):
    """types, TaxAmount class (2.3.0)."""

    name = OcpiStringField(max_length=255)
    account_number = OcpiStringField(max_length=255, required=False)
    percentage = serializers.DecimalField(
        max_digits=7, decimal_places=4, min_value=0, max_value=100, required=False, allow_null=True
    )
    amount = _amount()


class CapturedPriceSerializer(serializers.Serializer):
    """FinancialAdviceConfirmation.total_costs: a Price in either shape (types, Price class).

    2.2.1 {excl_vat, incl_vat?}; 2.3.0 {before_taxes, taxes[]}. The spec's own 2.3.0 FAC examples
    use the 2.2.1 shape (shared/ocpi/README.md), so both are accepted in both versions, not mixed.
    """

    before_taxes = _amount(required=False)
    taxes = serializers.ListField(
        child=TaxAmountSerializer(), required=False, allow_null=True, max_length=MAX_TAX_LINES
    )
    excl_vat = _amount(required=False)
    incl_vat = _amount(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        shape_230 = "before_taxes" in attrs or "taxes" in attrs
        shape_221 = "excl_vat" in attrs or "incl_vat" in attrs
        if shape_230 and shape_221:
            raise serializers.ValidationError(
                "give before_taxes and taxes or excl_vat and incl_vat, not both."
            )
        if shape_230 and "before_taxes" not in attrs:
            raise serializers.ValidationError({"before_taxes": "This field is required."})
        if not shape_230 and "excl_vat" not in attrs:
            raise serializers.ValidationError("give before_taxes (2.3.0) or excl_vat (2.2.1).")
        incl_vat = attrs.get("incl_vat")
        if incl_vat is not None and incl_vat < attrs["excl_vat"]:
            raise serializers.ValidationError({"incl_vat": "is less than excl_vat."})
        # Only the typed fields are kept (a line's unknown keys are dropped by its serializer);
        # taxes: null is read as no tax lines.
        if "taxes" in attrs:
            attrs["taxes"] = [
                {key: value for key, value in line.items() if value is not None}
                for line in attrs["taxes"] or []
            ]
        return attrs


class FacSerializer(serializers.Serializer):
    """mod_payments, FinancialAdviceConfirmation object."""

    id = CiStringField(max_length=36, min_length=1)
    authorization_reference = CiStringField(max_length=36, min_length=1)
    total_costs = CapturedPriceSerializer()
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    eft_data = serializers.ListField(child=CiStringField(max_length=255, min_length=1), allow_empty=False)
    capture_status_code = serializers.ChoiceField(choices=CaptureStatusCode.values)
    capture_status_message = CiStringField(max_length=255, required=False, allow_blank=True)
    last_updated = OcpiDateTimeField(required=False)


def serialize_terminal(terminal: PaymentTerminal) -> dict[str, Any]:
    data: dict[str, Any] = {"terminal_id": terminal.terminal_id}
    for field in (
        "customer_reference",
        "party_id",
        "country_code",
        "address",
        "city",
        "postal_code",
        "state",
        "country",
    ):
        if getattr(terminal, field):
            data[field] = getattr(terminal, field)
    if terminal.latitude is not None and terminal.longitude is not None:
        data["coordinates"] = {
            "latitude": format_coordinate(terminal.latitude),
            "longitude": format_coordinate(terminal.longitude),
        }
    for field in ("invoice_base_url", "invoice_creator", "reference"):
        if getattr(terminal, field):
            data[field] = getattr(terminal, field)
    data["location_ids"] = sorted(location.location_id for location in terminal.locations.all())
    data["evse_uids"] = sorted(evse.uid for evse in terminal.evses.all())
    data["last_updated"] = terminal.last_updated
    return data


def serialize_fac(fac: FinancialAdviceConfirmation, profile: VersionProfile) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": fac.fac_id,
        "authorization_reference": fac.authorization_reference,
        # Emit the shape of the version spoken (shared/payter/README.md).
        "total_costs": profile.price(
            fac.total_costs_excl_vat, fac.total_costs_incl_vat, fac.total_costs_taxes
        ),
        "currency": fac.currency,
        "eft_data": fac.eft_data,
        "capture_status_code": fac.capture_status_code,
    }
    if fac.capture_status_message:
        data["capture_status_message"] = fac.capture_status_message
    data["last_updated"] = fac.last_updated
    return data


def _object_body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise InvalidParameters("The body must be a JSON object.")
    return request.data


def _save_terminal(view: OcpiView, request: Request, terminal_id: str | None, *, replace: bool) -> Response:
    serializer = TerminalSerializer(data=_object_body(request), partial=not replace)
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)
    body_id = data.pop("terminal_id", None)
    if terminal_id is None:
        terminal_id = body_id
    elif body_id is not None and body_id != terminal_id:
        raise InvalidParameters("terminal_id: the body disagrees with the URL.")
    if not replace and terminal_for_partner(partner=view.partner, terminal_id=str(terminal_id)) is None:
        raise UnknownObject(f"Unknown terminal {terminal_id!r}.")
    if "coordinates" in data and data["coordinates"] is not None:
        data["coordinates"] = dict(data["coordinates"])
    try:
        _, created = terminal_upsert(
            partner=view.partner, terminal_id=str(terminal_id), data=data, replace=replace
        )
    except PaymentDataError as error:
        raise InvalidParameters(str(error)) from None
    return ocpi_response(http_status=201 if created else 200)


class TerminalsView(OcpiView):
    def post(self, request: Request, version: str) -> Response:
        return _save_terminal(self, request, None, replace=True)


class TerminalView(OcpiView):
    def get(self, request: Request, version: str, terminal_id: str) -> Response:
        terminal = terminal_for_partner(partner=self.partner, terminal_id=terminal_id)
        if terminal is None:
            raise UnknownObject(f"Unknown terminal {terminal_id!r}.")
        return ocpi_response(serialize_terminal(terminal))

    def put(self, request: Request, version: str, terminal_id: str) -> Response:
        return _save_terminal(self, request, terminal_id, replace=True)

    def patch(self, request: Request, version: str, terminal_id: str) -> Response:
        return _save_terminal(self, request, terminal_id, replace=False)


class FacsView(OcpiView):
    def post(self, request: Request, version: str) -> Response:
        serializer = FacSerializer(data=_object_body(request))
        serializer.is_valid(raise_exception=True)
        _, created = fac_upsert_from_ocpi(partner=self.partner, data=serializer.validated_data)
        return ocpi_response(http_status=201 if created else 200)


class FacView(OcpiView):
    def get(self, request: Request, version: str, fac_id: str) -> Response:
        fac = fac_for_partner(partner=self.partner, fac_id=fac_id)
        if fac is None:
            raise UnknownObject(f"Unknown financial advice confirmation {fac_id!r}.")
        return ocpi_response(serialize_fac(fac, self.profile))


class PaymentsBaseView(OcpiView):
    """The module URL listed in version details; objects live under it."""


urlpatterns = [
    path("payments", PaymentsBaseView.as_view(), name="payments"),
    path("payments/terminals", TerminalsView.as_view(), name="payments-terminals"),
    path("payments/terminals/<str:terminal_id>", TerminalView.as_view(), name="payments-terminal"),
    path(
        "payments/financial-advice-confirmations",
        FacsView.as_view(),
        name="payments-financial-advice-confirmations",
    ),
    path(
        "payments/financial-advice-confirmations/<str:fac_id>",
        FacView.as_view(),
        name="payments-financial-advice-confirmation",
    ),
]
