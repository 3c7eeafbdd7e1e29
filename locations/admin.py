"""Admin for locations, EVSEs and connectors: where staff curate what the terminal shows.

Django's admin has no nested inlines, so the location page lists its EVSEs (each links to its own
page) and the EVSE page holds its connectors. Validation is the models' own (``full_clean`` runs
on every form); the formsets add only the rules that span several rows of one page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from cpo_portal.admin import (
    URL_FIELD_OVERRIDES,
    EnumLabelsMixin,
    HistoryAdmin,
    TimestampsOnChangeMixin,
    party_code,
)
from locations.admin_readiness import readiness_filter, readiness_html
from locations.forms import BusinessDetailsForm, DisplayTextListField, time_zone_input
from locations.models import Connector, Evse, Location, RegularHours
from locations.readiness import PUBLISHED, connector_readiness, evse_readiness, location_readiness, ready_pks
from locations.selectors import connector_tariff_warnings, evse_terminal_screens
from locations.services import locations_set_published
from tariffs.models import Tariff


def missing_before_publishing(location: Location) -> list[str]:
    """What the location lacks for the terminal, apart from being published."""
    return [
        line
        for check in location_readiness(location).checks
        if check.label != PUBLISHED and not check.ok
        for line in (check.missing or (check.label,))
    ]


class LocationForm(BusinessDetailsForm):
    business_details_fields = ("operator", "suboperator", "owner")

    directions = DisplayTextListField()
    publish_although_not_ready = forms.BooleanField(
        required=False,
        label="Publish although not ready",
        help_text="Asked when publishing a location that is not ready for the terminal.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and "publish" not in kwargs.get("initial", {}):
            # A new location starts unpublished: it is published once its checklist is complete.
            self.initial["publish"] = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        instance = self.instance
        if instance.pk is None:
            # A new location has no connectors, tariffs or terminal yet (they are added on the EVSE
            # and terminal pages), so it is never ready.
            switched_on = cleaned.get("publish")
            missing = ["a new location has no connectors, tariffs or terminal yet"]
        else:
            switched_on = cleaned.get("publish") and not self.initial.get("publish")
            missing = missing_before_publishing(instance) if switched_on else []
        if switched_on and not cleaned.get("publish_although_not_ready") and missing:
            self.add_error(
                "publish",
                "Not ready for the terminal: "
                + "; ".join(missing)
                + ". Tick 'Publish although not ready' to publish it anyway.",
            )
        return cleaned

    class Meta:
        model = Location
        widgets = {"time_zone": time_zone_input()}
        fields = ("directions", "operator", "suboperator", "owner")  # the admin adds its fieldsets' fields
        help_texts = {
            # ocpi_api.selectors: an unpublished location still reaches partners, marked so.
            "publish": "Off: partners receive it marked unpublished and show it only to the tokens "
            "listed under 'publish allowed to'.",
        }


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
    list_filter = (
        "publish",
        readiness_filter(ready_pks),
        "party",
        "country",
        "parking_type",
        "twentyfourseven",
    )
    search_fields = ("location_id", "name", "address", "city", "postal_code", "evses__evse_id", "evses__uid")
    list_select_related = ("party",)
    readonly_fields = ("last_updated", "ocpi_operator", "readiness")
    inlines = (EvseInline, RegularHoursInline)
    actions = ("publish_locations", "withdraw_locations")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "party",
                    "location_id",
                    "name",
                    ("publish", "publish_although_not_ready"),
                    "last_updated",
                )
            },
        ),
        ("Ready for the terminal", {"fields": ("readiness",)}),
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

    def get_fieldsets(self, request: HttpRequest, obj: Location | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and self.has_change_permission(request, obj):
            return fieldsets
        # The confirmation applies when an existing location is switched on, by someone who may.
        confirm = ("publish", "publish_although_not_ready")
        return [
            (name, {**options, "fields": ["publish" if row == confirm else row for row in options["fields"]]})
            for name, options in fieldsets
        ]

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

    @admin.display(description="checklist")
    def readiness(self, location: Location) -> SafeString | str:
        if location.pk is None:
            return "Save the location, then add its EVSEs and connectors."
        return readiness_html(location_readiness(location))

    @admin.action(description="Publish the selected locations", permissions=["change"])
    def publish_locations(self, request: HttpRequest, queryset: QuerySet[Location]) -> HttpResponse | None:
        if request.POST.get("confirm") != "yes":
            for location in queryset.filter(publish=False):
                # What the model refuses is refused at once; confirmation is only asked for the rest.
                location.publish = True
                try:
                    location.full_clean()
                except ValidationError as error:
                    self.message_user(request, "; ".join(error.messages), messages.ERROR)
                    return None
            not_ready = [
                (location, missing)
                for location in queryset.select_related("party")
                if not location.publish and (missing := missing_before_publishing(location))
            ]
            if not_ready:
                # Like Django's delete confirmation: the same action posted again, with confirm=yes.
                return TemplateResponse(
                    request,
                    "admin/locations/location/publish_confirmation.html",
                    {
                        **self.admin_site.each_context(request),
                        "title": "Publish locations that are not ready?",
                        "opts": self.opts,
                        "not_ready": not_ready,
                        "selected": [location.pk for location in queryset],
                        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                    },
                )
        self._set_published(request, queryset, publish=True)
        return None

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


class ConnectorForm(forms.ModelForm):
    """The tariffs must be the location's party's (the model refuses others when they are added;
    here the form says so before anything is saved)."""

    class Meta:
        model = Connector
        fields = ("tariffs",)  # the admin adds its fields

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        evse = getattr(self.instance, "evse", None) if self.instance.evse_id else cleaned.get("evse")
        tariffs = cleaned.get("tariffs")
        if evse is not None and tariffs:
            foreign = [tariff.tariff_id for tariff in tariffs if tariff.party_id != evse.location.party_id]
            if foreign:
                self.add_error(
                    "tariffs",
                    f"Only tariffs of the location's own party can apply here; {', '.join(foreign)} "
                    "belong(s) to another party.",
                )
        return cleaned


def tariffs_of_party(party_id: int | None) -> QuerySet[Tariff]:
    """The tariffs a connector of this party may offer (all parties' when the party is not known yet)."""
    tariffs = Tariff.objects.select_related("party").order_by("tariff_id")
    return tariffs if party_id is None else tariffs.filter(party_id=party_id)


def warn_about_connector_tariffs(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, connectors: Any
) -> None:
    for connector in connectors:
        for warning in connector_tariff_warnings(connector=connector):
            model_admin.message_user(request, warning, messages.WARNING)


class ConnectorInline(EnumLabelsMixin, admin.StackedInline):
    model = Connector
    form = ConnectorForm
    formfield_overrides = URL_FIELD_OVERRIDES
    extra = 0
    readonly_fields = ("last_updated",)
    fields = (
        ("connector_id", "standard", "format", "power_type"),
        ("max_voltage", "max_amperage", "max_electric_power"),
        "tariffs",
        "terms_and_conditions",
        "capabilities",
        "last_updated",
    )

    def get_formset(self, request: HttpRequest, obj: Evse | None = None, **kwargs: Any) -> Any:
        # The admin is shared by concurrent requests: the party travels on the request.
        request.connector_party_id = obj.location.party_id if obj is not None else None  # type: ignore[attr-defined]
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "tariffs":
            # Only the EVSE's party's tariffs: another party's tariff_id means nothing to a partner.
            kwargs["queryset"] = tariffs_of_party(getattr(request, "connector_party_id", None))
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)


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
    list_filter = ("status", readiness_filter(ready_pks), "location__party", "location__country")
    search_fields = ("uid", "evse_id", "physical_reference", "location__location_id", "location__name")
    list_select_related = ("location",)
    autocomplete_fields = ("location",)
    readonly_fields = ("last_updated", "readiness", "terminal_link")
    inlines = (ConnectorInline,)
    fieldsets = (
        (None, {"fields": ("location", "uid", "evse_id", "physical_reference", "status", "last_updated")}),
        ("Ready for the terminal", {"fields": ("readiness", "terminal_link")}),
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

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        warn_about_connector_tariffs(self, request, form.instance.connectors.select_related("evse__location"))

    def get_urls(self) -> list[Any]:
        terminal = path(
            "<path:object_id>/terminal/",
            self.admin_site.admin_view(self.terminal_view),
            name="locations_evse_terminal",
        )
        return [terminal, *super().get_urls()]

    def terminal_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """What the terminal will show for this EVSE, in each of the operator's languages."""
        evse = self.get_object(request, object_id)
        if evse is None or not self.has_view_or_change_permission(request, evse):
            raise PermissionDenied
        return TemplateResponse(
            request,
            "admin/locations/evse/terminal.html",
            {
                **self.admin_site.each_context(request),
                "title": f"What the terminal shows for {evse}",
                "opts": self.opts,
                "original": evse,
                "screens": evse_terminal_screens(evse=evse),
                "readiness": readiness_html(evse_readiness(evse)),
            },
        )

    @admin.display(description="checklist")
    def readiness(self, evse: Evse) -> SafeString | str:
        if evse.pk is None:
            return "Save the EVSE, then add its connectors."
        return readiness_html(evse_readiness(evse))

    @admin.display(description="terminal")
    def terminal_link(self, evse: Evse) -> SafeString | str:
        if evse.pk is None:
            return "-"
        url = reverse("admin:locations_evse_terminal", args=[evse.pk])
        return format_html('<a href="{}">What the terminal shows, in each language</a>', url)

    @admin.display(description="connectors", ordering="connector_total")
    def connector_count(self, evse: Evse) -> int:
        return evse.connector_total  # type: ignore[attr-defined]


@admin.register(Connector)
class ConnectorAdmin(EnumLabelsMixin, HistoryAdmin, admin.ModelAdmin[Connector]):
    form = ConnectorForm
    formfield_overrides = URL_FIELD_OVERRIDES
    list_display = ("__str__", "standard", "format", "power_type", "power_kw", "tariff_ids", "last_updated")
    list_filter = ("standard", "power_type", "format", readiness_filter(ready_pks), "evse__location__party")
    search_fields = ("evse__evse_id", "evse__uid", "evse__location__location_id", "evse__location__name")
    list_select_related = ("evse", "evse__location")
    autocomplete_fields = ("evse",)
    readonly_fields = ("last_updated", "readiness")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("evse", "connector_id"),
                    ("standard", "format", "power_type"),
                    ("max_voltage", "max_amperage", "max_electric_power"),
                    "tariffs",
                    "terms_and_conditions",
                    "capabilities",
                    "last_updated",
                )
            },
        ),
        ("Ready for the terminal", {"fields": ("readiness",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Connector]:
        return super().get_queryset(request).prefetch_related("tariffs")

    def get_form(
        self, request: HttpRequest, obj: Connector | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        request.connector_party_id = obj.evse.location.party_id if obj is not None else None  # type: ignore[attr-defined]
        return super().get_form(request, obj, change, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "tariffs":
            kwargs["queryset"] = tariffs_of_party(getattr(request, "connector_party_id", None))
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        warn_about_connector_tariffs(self, request, [form.instance])

    def get_readonly_fields(self, request: HttpRequest, obj: Connector | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "evse", "connector_id") if obj else readonly

    @admin.display(description="ready for the terminal")
    def readiness(self, connector: Connector) -> SafeString | str:
        if connector.pk is None:
            return "-"
        return readiness_html(connector_readiness(connector))

    @admin.display(description="max kW", ordering="max_electric_power")
    def power_kw(self, connector: Connector) -> str:
        return f"{connector.max_electric_power / 1000:g}" if connector.max_electric_power else "-"

    @admin.display(description="tariffs")
    def tariff_ids(self, connector: Connector) -> str:
        return ", ".join(tariff.tariff_id for tariff in connector.tariffs.all()) or "-"
