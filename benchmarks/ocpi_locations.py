"""Benchmark the OCPI Locations Sender list on PostgreSQL.

Seeds 10,000 locations x 3 EVSEs x 2 connectors (each connector with a tariff) into its own
database, then prints the median time of the first page and of the deepest page at limit 100,
and the time of a full crawl following Link rel="next". Requests go through the whole Django
stack (middleware, token authentication, request log, rendering) in-process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpo_ocpi_bench \\
        .venv/bin/python benchmarks/ocpi_locations.py

Targets: first page <= 100 ms, deepest page within 1.5x of the first, full crawl <= 10 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.postgres import ensure_database

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpo_portal.settings_test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cpo_ocpi_bench")

LOCATIONS = 10_000
EVSES_PER_LOCATION = 3
CONNECTORS_PER_EVSE = 2
PAGE = 100


def seed() -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from locations.models import Connector, Evse, Location
    from partners.models import Party
    from tariffs.models import Tariff, TariffElement

    Connector.tariffs.through.objects.all().delete()
    Connector.objects.all().delete()
    Evse.objects.all().delete()
    Location.objects.all().delete()
    party, _ = Party.objects.get_or_create(country_code="NL", party_id="BEN", defaults={"name": "Bench CPO"})
    tariff, _ = Tariff.objects.get_or_create(party=party, tariff_id="BENCH-AC")
    if not tariff.elements.exists():
        TariffElement.objects.create(tariff=tariff, energy_price=Decimal("0.39"), energy_vat=Decimal("21"))
    start = timezone.now() - timedelta(days=30)
    with transaction.atomic():
        locations = Location.objects.bulk_create(
            (
                Location(
                    party=party,
                    location_id=f"BENCH{index:05d}",
                    name=f"Bench location {index}",
                    address=f"Benchstraat {index}",
                    city="Utrecht",
                    postal_code="3511 AA",
                    country="NLD",
                    latitude=Decimal("52.0") + Decimal(index) / 100_000,
                    longitude=Decimal("5.0") + Decimal(index) / 100_000,
                    time_zone="Europe/Amsterdam",
                    twentyfourseven=True,
                    facilities=["CAFE"],
                    last_updated=start + timedelta(seconds=index * 60),
                )
                for index in range(LOCATIONS)
            ),
            batch_size=2000,
        )
        evses = Evse.objects.bulk_create(
            (
                Evse(
                    location=location,
                    uid=f"{location.location_id}-{number}",
                    evse_id=f"NL*BEN*E{location.pk}X{number}",
                    status="AVAILABLE",
                    capabilities=["CREDIT_CARD_PAYABLE"],
                    physical_reference=str(number),
                    last_updated=location.last_updated,
                )
                for location in locations
                for number in range(1, EVSES_PER_LOCATION + 1)
            ),
            batch_size=5000,
        )
        connectors = Connector.objects.bulk_create(
            (
                Connector(
                    evse=evse,
                    connector_id=str(number),
                    standard="IEC_62196_T2",
                    format="SOCKET",
                    power_type="AC_3_PHASE",
                    max_voltage=230,
                    max_amperage=32,
                    max_electric_power=22_000,
                    last_updated=evse.last_updated,
                )
                for evse in evses
                for number in range(1, CONNECTORS_PER_EVSE + 1)
            ),
            batch_size=5000,
        )
        Connector.tariffs.through.objects.bulk_create(
            (Connector.tariffs.through(connector_id=c.pk, tariff_id=tariff.pk) for c in connectors),
            batch_size=10000,
        )
    # Fresh planner statistics, as autovacuum would gather them on a live database.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed_get(client: object, url: str) -> tuple[float, object]:
    started = time.perf_counter()
    response = client.get(url)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: HTTP {response.status_code} {response.content[:300]!r}")
    return elapsed, response


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reseed", action="store_true", help="seed again even if the data is there")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page (median reported)")
    parser.add_argument("--version", default="2.2.1", choices=("2.2.1", "2.3.0"))
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from locations.models import Connector, Location
    from ocpi_api.transport.tokens import authorization_header
    from partners.models import Partner, hash_token

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    expected = LOCATIONS * EVSES_PER_LOCATION * CONNECTORS_PER_EVSE
    if args.reseed or Location.objects.count() != LOCATIONS or Connector.objects.count() != expected:
        started = time.perf_counter()
        seed()
        print(f"seeded {LOCATIONS} locations, {expected} connectors in {time.perf_counter() - started:.1f} s")
    token = "benchmark-token-c"  # noqa: S105 (a benchmark-only partner in the benchmark database)
    Partner.objects.update_or_create(
        name="Benchmark partner",
        defaults={"status": Partner.Status.REGISTERED, "token_c_hash": hash_token(token)},
    )
    client = Client(HTTP_AUTHORIZATION=authorization_header(token))
    base = f"/ocpi/{args.version}/locations"
    first_url = f"{base}?limit={PAGE}"
    deepest_url = f"{base}?limit={PAGE}&offset={LOCATIONS - PAGE}"
    for url in (first_url, deepest_url):  # warm up connections and caches
        timed_get(client, url)
    first = [timed_get(client, first_url)[0] for _ in range(args.runs)]
    deepest = [timed_get(client, deepest_url)[0] for _ in range(args.runs)]
    _elapsed, page = timed_get(client, deepest_url)
    assert len(page.json()["data"]) == PAGE  # type: ignore[attr-defined]

    crawl_started = time.perf_counter()
    url: str | None = first_url
    pages = objects = 0
    while url:
        _elapsed, response = timed_get(client, url)
        pages += 1
        objects += len(response.json()["data"])  # type: ignore[attr-defined]
        link = response.get("Link", "")  # type: ignore[attr-defined]
        url = link[1 : link.index(">")] if link else None
    crawl = time.perf_counter() - crawl_started

    first_ms = statistics.median(first) * 1000
    deepest_ms = statistics.median(deepest) * 1000
    shape = f"{LOCATIONS} locations x {EVSES_PER_LOCATION} EVSEs x {CONNECTORS_PER_EVSE} connectors"
    print(f"OCPI {args.version} locations, {shape}")
    print(f"first page   (limit {PAGE}): median {first_ms:7.1f} ms over {args.runs} runs   target <= 100 ms")
    ratio = deepest_ms / first_ms
    print(f"deepest page (limit {PAGE}): median {deepest_ms:7.1f} ms   ratio {ratio:.2f}   target <= 1.5")
    print(f"full crawl: {pages} pages, {objects} locations in {crawl:.2f} s   target <= 10 s")


if __name__ == "__main__":
    main()
