"""Admin for tariffs: elements with their price components and restrictions, texts per language.

A tariff is edited on one page: its elements (one form each, a fieldset per dimension and one for
the restrictions) and its texts for the terminal. Elements and texts are not registered on their
own, so the page-wide rules (at least one element; a text for every card-payment tariff) always apply.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from cpo_portal.admin import (
    URL_FIELD_OVERRIDES,
    EnumLabelsMixin,
    HistoryAdmin,
    TimestampsOnChangeMixin,
    party_code,
)
from cpo_portal.history import changes_by_record
from tariffs import engine
from tariffs.engine_adapter import engine_tariff
from tariffs.forms import TariffAltTextFormSet, TariffElementFormSet
from tariffs.models import (
    DIMENSION_PREFIXES,
    Dimension,
    Tariff,
    TariffAltText,
    TariffElement,
    TariffType,
    TaxIncluded,
)
from tariffs.selectors import tariff_stale_text_warnings
from tariffs.services import tariff_duplicate

_UNITS = {
    Dimension.FLAT: "per session",
    Dimension.ENERGY: "per kWh",
    Dimension.TIME: "per hour charging",
    Dimension.PARKING_TIME: "per hour parked without charging",
}


def element_summary(element: TariffElement, currency: str, tax_included: str = TaxIncluded.NO) -> str:
    """One line per element, such as "0.59 EUR per kWh (+21% VAT); 17:00-21:00, MONDAY-FRIDAY".

    The VAT note follows the tariff's ``tax_included``: a price that includes VAT reads "incl. 21%
    VAT", one that excludes it "+21% VAT" (mod_tariffs, Tariff.tax_included, OCPI 2.3.0).
    """
    prices = []
    for dimension, price, vat, step_size in element.components():
        vat_text = ""
        if vat is not None and tax_included == TaxIncluded.YES:
            vat_text = f" (incl. {vat.normalize():f}% VAT)"
        elif vat is not None and tax_included == TaxIncluded.NO:
            vat_text = f" (+{vat.normalize():f}% VAT)"
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


def computed_price_lines(
    tariff: Tariff, elements: list[TariffElement], languages: list[str]
) -> dict[str, list[str]]:
    """The tariff engine's own description per language, to set beside the texts staff wrote."""
    try:
        priced = engine_tariff(tariff, elements)
    except engine.TariffError as error:
        return {language: [f"Cannot be priced: {error}"] for language in languages}
    # With taxes: the driver reads what they will pay, as the texts above should say too.
    return {language: engine.price_lines(priced, language, with_taxes=True) for language in languages}


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

    def get_extra(self, request: HttpRequest, obj: Tariff | None = None, **kwargs: Any) -> int:
        return 1 if obj is None else 0  # a new card-payment tariff needs its first text

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "text":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 100})
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "language":
            field.widget.attrs.update({"size": 3, "class": ""})
        return field


