"""Admin for tariffs: elements with their price components and restrictions, texts per language.

A tariff is edited on one page: its elements (one form each, a fieldset per dimension and one for
the restrictions) and its texts for the terminal. Elements and texts are not registered on their
own, so the page-wide rules (at least one element; a text for every card-payment tariff) always apply.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from cpo_portal.admin import URL_FIELD_OVERRIDES
from tariffs.forms import TariffAltTextFormSet, TariffElementFormSet
from tariffs.models import DIMENSION_PREFIXES, Dimension, Tariff, TariffAltText, TariffElement
from tariffs.services import tariff_duplicate

_UNITS = {
    Dimension.FLAT: "per session",
    Dimension.ENERGY: "per kWh",
    Dimension.TIME: "per hour charging",
    Dimension.PARKING_TIME: "per hour parked without charging",
}


def element_summary(element: TariffElement, currency: str) -> str:
    """One line per element, such as "0.59 EUR per kWh (+21% VAT); 17:00-21:00, MONDAY-FRIDAY"."""
    prices = []
    for dimension, price, vat, step_size in element.components():
        vat_text = f" (+{vat.normalize():f}% VAT)" if vat is not None else ""
        step = ""
        if dimension in (Dimension.TIME, Dimension.PARKING_TIME) and step_size > 1:
            step = f", billed per {step_size} s"
        prices.append(f"{price.normalize():f} {currency} {_UNITS[Dimension(dimension)]}{vat_text}{step}")
    conditions = []
    if element.start_time or element.end_time:
        conditions.append(f"{element.start_time or '00:00'}-{element.end_time or '24:00'}")
    if element.day_of_week:
        conditions.append(", ".join(day.title() for day in element.day_of_week))
    if element.start_date or element.end_date:
        conditions.append(f"dates {element.start_date or '…'} to {element.end_date or '…'}")
    for low, high, unit in (
        ("min_kwh", "max_kwh", "kWh"),
        ("min_power", "max_power", "kW"),
        ("min_current", "max_current", "A"),
        ("min_duration", "max_duration", "s"),
    ):
        low_value, high_value = getattr(element, low), getattr(element, high)
        if low_value is not None or high_value is not None:
            conditions.append(f"{_plain(low_value)}-{_plain(high_value)} {unit}")
    if element.reservation:
        conditions.append(element.get_reservation_display().lower())
    when = f" — only {'; '.join(conditions)}" if conditions else ""
    return f"{' + '.join(prices) or 'no price'}{when}"


def _plain(value: Decimal | int | None) -> str:
    if value is None:
        return "…"
    return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)


class TariffAltTextInline(admin.TabularInline):
    model = TariffAltText
    formset = TariffAltTextFormSet
    extra = 0
    fields = ("language", "text")
    verbose_name = "text for the terminal"
    verbose_name_plural = "Texts for the terminal, one per language (the terminal offers these languages)"

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "text":
            field.widget.attrs.update({"size": 100})
        return field


_PRICE_FIELDSETS = tuple(
    (
        title,
        {
            "fields": ((f"{prefix}_price", f"{prefix}_vat", f"{prefix}_step_size"),),
            "description": description,
        },
    )
    for title, prefix, description in (
        ("Flat fee", DIMENSION_PREFIXES[Dimension.FLAT], "Once per session."),
        ("Energy", DIMENSION_PREFIXES[Dimension.ENERGY], "Per kWh; step size in Wh."),
        (
            "Charging time",
            DIMENSION_PREFIXES[Dimension.TIME],
            "Per hour while charging; step size in seconds.",
        ),
        (
            "Parking time (idle fee)",
            DIMENSION_PREFIXES[Dimension.PARKING_TIME],
            "Per hour while connected but not charging; step size in seconds.",
        ),
    )
)


class TariffElementInline(admin.StackedInline):
    model = TariffElement
    formset = TariffElementFormSet
    extra = 0
    min_num = 1
    validate_min = True
    fieldsets = (
        (None, {"fields": ("position",)}),
        *_PRICE_FIELDSETS,
        (
            "Restrictions",
            {
                "description": (
                    "The element applies only while all of these hold; leave them empty for always. "
                    "Times and dates are the location's local time. Put restricted elements first: "
                    "for each dimension the first element that applies is used."
                ),
                "fields": (
                    ("start_time", "end_time"),
                    "day_of_week",
                    ("start_date", "end_date"),
                    ("min_kwh", "max_kwh"),
                    ("min_power", "max_power"),
                    ("min_current", "max_current"),
                    ("min_duration", "max_duration"),
                    "reservation",
                ),
            },
        ),
    )


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELD_OVERRIDES
    list_display = (
        "tariff_id",
        "party",
        "type",
        "currency",
        "languages",
        "element_count",
        "max_price_incl_vat",
        "connector_count",
        "last_updated",
    )
    list_filter = ("type", "party", "currency", "tax_included")
    search_fields = ("tariff_id", "alt_texts__text")
    list_select_related = ("party",)
    readonly_fields = ("last_updated", "terminal_preview")
    inlines = (TariffAltTextInline, TariffElementInline)
    actions = ("duplicate_tariffs",)
    fieldsets = (
        (None, {"fields": ("party", "tariff_id", "type", "currency", "tax_included", "last_updated")}),
        (
            "Card payment",
            {
                "description": (
                    "The terminal reserves the pre-authorise amount on the card, or else the maximum price."
                ),
                "fields": (
                    "preauthorize_amount",
                    ("max_price_excl_vat", "max_price_incl_vat"),
                    ("min_price_excl_vat", "min_price_incl_vat"),
                ),
            },
        ),
        ("Validity", {"fields": (("start_date_time", "end_date_time"),)}),
        ("What the terminal shows", {"fields": ("terminal_preview",)}),
        ("Rarely used", {"classes": ("collapse",), "fields": ("tariff_alt_url", "energy_mix")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tariff]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                element_total=Count("elements", distinct=True),
                connector_total=Count("connectors", distinct=True),
            )
            .prefetch_related("alt_texts")
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Tariff | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # Connectors and partners refer to a tariff by party and id.
        return (*readonly, "party", "tariff_id") if obj else readonly

    @admin.display(description="languages")
    def languages(self, tariff: Tariff) -> str:
        return ", ".join(text.language for text in tariff.alt_texts.all()) or "-"

    @admin.display(description="elements", ordering="element_total")
    def element_count(self, tariff: Tariff) -> int:
        return tariff.element_total  # type: ignore[attr-defined]

    @admin.display(description="connectors", ordering="connector_total")
    def connector_count(self, tariff: Tariff) -> int:
        return tariff.connector_total  # type: ignore[attr-defined]

    @admin.display(description="preview")
    def terminal_preview(self, tariff: Tariff) -> SafeString | str:
        if tariff.pk is None:
            return "Save the tariff to see what the terminal shows."
        texts = format_html_join(
            "",
            '<tr><th lang="{}">{}</th><td>{}</td></tr>',
            ((text.language, text.language, text.text) for text in tariff.alt_texts.all()),
        )
        elements = format_html_join(
            "",
            "<li>{}</li>",
            ((element_summary(element, tariff.currency),) for element in tariff.elements.all()),
        )
        preauthorization = tariff.preauthorization
        reserve = (
            f"{preauthorization.normalize():f} {tariff.currency}"
            if preauthorization is not None
            else "nothing set: give a maximum price or a pre-authorise amount"
        )
        return format_html(
            '<div class="terminal-preview">'
            "<p>Languages offered: <strong>{}</strong></p>"
            '<table class="terminal-preview-texts">{}</table>'
            "<p>Reserved on the card: <strong>{}</strong></p>"
            "<p>Price elements, in order:</p><ol>{}</ol></div>",
            ", ".join(text.language for text in tariff.alt_texts.all()) or "none (the terminal has no text)",
            texts,
            reserve,
            elements,
        )

    @admin.action(description="Duplicate the selected tariffs (copies link to no connector)")
    def duplicate_tariffs(self, request: HttpRequest, queryset: QuerySet[Tariff]) -> None:
        copies = []
        for tariff in queryset:
            try:
                copies.append(tariff_duplicate(tariff=tariff).tariff_id)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
        if copies:
            self.message_user(request, f"Created {', '.join(copies)}.", messages.SUCCESS)
