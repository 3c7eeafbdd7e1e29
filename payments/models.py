"""Payment terminals and financial advice confirmations (OCPI 2.3.0 mod_payments).

Both objects are owned by the PTP (Payter). Terminals are assigned to our locations and EVSEs;
a financial advice confirmation (FAC) tells what was captured on the driver's card for one
``authorization_reference``, which links it to our session and CDR.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from cpo_portal.fields import LastUpdatedModel, currency_validator, printable_ascii
from cpo_portal.history import tracked_history
from locations.models import Evse, Location, latitude_field_kwargs, longitude_field_kwargs
from partners.models import Partner
from sessions.models import Cdr, ChargingSession


class InvoiceCreator(models.TextChoices):
    CPO = "CPO", "CPO issues the invoice"
    PTP = "PTP", "PTP issues the invoice"


class CaptureStatusCode(models.TextChoices):
    SUCCESS = "SUCCESS", "Success"
    PARTIAL_SUCCESS = "PARTIAL_SUCCESS", "Partial success"
    FAILED = "FAILED", "Failed"


class PaymentTerminal(LastUpdatedModel):
    """A payment terminal (mod_payments, Terminal object), assigned to locations and EVSEs."""

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="terminals", help_text="The PTP that owns it."
    )
    terminal_id = models.CharField(max_length=36, validators=[printable_ascii])
    customer_reference = models.CharField(max_length=36, blank=True, validators=[printable_ascii])
    party_id = models.CharField(max_length=3, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    address = models.CharField(max_length=45, blank=True)
    city = models.CharField(max_length=45, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    state = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=3, blank=True)
    latitude = models.DecimalField(**latitude_field_kwargs, null=True, blank=True)
    longitude = models.DecimalField(**longitude_field_kwargs, null=True, blank=True)
    invoice_base_url = models.URLField(max_length=255, blank=True)
    invoice_creator = models.CharField(max_length=3, choices=InvoiceCreator.choices, blank=True)
    reference = models.CharField(
        max_length=36, blank=True, validators=[printable_ascii], help_text="The PTP's serial number."
    )
    locations = models.ManyToManyField(Location, blank=True, related_name="terminals")
    evses = models.ManyToManyField(Evse, blank=True, related_name="terminals", verbose_name="EVSEs")

    history = tracked_history(excluded_fields=("last_updated",), m2m_fields=("locations", "evses"))

    class Meta:
        verbose_name = "payment terminal"
        ordering = ("partner", "terminal_id")
        constraints = (
            models.UniqueConstraint(fields=("partner", "terminal_id"), name="terminal_unique_per_partner"),
            models.CheckConstraint(
                condition=~Q(terminal_id=""),
                name="terminal_id_not_empty",
                violation_error_message="A terminal needs an id.",
            ),
        )

    def __str__(self) -> str:
        return self.terminal_id


class FinancialAdviceConfirmation(LastUpdatedModel):
    """What the PTP captured for one pre-authorisation (mod_payments, FinancialAdviceConfirmation)."""

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="financial_advice_confirmations"
    )
    fac_id = models.CharField("id", max_length=36, validators=[printable_ascii])
    authorization_reference = models.CharField(max_length=36, validators=[printable_ascii])
    total_costs_excl_vat = models.DecimalField(
        "captured excl. taxes", max_digits=14, decimal_places=4, null=True, blank=True
    )
    total_costs_incl_vat = models.DecimalField(
        "captured incl. taxes", max_digits=14, decimal_places=4, null=True, blank=True
    )
    total_costs_taxes = models.JSONField(default=list, blank=True)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    eft_data = models.JSONField(default=list, help_text="Receipt data from the payment (one or more lines).")
    capture_status_code = models.CharField(max_length=15, choices=CaptureStatusCode.choices)
    capture_status_message = models.CharField(max_length=255, blank=True)
    # Links found by authorization_reference; a FAC for an unknown reference is kept, unlinked.
    session = models.ForeignKey(
        ChargingSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="financial_advice"
    )
    cdr = models.ForeignKey(
        Cdr, on_delete=models.SET_NULL, null=True, blank=True, related_name="financial_advice"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "financial advice confirmation"
        ordering = ("-last_updated",)
        constraints = (models.UniqueConstraint(fields=("partner", "fac_id"), name="fac_unique_per_partner"),)
        indexes = (
            # Reconciliation joins FACs to CDRs on the PTP's reference.
            models.Index(fields=("authorization_reference",), name="fac_authorization_ref_idx"),
            # The dashboard's unmatched captures (backoffice.selectors.unmatched_captures): only the
            # few that match nothing are in it.
            models.Index(
                fields=("received_at",),
                condition=Q(session__isnull=True, cdr__isnull=True),
                name="fac_unmatched_idx",
            ),
        )

    def __str__(self) -> str:
        return self.fac_id

    @property
    def is_matched(self) -> bool:
        return self.session_id is not None or self.cdr_id is not None
