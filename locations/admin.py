"""Admin for locations, EVSEs and connectors: where staff curate what the terminal shows.

Django's admin has no nested inlines, so the location page lists its EVSEs (each links to its own
page) and the EVSE page holds its connectors. Validation is the models' own (``full_clean`` runs
on every form); the formsets add only the rules that span several rows of one page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from cpo_portal.admin import (
    URL_FIELD_OVERRIDES,
    EnumLabelsMixin,
    HistoryAdmin,
    TimestampsOnChangeMixin,
    party_code,
)
from locations.forms import BusinessDetailsForm, DisplayTextListField, time_zone_input
from locations.models import Connector, Evse, Location, RegularHours
from locations.services import locations_set_published


class LocationForm(BusinessDetailsForm):
    business_details_fields = ("operator", "suboperator", "owner")

    directions = DisplayTextListField()

    class Meta:
        model = Location
        widgets = {"time_zone": time_zone_input()}
        fields = ("directions", "operator", "suboperator", "owner")  # the admin adds its fieldsets' fields


class EvseForm(forms.ModelForm):
    directions = DisplayTextListField()

    class Meta:
        model = Evse
        fields = ("directions",)  # the admin adds its fieldsets' fields


class RegularHoursFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # The model checks saved rows; here the hours arrive with the location in one request.
        kept = [form for form in self.forms if form.has_changed() and not self._should_delete_form(form)]
        if self.instance.twentyfourseven and kept:
            raise ValidationError(
                "A location open 24/7 has no regular hours: untick 'open 24/7' or remove them."
            )


class RegularHoursInline(admin.TabularInline):
    model = RegularHours
    formset = RegularHoursFormSet
    extra = 0
    fields = ("weekday", "period_begin", "period_end")


class EvseFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        party_id = self.instance.party_id
        if not party_id or self.instance.pk:
            return  # Evse.clean checks an existing location's party itself.
        # A new location's EVSEs: Evse.clean cannot see the party yet, so check its rule here.
        for form in self.forms:
            uid = form.cleaned_data.get("uid") if hasattr(form, "cleaned_data") else None
            if uid and Evse.objects.filter(location__party_id=party_id, uid=uid).exists():
                form.add_error("uid", "Another EVSE of this party already has this uid.")


class EvseInline(admin.TabularInline):
    model = Evse
    formset = EvseFormSet
    extra = 0
    show_change_link = True
    fields = ("uid", "evse_id", "physical_reference", "status", "floor_level", "connector_summary")
    readonly_fields = ("connector_summary",)
    verbose_name_plural = "EVSEs (save, then open an EVSE to set its capabilities and connectors)"

    # Narrow inputs, so that the row and its connectors fit the page.
    input_sizes = {"uid": 14, "evse_id": 22, "physical_reference": 6, "floor_level": 4}

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in self.input_sizes:
            field.widget.attrs["size"] = self.input_sizes[db_field.name]
            field.widget.attrs["class"] = ""
        return field

    def get_queryset(self, request: HttpRequest) -> QuerySet[Evse]:
        return super().get_queryset(request).prefetch_related("connectors")

    @admin.display(description="connectors")
    def connector_summary(self, evse: Evse) -> str:
        if evse.pk is None:
            return "-"
        return ", ".join(connector_label(connector) for connector in evse.connectors.all()) or "none yet"


def connector_label(connector: Connector) -> str:
    """Such as "1: CCS2 (150 kW)" (the standard's short name, before any explanation in brackets)."""
    standard = connector.get_standard_display().split(" (")[0]
    power = f" ({connector.max_electric_power / 1000:g} kW)" if connector.max_electric_power else ""
    return f"{connector.connector_id}: {standard}{power}"


@admin.register(Location)
class LocationAdmin(EnumLabelsMixin, TimestampsOnChangeMixin, HistoryAdmin, admin.ModelAdmin[Location]):
    form = LocationForm
    list_display = (
        "location_id",
        "name",
        party_code,
        "city",
        "country",
        "publish",
        "evse_count",
        "last_updated",
    )
    list_filter = ("publish", "party", "country", "parking_type", "twentyfourseven")
    search_fields = ("location_id", "name", "address", "city", "postal_code", "evses__evse_id", "evses__uid")
    list_select_related = ("party",)
    readonly_fields = ("last_updated", "ocpi_operator")
    inlines = (EvseInline, RegularHoursInline)
    actions = ("publish_locations", "withdraw_locations")
    fieldsets = (
        (None, {"fields": ("party", "location_id", "name", "publish", "last_updated")}),
        (
            "Address",
            {
                "fields": (
                    "address",
                    ("postal_code", "city"),
                    ("state", "country"),
                    ("latitude", "longitude"),
                    "time_zone",
                )
            },
        ),
        ("Opening times", {"fields": ("twentyfourseven", "charging_when_closed")}),
        ("For the driver", {"fields": ("directions", "parking_type", "facilities", "help_phone")}),
        (
            "Operator",
            {
                "fields": ("ocpi_operator", "operator", "suboperator", "owner"),
                "description": "Leave the operator empty to publish the party's own business details.",
            },
        ),
        (
            "Rarely used (OCPI JSON)",
            {
                "classes": ("collapse",),
                "fields": (
                    "publish_allowed_to",
                    "exceptional_openings",
                    "exceptional_closings",
                    "images",
                    "energy_mix",
                    "related_locations",
                    "parking_places",
                ),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Location]:
        # An aggregate drops Meta.ordering; keep it for the autocomplete's pages.
        return (
            super()
            .get_queryset(request)
            .annotate(evse_total=Count("evses", distinct=True))
            .order_by(*Location._meta.ordering)
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Location | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # Partners know a location by party and id; changing either would orphan their copy.
        return (*readonly, "party", "location_id") if obj else readonly

    @admin.display(description="EVSEs", ordering="evse_total")
    def evse_count(self, location: Location) -> int:
        return location.evse_total  # type: ignore[attr-defined]

    @admin.display(description="operator sent to partners")
    def ocpi_operator(self, location: Location) -> str:
        if location.pk is None:
            return "The party's business details, unless you fill in an operator below."
        operator = location.operator or location.party.business_details
        source = "as filled in below" if location.operator else "the party's business details"
        website = f", {operator['website']}" if operator.get("website") else ""
        return f"{operator['name']}{website} ({source})"

    @admin.action(description="Publish the selected locations", permissions=["change"])
    def publish_locations(self, request: HttpRequest, queryset: QuerySet[Location]) -> None:
        self._set_published(request, queryset, publish=True)

    @admin.action(description="Withdraw the selected locations (publish off)", permissions=["change"])
    def withdraw_locations(self, request: HttpRequest, queryset: QuerySet[Location]) -> None:
        self._set_published(request, queryset, publish=False)

    def _set_published(self, request: HttpRequest, queryset: QuerySet[Location], *, publish: bool) -> None:
        try:
            changed = locations_set_published(locations=queryset, publish=publish)
        except ValidationError as error:
            self.message_user(request, "; ".join(error.messages), messages.ERROR)
            return
        state = "published" if publish else "withdrawn"
        self.message_user(request, f"{changed} location(s) {state}.", messages.SUCCESS)


class ConnectorInline(EnumLabelsMixin, admin.StackedInline):
    model = Connector
    formfield_overrides = URL_FIELD_OVERRIDES
    extra = 0
    autocomplete_fields = ("tariffs",)
    readonly_fields = ("last_updated",)
    fields = (
        ("connector_id", "standard", "format", "power_type"),
        ("max_voltage", "max_amperage", "max_electric_power"),
        "tariffs",
        "terms_and_conditions",
        "capabilities",
        "last_updated",
    )


@admin.register(Evse)
class EvseAdmin(EnumLabelsMixin, TimestampsOnChangeMixin, HistoryAdmin, admin.ModelAdmin[Evse]):
    form = EvseForm
    list_display = (
        "uid",
        "evse_id",
        "location",
        "physical_reference",
        "status",
        "connector_count",
        "last_updated",
    )
    list_filter = ("status", "location__party", "location__country")
    search_fields = ("uid", "evse_id", "physical_reference", "location__location_id", "location__name")
    list_select_related = ("location",)
    autocomplete_fields = ("location",)
    readonly_fields = ("last_updated",)
    inlines = (ConnectorInline,)
    fieldsets = (
        (None, {"fields": ("location", "uid", "evse_id", "physical_reference", "status", "last_updated")}),
        ("Capabilities", {"fields": ("capabilities",)}),
        (
            "Place",
            {"fields": ("floor_level", ("latitude", "longitude"), "directions", "parking_restrictions")},
        ),
        (
            "Rarely used (OCPI JSON)",
            {
                "classes": ("collapse",),
                "fields": ("status_schedule", "parking", "images", "accepted_service_providers"),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Evse]:
        return (
            super()
            .get_queryset(request)
            .annotate(connector_total=Count("connectors"))
            .order_by(*Evse._meta.ordering)
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Evse | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "location", "uid") if obj else readonly

    @admin.display(description="connectors", ordering="connector_total")
    def connector_count(self, evse: Evse) -> int:
        return evse.connector_total  # type: ignore[attr-defined]


@admin.register(Connector)
class ConnectorAdmin(EnumLabelsMixin, HistoryAdmin, admin.ModelAdmin[Connector]):
    formfield_overrides = URL_FIELD_OVERRIDES
    list_display = ("__str__", "standard", "format", "power_type", "power_kw", "tariff_ids", "last_updated")
    list_filter = ("standard", "power_type", "format", "evse__location__party")
    search_fields = ("evse__evse_id", "evse__uid", "evse__location__location_id", "evse__location__name")
    list_select_related = ("evse", "evse__location")
    autocomplete_fields = ("evse", "tariffs")
    readonly_fields = ("last_updated",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Connector]:
        return super().get_queryset(request).prefetch_related("tariffs")

    def get_readonly_fields(self, request: HttpRequest, obj: Connector | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "evse", "connector_id") if obj else readonly

    @admin.display(description="max kW", ordering="max_electric_power")
    def power_kw(self, connector: Connector) -> str:
        return f"{connector.max_electric_power / 1000:g}" if connector.max_electric_power else "-"

    @admin.display(description="tariffs")
    def tariff_ids(self, connector: Connector) -> str:
        return ", ".join(tariff.tariff_id for tariff in connector.tariffs.all()) or "-"
