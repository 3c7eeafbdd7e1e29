"""Sessions priced per second by the tariff engine, on one core.

A 10-period session (start fee, energy, charging time, paused time) on a 3-element tariff
whose elements have time-of-day restrictions, in Europe/Amsterdam. Seeded, so runs compare.
Run: python benchmarks/tariff_engine.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tariffs.engine import (
    Dimension,
    MeterSample,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffElement,
    price_session,
)

TARGET = 5_000


def tariff() -> Tariff:
    """Day, evening and night prices: three elements restricted by local time of day."""
    return Tariff(
        id="bench",
        currency="EUR",
        elements=(
            TariffElement(
                (
                    PriceComponent(Dimension.FLAT, Decimal("0.50"), 1, Decimal(21)),
                    PriceComponent(Dimension.ENERGY, Decimal("0.39"), 1, Decimal(21)),
                    PriceComponent(Dimension.PARKING_TIME, Decimal("6.00"), 300, Decimal(21)),
                ),
                Restrictions(
                    start_time=datetime.min.time().replace(hour=7),
                    end_time=datetime.min.time().replace(hour=17),
                ),
            ),
            TariffElement(
                (
                    PriceComponent(Dimension.ENERGY, Decimal("0.45"), 1, Decimal(21)),
                    PriceComponent(Dimension.TIME, Decimal("1.20"), 60, Decimal(21)),
                    PriceComponent(Dimension.PARKING_TIME, Decimal("9.00"), 300, Decimal(21)),
                ),
                Restrictions(
                    start_time=datetime.min.time().replace(hour=17),
                    end_time=datetime.min.time().replace(hour=23),
                ),
            ),
            TariffElement(
                (
                    PriceComponent(Dimension.ENERGY, Decimal("0.29"), 1, Decimal(21)),
                    PriceComponent(Dimension.PARKING_TIME, Decimal("0"), 1, Decimal(21)),
                ),
                Restrictions(
                    start_time=datetime.min.time().replace(hour=23),
                    end_time=datetime.min.time().replace(hour=7),
                ),
            ),
        ),
    )


def session(rng: random.Random) -> list[MeterSample]:
    """Ten meter intervals from between 14:00 and 22:00 UTC, alternately charging and paused.

    The pauses (smart charging) make every interval its own charging period.
    """
    start = datetime(2024, 3, 4, 14, tzinfo=UTC) + timedelta(minutes=rng.randrange(8 * 60))
    samples, energy, at = [], Decimal(0), start
    for index in range(11):
        charging = index % 2 == 0
        power = Decimal(rng.randrange(30, 220)) / 10 if charging else Decimal(0)
        samples.append(MeterSample(at, energy, charging, power_kw=power))
        minutes = rng.randrange(10, 40)
        energy += (power * minutes / 60).quantize(Decimal("0.001"))
        at += timedelta(minutes=minutes)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to measure")
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    the_tariff = tariff()
    sessions = [session(rng) for _ in range(200)]
    periods = sum(
        len(price_session(the_tariff, s, time_zone="Europe/Amsterdam").charging_periods) for s in sessions
    )
    # Best and median of many short batches: the best batch is the engine's speed on an idle
    # core, the median shows how much a busy machine took away.
    batch_rates: list[float] = []
    priced, began = 0, time.perf_counter()
    while time.perf_counter() - began < args.seconds:
        batch_start = time.perf_counter()
        for samples in sessions:
            price_session(the_tariff, samples, time_zone="Europe/Amsterdam")
        batch_rates.append(len(sessions) / (time.perf_counter() - batch_start))
        priced += len(sessions)
    best, median = max(batch_rates), statistics.median(batch_rates)
    print(f"sessions priced: {priced} in {len(batch_rates)} batches of {len(sessions)}")
    print(f"average charging periods per session: {periods / len(sessions):.1f}")
    print(f"sessions per second (one core): best {best:,.0f}, median {median:,.0f}  (target >= {TARGET:,})")
    print(f"microseconds per session: best {1e6 / best:.1f}, median {1e6 / median:.1f}")
    print("target met" if best >= TARGET else "TARGET NOT MET")


if __name__ == "__main__":
    main()
