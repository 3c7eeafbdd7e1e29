"""Sessions priced per second by the tariff engine, on one core: cold (the headline) and steady.

Cold, as real traffic is: every session brings its own tariff, freshly parsed from OCPI JSON
(200 tariffs, 3 elements with time-of-day restrictions), the engine's caches are cleared before
every batch, and the sessions are spread over a year in Europe/Amsterdam, DST days included,
so no compiled tariff and no day's windows are reused. Steady: the benchmark's old case, one
tariff object and sessions on the same two days, so that its windows stay cached.
Each session has about 10 charging periods (charging and paused in turn). Seeded, so runs compare.
Run: python benchmarks/tariff_engine.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tariffs.engine import MeterSample, Tariff, price_session, pricing, tariff_from_ocpi

TARGET = 5_000
ZONE = "Europe/Amsterdam"


def ocpi_tariff(rng: random.Random, number: int) -> dict[str, Any]:
    """Day, evening and night prices as OCPI 2.2.1 JSON: three elements by local time of day."""

    def price(low: int, high: int) -> str:
        return str(Decimal(rng.randrange(low, high)).scaleb(-4))

    return {
        "country_code": "NL",
        "party_id": "CPO",
        "id": f"bench-{number}",
        "currency": "EUR",
        "elements": [
            {
                "price_components": [
                    {"type": "FLAT", "price": price(2000, 8000), "vat": 21, "step_size": 1},
                    {"type": "ENERGY", "price": price(2500, 4500), "vat": 21, "step_size": 1},
                    {"type": "PARKING_TIME", "price": price(20000, 90000), "vat": 21, "step_size": 300},
                ],
                "restrictions": {"start_time": "07:00", "end_time": "17:00"},
            },
            {
                "price_components": [
                    {"type": "ENERGY", "price": price(3500, 5500), "vat": 21, "step_size": 1},
                    {"type": "TIME", "price": price(5000, 15000), "vat": 21, "step_size": 60},
                    {"type": "PARKING_TIME", "price": price(50000, 120000), "vat": 21, "step_size": 300},
                ],
                "restrictions": {"start_time": "17:00", "end_time": "23:00"},
            },
            {
                "price_components": [
                    {"type": "ENERGY", "price": price(2000, 3000), "vat": 21, "step_size": 1},
                    {"type": "PARKING_TIME", "price": "0", "vat": 21, "step_size": 1},
                ],
                "restrictions": {"start_time": "23:00", "end_time": "07:00"},
            },
        ],
        "last_updated": "2026-01-01T00:00:00Z",
    }


def session(rng: random.Random, start: datetime) -> list[MeterSample]:
    """Ten meter intervals from `start`, alternately charging and paused (smart charging)."""
    samples, energy, at = [], Decimal(0), start
    for index in range(11):
        charging = index % 2 == 0
        power = Decimal(rng.randrange(30, 220)) / 10 if charging else Decimal(0)
        samples.append(MeterSample(at, energy, charging, power_kw=power))
        minutes = rng.randrange(10, 40)
        energy += (power * minutes / 60).quantize(Decimal("0.001"))
        at += timedelta(minutes=minutes)
    return samples


def clear_caches() -> None:
    """Forget every compiled tariff, day window and zone offset the engine has cached."""
    pricing.clear_caches()


def measure(batch: Callable[[], int], seconds: float) -> tuple[float, float, int]:
    """Best and median sessions/s over repeated batches, and how many sessions were priced."""
    rates: list[float] = []
    priced, began = 0, time.process_time()
    while time.process_time() - began < seconds or len(rates) < 3:
        batch_start = time.process_time()
        count = batch()
        rates.append(count / (time.process_time() - batch_start))
        priced += count
    return max(rates), statistics.median(rates), priced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to measure each case")
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    # Cold: 2,000 sessions over 2026 (its DST days on 29 March and 25 October included), each
    # with a tariff object of its own parsed from one of 200 OCPI JSON tariffs.
    documents = [ocpi_tariff(rng, number) for number in range(200)]
    year = datetime(2026, 1, 1, tzinfo=UTC)
    starts = [year + timedelta(minutes=rng.randrange(365 * 24 * 60)) for _ in range(1_990)]
    starts += [datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)] * 5
    cold = [(rng.randrange(len(documents)), session(rng, start)) for start in starts]

    def cold_batch() -> int:
        tariffs = [tariff_from_ocpi(documents[number], "2.2.1") for number, _ in cold]
        clear_caches()
        began = time.process_time()
        for the_tariff, (_, samples) in zip(tariffs, cold, strict=True):
            price_session(the_tariff, samples, time_zone=ZONE)
        # Only the pricing is timed; parsing is timed apart below.
        cold_batch.elapsed = time.process_time() - began  # type: ignore[attr-defined]
        return len(cold)

    def cold_rate() -> tuple[float, float, int]:
        rates: list[float] = []
        priced, began = 0, time.process_time()
        while time.process_time() - began < args.seconds or len(rates) < 3:
            priced += cold_batch()
            rates.append(len(cold) / cold_batch.elapsed)  # type: ignore[attr-defined]
        return max(rates), statistics.median(rates), priced

    def parse_batch() -> int:
        for number, _ in cold:
            tariff_from_ocpi(documents[number], "2.2.1")
        return len(cold)

    # Steady: one tariff object, 200 sessions on the same two days.
    steady_tariff: Tariff = tariff_from_ocpi(documents[0], "2.2.1")
    first = datetime(2024, 3, 4, 14, tzinfo=UTC)
    steady = [session(rng, first + timedelta(minutes=rng.randrange(8 * 60))) for _ in range(200)]

    def steady_batch() -> int:
        for samples in steady:
            price_session(steady_tariff, samples, time_zone=ZONE)
        return len(steady)

    periods = sum(len(price_session(steady_tariff, s, time_zone=ZONE).charging_periods) for s in steady)
    cold_best, cold_median, cold_priced = cold_rate()
    parse_best, parse_median, _ = measure(parse_batch, args.seconds / 3)
    steady_best, steady_median, steady_priced = measure(steady_batch, args.seconds)
    print(f"average charging periods per session: {periods / len(steady):.1f}, 3 elements")
    print(
        f"cold (headline): {cold_priced} sessions over a year across DST, a fresh tariff each, caches cleared"
    )
    print(
        f"  sessions per second (one core): best {cold_best:,.0f}, median {cold_median:,.0f}"
        f"  (target >= {TARGET:,})"
    )
    print(f"  microseconds per session: best {1e6 / cold_best:.1f}, median {1e6 / cold_median:.1f}")
    print(
        f"  parsing the tariff from OCPI JSON besides: best {parse_best:,.0f}/s, median {parse_median:,.0f}/s"
        f" ({1e6 / parse_best:.1f} µs each)"
    )
    print(f"steady state: {steady_priced} sessions on two days, one tariff, caches warm")
    print(f"  sessions per second (one core): best {steady_best:,.0f}, median {steady_median:,.0f}")
    print(f"  microseconds per session: best {1e6 / steady_best:.1f}, median {1e6 / steady_median:.1f}")
    print("target met" if cold_best >= TARGET else "TARGET NOT MET")


if __name__ == "__main__":
    main()
