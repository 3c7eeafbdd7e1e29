"""Charging sessions and CDRs (mod_sessions, mod_cdrs).

Amounts are stored so that both OCPI shapes can be produced: 2.2.1 ``Price`` (excl_vat, incl_vat)
and 2.3.0 ``Price`` (before_taxes, taxes[]). Each price is an amount excluding taxes, the amount
including them (null when unknown, as when a 2.2.1 tariff omits VAT), and the tax lines.
A CDR is immutable once written: a correction is a credit CDR plus a new CDR (mod_cdrs, "credit").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from cpo_portal.fields import LastUpdatedModel, currency_validator, printable_ascii
from locations.models import Connector, Evse, Location
from partners.models import Partner, Party, Token


class SessionStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    COMPLETED = "COMPLETED", "Completed"
    INVALID = "INVALID", "Invalid"
    PENDING = "PENDING", "Pending"
    RESERVATION = "RESERVATION", "Reservation"


class AuthMethod(models.TextChoices):
    AUTH_REQUEST = "AUTH_REQUEST", "Authorisation request"
    COMMAND = "COMMAND", "Command (such as START_SESSION)"
    WHITELIST = "WHITELIST", "Whitelist"


def amount_field(verbose_name: str, *, null: bool = True) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=4, null=null, blank=null)


def taxes_field() -> models.JSONField:
    """2.3.0 TaxAmount lines: [{"name", "account_number"?, "percentage"?, "amount"}], amounts as strings."""
    return models.JSONField(default=list, blank=True)


class AuthorisedByToken(models.Model):
    """The token that started a session (mod_cdrs, CdrToken) and how it was authorised."""

    partner = models.ForeignKey(
        Partner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="The partner whose token started it: the only partner that may see it.",
    )
    token = models.ForeignKey(Token, on_delete=models.SET_NULL, null=True, blank=True)
    token_country_code = models.CharField(max_length=2)
    token_party_id = models.CharField(max_length=3)
    token_uid = models.CharField(max_length=36, validators=[printable_ascii])
    token_type = models.CharField(max_length=11, choices=Token.TokenType.choices)
    token_contract_id = models.CharField(max_length=36, validators=[printable_ascii])
    auth_method = models.CharField(max_length=12, choices=AuthMethod.choices)
    authorization_reference = models.CharField(
        max_length=36,
        blank=True,
        validators=[printable_ascii],
        help_text="The PTP's pre-authorisation reference from START_SESSION.",
    )
    meter_id = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, validators=[currency_validator])

    class Meta:
        abstract = True

    @property
    def cdr_token(self) -> dict[str, str]:
        return {
            "country_code": self.token_country_code,
            "party_id": self.token_party_id,
            "uid": self.token_uid,
            "type": self.token_type,
            "contract_id": self.token_contract_id,
        }


class ChargingSession(AuthorisedByToken, LastUpdatedModel):
    """A charging session, live or finished (mod_sessions, Session object)."""

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="sessions")
    session_id = models.CharField("OCPI id", max_length=36, validators=[printable_ascii])
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="sessions")
    evse = models.ForeignKey(Evse, on_delete=models.PROTECT, related_name="sessions")
    connector = models.ForeignKey(Connector, on_delete=models.PROTECT, related_name="sessions")
    start_date_time = models.DateTimeField()
    end_date_time = models.DateTimeField(null=True, blank=True)
    kwh = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(0))
    charging_periods = models.JSONField(default=list, blank=True)
    total_cost_excl_vat = amount_field("total cost excl. taxes")
    total_cost_incl_vat = amount_field("total cost incl. taxes")
    total_cost_taxes = taxes_field()
    status = models.CharField(max_length=11, choices=SessionStatus.choices, default=SessionStatus.PENDING)
    # Set when the session is created from a command; the live price and the CDR use this tariff.
    tariff = models.ForeignKey(
        "tariffs.Tariff", on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    preauthorized_amount = amount_field("pre-authorised amount")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    stop_requested_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "charging session"
        ordering = ("-start_date_time",)
        constraints = (
            models.UniqueConstraint(fields=("party", "session_id"), name="session_unique_ocpi_id"),
            # One pre-authorisation is one transaction (mod_payments 2.3.0, "Transaction"; the FAC
            # maps its authorization_reference to one session and CDR): a reference starts at most
            # one session that is not INVALID. A session that failed to start charged nothing and
            # frees the reference for another try. Concurrent STARTs race on this index.
            models.UniqueConstraint(
                fields=("partner", "authorization_reference"),
                condition=~Q(authorization_reference="") & ~Q(status=SessionStatus.INVALID),
                name="session_one_per_authorization",
                violation_error_message="This authorization_reference has already started a session.",
            ),
            models.CheckConstraint(
                condition=Q(end_date_time__isnull=True) | Q(end_date_time__gte=F("start_date_time")),
                name="session_ends_after_start",
                violation_error_message="A session cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(kwh__gte=0),
                name="session_kwh_not_negative",
                violation_error_message="kWh cannot be negative.",
            ),
        )
        indexes = (
            # Partners page through their own sessions by last_updated (GET sessions?date_from=).
            models.Index(fields=("partner", "last_updated", "id"), name="session_partner_paging_idx"),
            # Financial advice confirmations find their session by the PTP's reference.
            models.Index(fields=("authorization_reference",), name="session_authorization_ref_idx"),
            # The expiry sweep looks for PENDING sessions created before a cut-off.
            models.Index(fields=("status", "created_at"), name="session_status_created_idx"),
            # The dashboard's sessions and energy per day (backoffice.selectors.sessions_per_day):
            # kwh in the key makes it an index-only scan.
            models.Index(fields=("start_date_time", "kwh"), name="session_started_idx"),
        )

    def __str__(self) -> str:
        return self.session_id

    def clean(self) -> None:
        super().clean()
        if self.evse_id and self.location_id and self.evse.location_id != self.location_id:
            raise ValidationError({"evse": "This EVSE is not at the session's location."})
        if self.connector_id and self.evse_id and self.connector.evse_id != self.evse_id:
            raise ValidationError({"connector": "This connector is not on the session's EVSE."})


class CdrImmutableError(Exception):
    """A CDR was about to be changed or deleted; corrections are credit CDRs."""


class Cdr(AuthorisedByToken, LastUpdatedModel):
    """A Charge Detail Record: the only billing-relevant object (mod_cdrs, CDR object)."""

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="cdrs")
    cdr_id = models.CharField("OCPI id", max_length=39, validators=[printable_ascii])
    session = models.ForeignKey(
        ChargingSession, on_delete=models.PROTECT, null=True, blank=True, related_name="cdrs"
    )
    start_date_time = models.DateTimeField()
    end_date_time = models.DateTimeField()
    # Snapshots as they were when the session ended: later edits must not change a billed record.
    cdr_location = models.JSONField(help_text="CdrLocation: the location, EVSE and connector as charged.")
    tariffs = models.JSONField(default=list, blank=True, help_text="The tariffs as applied (2.3.0 shape).")
    charging_periods = models.JSONField(default=list)
    signed_data = models.JSONField(null=True, blank=True)

    total_cost_excl_vat = amount_field("total cost excl. taxes", null=False)
    total_cost_incl_vat = amount_field("total cost incl. taxes")
    total_cost_taxes = taxes_field()
    total_fixed_cost_excl_vat = amount_field("fixed cost excl. taxes")
    total_fixed_cost_incl_vat = amount_field("fixed cost incl. taxes")
    total_fixed_cost_taxes = taxes_field()
    total_energy_cost_excl_vat = amount_field("energy cost excl. taxes")
    total_energy_cost_incl_vat = amount_field("energy cost incl. taxes")
    total_energy_cost_taxes = taxes_field()
    total_time_cost_excl_vat = amount_field("time cost excl. taxes")
    total_time_cost_incl_vat = amount_field("time cost incl. taxes")
    total_time_cost_taxes = taxes_field()
    total_parking_cost_excl_vat = amount_field("parking cost excl. taxes")
    total_parking_cost_incl_vat = amount_field("parking cost incl. taxes")
    total_parking_cost_taxes = taxes_field()
    total_reservation_cost_excl_vat = amount_field("reservation cost excl. taxes")
    total_reservation_cost_incl_vat = amount_field("reservation cost incl. taxes")
    total_reservation_cost_taxes = taxes_field()

    total_energy = models.DecimalField("total energy (kWh)", max_digits=12, decimal_places=4)
    total_time = models.DecimalField("total time (h)", max_digits=12, decimal_places=6)
    total_parking_time = models.DecimalField(
        "total parking time (h)", max_digits=12, decimal_places=6, null=True, blank=True
    )
    remark = models.CharField(max_length=255, blank=True)
    invoice_reference_id = models.CharField(max_length=39, blank=True, validators=[printable_ascii])
    credit = models.BooleanField(null=True, blank=True)
    credit_reference_id = models.CharField(max_length=39, blank=True, validators=[printable_ascii])
    home_charging_compensation = models.BooleanField(null=True, blank=True)

    class Meta:
        verbose_name = "CDR"
        ordering = ("-end_date_time",)
        constraints = (
            models.UniqueConstraint(fields=("party", "cdr_id"), name="cdr_unique_ocpi_id"),
            models.CheckConstraint(
                condition=Q(end_date_time__gte=F("start_date_time")),
                name="cdr_ends_after_start",
                violation_error_message="A CDR cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(total_energy__gte=0) & Q(total_time__gte=0),
                name="cdr_totals_not_negative",
                violation_error_message="Energy and time cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(credit_reference_id="") | Q(credit__isnull=False, credit=True),
                name="cdr_credit_reference_only_on_credit",
                violation_error_message="Only a credit CDR refers to the CDR it credits.",
            ),
        )
        indexes = (
            # Partners page through their own CDRs by last_updated (GET cdrs).
            models.Index(fields=("partner", "last_updated", "id"), name="cdr_partner_paging_idx"),
            # Finance matches financial advice confirmations to CDRs by the PTP's reference.
            models.Index(fields=("authorization_reference",), name="cdr_authorization_ref_idx"),
            # The dashboard's revenue per currency (backoffice.selectors.revenue_per_currency),
            # read from the index alone.
            models.Index(
                fields=("end_date_time", "currency", "total_cost_excl_vat", "total_cost_incl_vat"),
                name="cdr_ended_idx",
            ),
        )

    def __str__(self) -> str:
        return self.cdr_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise CdrImmutableError(f"CDR {self.cdr_id} is immutable; correct it with a credit CDR.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise CdrImmutableError(f"CDR {self.cdr_id} is immutable and cannot be deleted.")


class MeterReading(models.Model):
    """One meter value reported by the charger; the tariff engine prices the session from these."""

    session = models.ForeignKey(ChargingSession, on_delete=models.CASCADE, related_name="meter_readings")
    timestamp = models.DateTimeField()
    energy_kwh = models.DecimalField(
        "cumulative energy (kWh)", max_digits=14, decimal_places=4, help_text="Meter register, not a delta."
    )
    power_kw = models.DecimalField("power (kW)", max_digits=10, decimal_places=3, null=True, blank=True)
    current_a = models.DecimalField("current (A)", max_digits=10, decimal_places=2, null=True, blank=True)
    charging = models.BooleanField(
        default=True, help_text="False: the vehicle is connected but draws no power (parking time)."
    )

    class Meta:
        ordering = ("session", "timestamp")
        constraints = (
            # A replayed meter value is the same reading: one per session and instant.
            models.UniqueConstraint(fields=("session", "timestamp"), name="meter_reading_unique_instant"),
            models.CheckConstraint(
                condition=Q(energy_kwh__gte=0),
                name="meter_reading_energy_not_negative",
                violation_error_message="The meter register cannot be negative.",
            ),
        )

    def __str__(self) -> str:
        return f"{self.session_id} {self.timestamp.isoformat()} {self.energy_kwh} kWh"


class CommandType(models.TextChoices):
    CANCEL_RESERVATION = "CANCEL_RESERVATION", "Cancel reservation"
    RESERVE_NOW = "RESERVE_NOW", "Reserve now"
    START_SESSION = "START_SESSION", "Start session"
    STOP_SESSION = "STOP_SESSION", "Stop session"
    UNLOCK_CONNECTOR = "UNLOCK_CONNECTOR", "Unlock connector"


class CommandResponseType(models.TextChoices):
    """mod_commands, CommandResponseType: our synchronous answer."""

    ACCEPTED = "ACCEPTED", "Accepted"
    NOT_SUPPORTED = "NOT_SUPPORTED", "Not supported"
    REJECTED = "REJECTED", "Rejected"
    UNKNOWN_SESSION = "UNKNOWN_SESSION", "Unknown session"


class CommandResultType(models.TextChoices):
    """mod_commands, CommandResultType: the charger's answer, POSTed to response_url."""

    ACCEPTED = "ACCEPTED", "Accepted"
    CANCELED_RESERVATION = "CANCELED_RESERVATION", "Canceled reservation"
    EVSE_OCCUPIED = "EVSE_OCCUPIED", "EVSE occupied"
    EVSE_INOPERATIVE = "EVSE_INOPERATIVE", "EVSE inoperative"
    FAILED = "FAILED", "Failed"
    NOT_SUPPORTED = "NOT_SUPPORTED", "Not supported"
    REJECTED = "REJECTED", "Rejected"
    TIMEOUT = "TIMEOUT", "Timeout"
    UNKNOWN_RESERVATION = "UNKNOWN_RESERVATION", "Unknown reservation"


