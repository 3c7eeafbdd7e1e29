"""Fixtures for the tariff engine tests: the spec's example tariffs and a session builder.

The engine is pure Python, so nothing here touches a database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tariffs.engine import MeterSample, Tariff, tariff_from_ocpi
from tests.spec_data import ocpi_json

# A leg of a session: (minutes, kWh delivered during it, charging?, current A, power kW).
Leg = tuple[float | int | Decimal, Decimal | str | int, bool, Decimal | None, Decimal | None]


def _build(start: datetime, legs: Sequence[Leg]) -> tuple[list[MeterSample], datetime]:
    samples: list[MeterSample] = []
    # In UTC: adding a timedelta to a ZoneInfo datetime is wall-clock arithmetic across DST.
    at, energy = start.astimezone(UTC), Decimal(0)
    for minutes, kwh, charging, current, power in legs:
        samples.append(MeterSample(at, energy, charging, power_kw=power, current_a=current))
        at += (
            timedelta(minutes=float(minutes)) if not isinstance(minutes, int) else timedelta(minutes=minutes)
        )
        energy += Decimal(kwh)
    samples.append(MeterSample(at, energy, False))
    return samples, at


@pytest.fixture
def spec_tariff() -> Callable[[str, str], Tariff]:
    """Load `tests/data/ocpi/<version>/examples/<name>.json` as an engine tariff."""

    def load(version: str, name: str) -> Tariff:
        data = ocpi_json(version, "examples", f"{name}.json")
        return tariff_from_ocpi(data, version)  # type: ignore[arg-type]

    return load


@pytest.fixture
def metered() -> Callable[..., tuple[list[MeterSample], datetime]]:
    """Build meter samples from legs, starting at a local wall time in `zone`."""

    def build(
        local_start: str, legs: Sequence[Leg], zone: str = "Europe/Amsterdam"
    ) -> tuple[list[MeterSample], datetime]:
        start = datetime.fromisoformat(local_start).replace(tzinfo=ZoneInfo(zone))
        return _build(start, legs)

    return build
