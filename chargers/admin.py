"""Admin for the charger side: backends allowed to report events, and simulated chargers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from chargers.models import ChargingBackend, ServedEvse, SimulatedCharger
from chargers.services import charging_backend_create, charging_backend_rotate_token


class ServedEvseInline(admin.TabularInline[ServedEvse, ChargingBackend]):
    """The EVSEs a backend serves: the only sessions it may report on (one backend per EVSE)."""

    model = ServedEvse
    extra = 0
    autocomplete_fields = ("evse",)


@admin.register(ChargingBackend)
class ChargingBackendAdmin(admin.ModelAdmin[ChargingBackend]):
    inlines = (ServedEvseInline,)
    list_display = ("name", "is_active", "served_evse_count", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    readonly_fields = ("created_at",)
    fields = ("name", "is_active", "created_at")
    actions = ("rotate_token",)

    def has_manage_credentials_permission(
        self, request: HttpRequest, obj: ChargingBackend | None = None
    ) -> bool:
        # "Change" is not enough: a token lets its holder report charger events as this backend.
        return request.user.has_perm("chargers.manage_backend_credentials")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A new backend's token is shown on saving it: the same right as issuing a new one.
        return super().has_add_permission(request) and self.has_manage_credentials_permission(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChargingBackend]:
        return super().get_queryset(request).annotate(served_evse_count=Count("served_evses"))

    @admin.display(description="EVSEs served", ordering="served_evse_count")
    def served_evse_count(self, backend: ChargingBackend) -> int:
        return backend.served_evse_count  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: ChargingBackend, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new backend gets its token here, shown once: only its hash is stored.
        backend, token = charging_backend_create(name=obj.name)
        obj.pk, obj.token_hash, obj.created_at = backend.pk, backend.token_hash, backend.created_at
        if not obj.is_active:
            backend.is_active = False
            backend.save(update_fields=["is_active"])
        self.message_user(
            request,
            f"Token for {backend.name}: {token} — copy it now, it is not shown again.",
            messages.WARNING,
        )

    @admin.action(
        description="Issue a new token (the old one stops working)", permissions=["manage_credentials"]
    )
    def rotate_token(self, request: HttpRequest, queryset: QuerySet[ChargingBackend]) -> None:
        for backend in queryset:
            token = charging_backend_rotate_token(backend=backend)
            self.message_user(
                request,
                f"New token for {backend.name}: {token} — copy it now, it is not shown again.",
                messages.WARNING,
            )


@admin.register(SimulatedCharger)
class SimulatedChargerAdmin(admin.ModelAdmin[SimulatedCharger]):
    list_display = ("evse", "location", "behaviour", "power_kw", "voltage_v")
    list_filter = ("behaviour",)
    list_editable = ("behaviour", "power_kw")
    list_select_related = ("evse__location",)
    search_fields = ("evse__uid", "evse__evse_id", "evse__location__location_id", "evse__location__name")
    autocomplete_fields = ("evse",)

    @admin.display(description="location", ordering="evse__location__name")
    def location(self, charger: SimulatedCharger) -> str:
        return str(charger.evse.location)
