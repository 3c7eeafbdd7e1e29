"""The form behind the CDR correction action: a credit CDR, optionally with a corrected CDR."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from sessions.models import Cdr


class CdrCorrectionForm(forms.Form):
    remark = forms.CharField(
        max_length=255,
        help_text="Why the CDR is corrected; sent to the partner on both new CDRs.",
        widget=forms.TextInput(attrs={"class": "vTextField", "size": 60}),
    )
    total_cost_excl_vat = forms.DecimalField(
        label="corrected total excl. taxes",
        required=False,
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=2,
        help_text="Empty: only credit the CDR (the driver pays nothing for it).",
    )
    total_cost_incl_vat = forms.DecimalField(
        label="corrected total incl. taxes",
        required=False,
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=2,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        excl, incl = data.get("total_cost_excl_vat"), data.get("total_cost_incl_vat")
        if (excl is None) != (incl is None):
            raise forms.ValidationError("Give both corrected totals, or neither to credit only.")
        if excl is not None and incl is not None and incl < excl:
            raise forms.ValidationError("The total including taxes cannot be below the total excluding them.")
        return data

    def corrections(self, cdr: Cdr) -> dict[str, Any] | None:
        """The corrected CDR's new totals, with one tax line for their difference; None: credit only."""
        excl, incl = self.cleaned_data["total_cost_excl_vat"], self.cleaned_data["total_cost_incl_vat"]
        if excl is None:
            return None
        rates = {line.get("percentage") for line in cdr.total_cost_taxes}
        tax_line: dict[str, Any] = {"name": "VAT", "amount": str(incl - excl)}
        if len(rates) == 1 and None not in rates:
            tax_line["percentage"] = rates.pop()
        return {
            "total_cost_excl_vat": excl,
            "total_cost_incl_vat": incl,
            "total_cost_taxes": [tax_line] if incl != excl else [],
        }
