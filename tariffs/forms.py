"""Admin formsets for a tariff's elements and its texts for the terminal.

Each element and text is validated by its model (``full_clean``); the formsets add the rules
that need the whole tariff at once.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from tariffs.models import TariffType


class TariffAltTextFormSet(forms.BaseInlineFormSet):
    """At least one language for a card-payment tariff: the terminal offers exactly these languages."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        languages = [
            form.cleaned_data.get("language")
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]
        if self.instance.type == TariffType.AD_HOC_PAYMENT and not any(languages):
            # shared/payter/README.md: the tariff_alt_text languages are the languages the terminal offers.
            raise ValidationError(
                "An ad hoc payment tariff needs a text for the terminal in at least one language."
            )


class TariffElementFormSet(forms.BaseInlineFormSet):
    """A tariff has at least one element (mod_tariffs, Tariff.elements: cardinality +)."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [form for form in self.forms if form.cleaned_data and not self._should_delete_form(form)]
        if not kept:
            raise ValidationError("A tariff needs at least one element with a price.")