_PRICE_FIELDSETS = tuple(
    (
        title,
        {
            "fields": ((f"{prefix}_price", f"{prefix}_vat", f"{prefix}_step_size"),),
            "description": f"{description} An empty VAT means unknown (2.2.1) or none (2.3.0).",
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


# Short labels inside a dimension's fieldset, whose title says which dimension it is.
_ELEMENT_LABELS = {
    **{f"{prefix}_price": "Price" for prefix in DIMENSION_PREFIXES.values()},
    **{f"{prefix}_vat": "VAT %" for prefix in DIMENSION_PREFIXES.values()},
    **{f"{prefix}_step_size": "Step size" for prefix in DIMENSION_PREFIXES.values()},
    "min_kwh": "Min kWh",
    "max_kwh": "Max kWh",
    "min_current": "Min current (A)",
    "max_current": "Max current (A)",
}


class TariffElementInline(EnumLabelsMixin, admin.StackedInline):
    model = TariffElement
    formset = TariffElementFormSet
    extra = 0
    min_num = 1
    validate_min = True

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in _ELEMENT_LABELS:
            field.label = _ELEMENT_LABELS[db_field.name]
            field.widget.attrs.setdefault("style", "width: 8em")
            if db_field.name.endswith(("_vat", "_step_size")):
                field.help_text = ""  # said once in the fieldset's description, so the row fits one line
        return field

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


class PreviewOnly:
    """Stands among a tariff page's formsets when staff press "Preview": never valid, so the admin
    renders the page again instead of saving, and it hands the unsaved elements and texts to the
    preview (on the unsaved tariff, as ``preview_elements`` and ``preview_texts``)."""

    def __init__(self, tariff: Tariff, formsets: list[Any]) -> None:
        self.tariff = tariff
        self.formsets = list(formsets)

    def is_valid(self) -> bool:
        elements: list[TariffElement] = []
        texts: dict[str, str] = {}
        for formset in self.formsets:
            if not formset.is_valid():
                return False
            for form in formset.forms:
                if not form.cleaned_data or formset._should_delete_form(form):
                    continue
                if isinstance(form.instance, TariffElement):
                    elements.append(form.instance)
                elif isinstance(form.instance, TariffAltText):
                    texts[form.instance.language] = form.instance.text
        elements.sort(key=lambda element: element.position)
        self.tariff.preview_elements = elements  # type: ignore[attr-defined]
        self.tariff.preview_texts = texts  # type: ignore[attr-defined]
        return False

    def non_form_errors(self) -> list[str]:
        return []

    @property
    def errors(self) -> list[dict[str, Any]]:
        return []


@admin.register(Tariff)
class TariffAdmin(TimestampsOnChangeMixin, HistoryAdmin, admin.ModelAdmin[Tariff]):
    formfield_overrides = URL_FIELD_OVERRIDES
    list_display = (
        "tariff_id",
        party_code,
        "tariff_type",
        "languages",
        "element_count",
        "max_price",
        "connector_count",
        "last_updated",
    )
    list_filter = ("type", "party", "currency", "tax_included")
    search_fields = ("tariff_id", "alt_texts__text")
    list_select_related = ("party",)
    readonly_fields = ("last_updated", "terminal_preview")
    inlines = (TariffAltTextInline, TariffElementInline)
    actions = ("duplicate_tariffs",)
    object_history_template = "admin/tariffs/tariff/object_history.html"
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
            .order_by(*Tariff._meta.ordering)  # an aggregate drops Meta.ordering; the autocomplete pages
        )

    def history_extra_context(self, request: HttpRequest, pk: Any) -> dict[str, Any]:
        # Texts and elements are edited on the tariff's page, so its History lists their changes too.
        texts = TariffAltText.history.filter(tariff_id=pk)  # type: ignore[attr-defined]
        elements = TariffElement.history.filter(tariff_id=pk)  # type: ignore[attr-defined]
        return {
            "part_changes": [
                ("Texts for the terminal", changes_by_record(texts)),
                ("Elements", changes_by_record(elements)),
            ]
        }

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # This portal exists for card payments at the terminal.
        return {"type": TariffType.AD_HOC_PAYMENT, **super().get_changeform_initial_data(request)}

    def get_readonly_fields(self, request: HttpRequest, obj: Tariff | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # Connectors and partners refer to a tariff by party and id.
        return (*readonly, "party", "tariff_id") if obj else readonly

    @admin.display(description="type", ordering="type")
    def tariff_type(self, tariff: Tariff) -> str:
        return tariff.type or "-"

    @admin.display(description="max price", ordering="max_price_incl_vat")
    def max_price(self, tariff: Tariff) -> str:
        amount = (
            tariff.max_price_incl_vat if tariff.max_price_incl_vat is not None else tariff.max_price_excl_vat
        )
        return "-" if amount is None else f"{amount:.2f} {tariff.currency}"

    @admin.display(description="languages")
    def languages(self, tariff: Tariff) -> str:
        return ", ".join(text.language for text in tariff.alt_texts.all()) or "-"

    @admin.display(description="elements", ordering="element_total")
    def element_count(self, tariff: Tariff) -> int:
        return tariff.element_total  # type: ignore[attr-defined]

    @admin.display(description="connectors", ordering="connector_total")
    def connector_count(self, tariff: Tariff) -> int:
        return tariff.connector_total  # type: ignore[attr-defined]

    def _create_formsets(
        self, request: HttpRequest, obj: Tariff, change: bool
    ) -> tuple[list[Any], list[Any]]:
        formsets, inline_instances = super()._create_formsets(request, obj, change)  # type: ignore[misc]
        if request.method == "POST" and "_preview" in request.POST:
            # After the real formsets, so that they are validated first; it has no inline of its own.
            formsets.append(PreviewOnly(obj, formsets))
            messages.info(request, "Preview only: nothing is saved until you press Save.")
        return formsets, inline_instances

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        tariff = form.instance
        texts = {text.language: text.text for text in tariff.alt_texts.all()}
        for warning in tariff_stale_text_warnings(tariff=tariff, elements=tariff.elements.all(), texts=texts):
            self.message_user(request, warning, messages.WARNING)

    @admin.display(description="preview")
    def terminal_preview(self, tariff: Tariff) -> SafeString | str:
        if hasattr(tariff, "preview_elements"):
            texts = dict(tariff.preview_texts)  # type: ignore[attr-defined]
            elements = list(tariff.preview_elements)  # type: ignore[attr-defined]
        elif tariff.pk is None:
            return "Press Preview to see what the terminal will show, before saving."
        else:
            texts = {text.language: text.text for text in tariff.alt_texts.all()}
            elements = list(tariff.elements.all())
        warnings = format_html_join(
            "",
            '<li class="warning">{}</li>',
            (
                (warning,)
                for warning in tariff_stale_text_warnings(tariff=tariff, elements=elements, texts=texts)
            ),
        )
        computed = computed_price_lines(tariff, elements, list(texts) or ["en"])
        rows = format_html_join(
            "",
            '<tr><th lang="{}">{}</th><td lang="{}">{}</td><td>{}</td></tr>',
            (
                (language, language, language, texts.get(language, "(no text)"), "; ".join(lines))
                for language, lines in computed.items()
            ),
        )
        summaries = format_html_join(
            "",
            "<li>{}</li>",
            ((element_summary(element, tariff.currency, tariff.tax_included),) for element in elements),
        )
        preauthorization = tariff.preauthorization
        reserve = (
            f"{preauthorization:.2f} {tariff.currency}"
            if preauthorization is not None
            else "nothing: give a maximum price or a pre-authorise amount"
        )
        return format_html(
            '<div class="terminal-preview">'
            "<p>Languages offered: <strong>{}</strong>. Reserved on the card: <strong>{}</strong>.</p>"
            "<table><thead><tr><th></th><th>Text for the terminal (as written above)</th>"
            "<th>Price lines computed from the elements (what the driver pays)</th></tr></thead>"
            "<tbody>{}</tbody></table>"
            "<p>Elements, in order (prices as stored):</p><ol>{}</ol>"
            '<ul class="messagelist stale-text">{}</ul></div>',
            ", ".join(texts) or "none: the terminal has no text to show",
            reserve,
            rows,
            summaries,
            warnings,
        )

    @admin.action(
        description="Duplicate the selected tariffs (copies link to no connector)", permissions=["add"]
    )
    def duplicate_tariffs(self, request: HttpRequest, queryset: QuerySet[Tariff]) -> None:
        copies = []
        for tariff in queryset:
            try:
                copies.append(tariff_duplicate(tariff=tariff).tariff_id)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
        if copies:
            self.message_user(request, f"Created {', '.join(copies)}.", messages.SUCCESS)