class ReceivedCommand(models.Model):
    """A command a partner sent us, our answer, and the delivery of the charger's result."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="commands")
    command = models.CharField(max_length=18, choices=CommandType.choices)
    version = models.CharField(max_length=10, help_text="The OCPI version the command arrived in.")
    # The partner's response_url is unique per request (mod_commands, Sender interface), so a
    # replay of the same request carries the same one: the key makes a replay return our first answer.
    idempotency_key = models.CharField(max_length=64, editable=False)
    request_body = models.JSONField()
    response_url = models.URLField(max_length=255)
    response_result = models.CharField(max_length=15, choices=CommandResponseType.choices)
    response_timeout = models.PositiveIntegerField(help_text="Seconds, as answered.")
    response_message = models.CharField(max_length=512, blank=True)
    session = models.ForeignKey(
        ChargingSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="commands"
    )
    sent_to_charger_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the command went to the charger (once); empty: not sent yet, or not for a charger.",
    )
    result = models.CharField(max_length=20, choices=CommandResultType.choices, blank=True)
    result_message = models.CharField(max_length=512, blank=True)
    result_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    last_delivery_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("-created_at",)
        constraints = (
            models.UniqueConstraint(
                fields=("partner", "idempotency_key"), name="received_command_unique_request"
            ),
        )
        indexes = (
            # The redelivery sweep looks for results decided but not yet delivered.
            models.Index(fields=("delivered_at", "result_at"), name="command_undelivered_idx"),
            # The dashboard's command success rate (backoffice.selectors.command_success).
            models.Index(fields=("created_at", "result", "response_result"), name="command_created_idx"),
        )

    def __str__(self) -> str:
        return f"{self.command} {self.response_result} {self.result or '-'}"

    @property
    def command_response(self) -> dict[str, Any]:
        """The CommandResponse object we answered (mod_commands, CommandResponse)."""
        body: dict[str, Any] = {"result": self.response_result, "timeout": self.response_timeout}
        if self.response_message:
            body["message"] = [{"language": "en", "text": self.response_message}]
        return body

    @property
    def command_result(self) -> dict[str, Any]:
        body: dict[str, Any] = {"result": self.result}
        if self.result_message:
            body["message"] = [{"language": "en", "text": self.result_message}]
        return body
