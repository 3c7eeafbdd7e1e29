"""How the portal reaches chargers: charging backends that report events, and simulated chargers.

The portal does not speak OCPP itself. A ``ChargingBackend`` is a system that does and reports
session events to our internal REST API with its own token. A ``SimulatedCharger`` stands in for
a real charger on one EVSE (demo and tests) and behaves as configured.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from locations.models import Evse
from partners.models import hash_token


class ChargingBackend(models.Model):
    """A charging backend (an OCPP central system) allowed to report charger events to us."""

    name = models.CharField(max_length=100, unique=True)
    # Only the SHA-256 of the token is kept, as for OCPI tokens (partners.models.hash_token).
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    evses = models.ManyToManyField(
        Evse,
        through="ServedEvse",
        related_name="charging_backends",
        blank=True,
        help_text="The EVSEs whose chargers this backend speaks to: it may report only on their sessions.",
    )

    class Meta:
        ordering = ("name",)
        permissions = (
            # Above "change": a new token lets its holder report charger events as this backend.
            ("manage_backend_credentials", "Can issue charging backend tokens"),
        )

    def __str__(self) -> str:
        return self.name

    def set_token(self, token: str) -> None:
        self.token_hash = hash_token(token)


class ServedEvse(models.Model):
    """An EVSE a charging backend serves. A charger talks to one central system: one backend per EVSE."""

    backend = models.ForeignKey(ChargingBackend, on_delete=models.CASCADE, related_name="served_evses")
    evse = models.OneToOneField(Evse, on_delete=models.CASCADE, related_name="served_by")

    class Meta:
        verbose_name = "served EVSE"
        verbose_name_plural = "served EVSEs"
        ordering = ("backend", "evse")

    def __str__(self) -> str:
        return f"{self.backend}: {self.evse}"


class SimulatedCharger(models.Model):
    """The behaviour of the simulated charger on one EVSE."""

    class Behaviour(models.TextChoices):
        ACCEPT = "ACCEPT", "Accepts and charges"
        REJECT = "REJECT", "Rejects the start"
        TIMEOUT = "TIMEOUT", "Never answers the start (times out)"
        NO_VEHICLE = "NO_VEHICLE", "Accepts, but no vehicle is plugged in"

    evse = models.OneToOneField(Evse, on_delete=models.CASCADE, related_name="simulated_charger")
    behaviour = models.CharField(max_length=10, choices=Behaviour.choices, default=Behaviour.ACCEPT)
    power_kw = models.DecimalField(
        "power (kW)",
        max_digits=8,
        decimal_places=3,
        default=Decimal("11.000"),
        validators=[MinValueValidator(Decimal(0))],
        help_text="The power at which the simulated vehicle charges.",
    )
    voltage_v = models.PositiveIntegerField(
        "voltage (V)", default=400, help_text="Used to report the current (A) that goes with the power."
    )

    class Meta:
        verbose_name = "simulated charger"
        ordering = ("evse",)

    def __str__(self) -> str:
        return f"{self.evse}: {self.get_behaviour_display()}"
