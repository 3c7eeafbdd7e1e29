"""CDR exports on PostgreSQL: rows per second and peak memory (RSS) per format and size.

Seeds ``--rows`` CDRs (200,000 by default; kept between runs) with their sessions' locations, a
capture for nine in ten and a credit with its replacement for one in a hundred, then exports the
first 20,000 and all of them, through the same service as the admin, the REST endpoint and
``manage.py export_cdrs`` (finance.exports.stream), in the reconciliation page's order. Each
export runs in a child process of its own, so its peak RSS is its own; output goes to /dev/null.
A CSV is written by PostgreSQL itself (one COPY statement, finance.export_queries): its "own CPU"
is handing the lines on, and its rows per second hold the database's work.

    .venv/bin/python benchmarks/export_cdrs.py [--rows 200000] [--sizes 20000,200000]

Targets: CSV >= 20,000 rows/s, XLSX >= 5,000 rows/s, and peak memory at 200,000 rows within 1.2x
of 20,000 rows (constant memory).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from benchmarks.postgres import ensure_database  # noqa: E402 (needs the repository on the path)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpo_portal.settings_test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cpo_finance")
os.environ.setdefault("LOG_LEVEL", "WARNING")

PREFIX = "BENCH"
FORMATS = ("csv", "xlsx", "jsonl")


def setup_django() -> None:
    import django

    django.setup()


def seed(rows: int) -> None:
    """Bulk-inserted CDRs with realistic snapshots (a CDR is append-only: bulk_create is an insert)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from payments.models import FinancialAdviceConfirmation
    from sessions.models import Cdr
    from tests.factories import ChargingSessionFactory, PartnerFactory

    have = Cdr.objects.filter(cdr_id__startswith=PREFIX).count()
    if have >= rows:
        print(f"seed: {have} CDRs already there")
        return
    started = time.perf_counter()
    from partners.models import Partner
    from sessions.models import ChargingSession

    partner = Partner.objects.filter(name="Bench PTP").first() or PartnerFactory(name="Bench PTP")
    sessions = list(
        ChargingSession.objects.filter(partner=partner).select_related("location", "evse", "party")
    )
    sessions += [ChargingSessionFactory(partner=partner) for _ in range(20 - len(sessions))]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    batch: list[Cdr] = []
    captures: list[FinancialAdviceConfirmation] = []

    def flush() -> None:
        Cdr.objects.bulk_create(batch)
        FinancialAdviceConfirmation.objects.bulk_create(captures)
        batch.clear()
        captures.clear()

    number = have
    while number < rows:
        session = sessions[number % len(sessions)]
        end = base + timedelta(minutes=number)
        reference = f"{PREFIX}-AUTH-{number:07d}"
        incl = Decimal(10 + number % 40) + Decimal(number % 100) / 100
        excl = (incl / Decimal("1.21")).quantize(Decimal("0.01"))
        common = {
            "party": session.party,
            "partner": partner,
            "session": session,
            "start_date_time": end - timedelta(hours=1),
            "end_date_time": end,
            "token_country_code": "NL",
            "token_party_id": "PTR",
            "token_uid": f"04A1B2C3{number:08X}",
            "token_type": "AD_HOC_USER",
            "token_contract_id": f"NL-PTR-{number:09d}",
            "auth_method": "COMMAND",
            "authorization_reference": reference,
            "currency": "EUR" if number % 10 else "GBP",
            "cdr_location": {
                "id": session.location.location_id,
                "name": "Bench site",
                "address": "Stationsplein 1",
                "city": "Utrecht",
                "postal_code": "3511 ED",
                "country": "NLD",
                "coordinates": {"latitude": "52.089319", "longitude": "5.110170"},
                "evse_uid": session.evse.uid,
                "evse_id": session.evse.evse_id,
                "connector_id": "1",
                "connector_standard": "IEC_62196_T2",
                "connector_format": "SOCKET",
                "connector_power_type": "AC_3_PHASE",
            },
            "tariffs": [{"id": "AC-STANDARD", "currency": "EUR", "elements": []}],
            "charging_periods": [
                {
                    "start_date_time": (end - timedelta(hours=1)).isoformat(),
                    "dimensions": [{"type": "ENERGY", "volume": "12.5"}, {"type": "TIME", "volume": "1.0"}],
                    "tariff_id": "AC-STANDARD",
                }
            ],
            "total_energy": Decimal("12.5000"),
            "total_time": Decimal("1.000000"),
            "total_parking_time": Decimal("0.000000"),
            "invoice_reference_id": f"INV-{number:08d}",
        }
        amounts = {
            "total_cost_excl_vat": excl,
            "total_cost_incl_vat": incl,
            "total_cost_taxes": [{"name": "VAT", "percentage": "21", "amount": str(incl - excl)}],
            "total_energy_cost_excl_vat": excl,
            "total_energy_cost_incl_vat": incl,
        }
        batch.append(Cdr(cdr_id=f"{PREFIX}{number:08d}", **common, **amounts))
        if number % 10:
            captures.append(
                FinancialAdviceConfirmation(
                    partner=partner,
                    fac_id=f"{PREFIX}-FAC-{number:07d}",
                    authorization_reference=reference,
                    total_costs_incl_vat=incl,
                    currency=common["currency"],
                    eft_data=["VISA ****1234", f"AUTH {number:06d}"],
                    capture_status_code="SUCCESS",
                )
            )
        number += 1
        if number % 100 == 0 and number < rows:
            # One in a hundred corrected: a credit and a replacement, as cdr_credit_and_correct writes.
            credit = {key: -value for key, value in amounts.items() if isinstance(value, Decimal)}
            credit["total_cost_taxes"] = [{"name": "VAT", "percentage": "21", "amount": str(excl - incl)}]
            batch.append(
                Cdr(cdr_id=f"{PREFIX}{number - 1:08d}-C1", credit=True,
                    credit_reference_id=f"{PREFIX}{number - 1:08d}", **common, **credit)
            )  # fmt: skip
            batch.append(Cdr(cdr_id=f"{PREFIX}{number - 1:08d}-R1", **common, **amounts))
            number += 2
        if len(batch) >= 5000:
            flush()
    flush()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would give a table this size
    total = Cdr.objects.filter(cdr_id__startswith=PREFIX).count()
    print(f"seed: {total} CDRs in {time.perf_counter() - started:.0f} s")


def measure(export_format: str, size: int) -> None:
    """Child process: export the first ``size`` CDRs and print rows, seconds and peak RSS (MB)."""
    import shutil

    from finance.exports import stream
    from sessions.models import Cdr

    bench = Cdr.objects.filter(cdr_id__startswith=PREFIX)
    last = bench.order_by("pk").values_list("pk", flat=True)[size - 1]
    queryset = bench.filter(pk__lte=last)
    started, cpu_started = time.perf_counter(), time.process_time()
    body, _ = stream(export_format=export_format, queryset=queryset, unmask=False)
    with open(os.devnull, "wb") as sink:
        if hasattr(body, "read"):
            shutil.copyfileobj(body, sink)  # type: ignore[arg-type]
            body.close()  # type: ignore[union-attr]
        else:
            for chunk in body:  # type: ignore[union-attr]
                sink.write(chunk)
    seconds = time.perf_counter() - started
    # The export's own CPU per row: steadier than rows/s on a shared machine (PostgreSQL's is not in it).
    cpu_us = (time.process_time() - cpu_started) * 1e6 / size
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"format": export_format, "rows": size, "seconds": seconds, "peak_mb": peak_mb,
                      "cpu_us": cpu_us}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000, help="CDRs to seed (kept between runs).")
    parser.add_argument("--sizes", default="20000,200000", help="Export sizes, comma separated.")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--measure", nargs=2, metavar=("FORMAT", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        setup_django()
        measure(args.measure[0], int(args.measure[1]))
        return
    ensure_database()
    setup_django()
    seed(args.rows)
    sizes = [min(int(size), args.rows) for size in args.sizes.split(",")]
    results = {}
    for export_format in args.formats.split(","):
        for size in sizes:
            child = subprocess.run(  # noqa: S603 (our own interpreter and script)
                [sys.executable, __file__, "--measure", export_format, str(size)],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(child.stdout.strip().splitlines()[-1])
            results[(export_format, size)] = result
            print(
                f"{export_format:5} {size:>7} rows: {size / result['seconds']:8.0f} rows/s"
                f"  ({result['seconds']:.1f} s, own CPU {result['cpu_us']:.0f} µs/row),"
                f" peak RSS {result['peak_mb']:.0f} MB",
                flush=True,
            )
    if len(sizes) == 2:
        for export_format in args.formats.split(","):
            small, large = results[(export_format, sizes[0])], results[(export_format, sizes[1])]
            print(
                f"{export_format:5} peak RSS {sizes[1]} / {sizes[0]} rows:"
                f" {large['peak_mb'] / small['peak_mb']:.2f}x"
            )


if __name__ == "__main__":
    main()
