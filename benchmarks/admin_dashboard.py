"""The admin index with its dashboard on PostgreSQL: page time and queries with 100,000 sessions.

Seeds (once; kept between runs) ``--sessions`` sessions spread over the last 90 days with a CDR
each in two currencies, 200 EVSEs, 5,000 commands, 2,000 captures (one in twenty unmatched) and
an outbox of 20,000 delivered, 300 pending and 20 dead messages over three partners; then loads
/admin/ as a superuser ``--runs`` times and prints the median and p95 page time and the queries.

    .venv/bin/python benchmarks/admin_dashboard.py [--sessions 100000] [--runs 30]

Target: the page in under 200 ms (median) with 100,000 sessions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from benchmarks.postgres import ensure_database  # noqa: E402 (needs the repository on the path)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpo_portal.settings_test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cpo_dashboard_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")  # the test client's host

PREFIX = "DASH"
BATCH = 5_000
TOKEN_PARTY = {"token_country_code": "NL", "token_party_id": "PTR"}


def seed(total: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from locations.models import Evse, EvseStatus
    from payments.models import FinancialAdviceConfirmation
    from pushes.models import OutboxMessage, PartnerCopy
    from sessions.models import (
        Cdr,
        ChargingSession,
        CommandResponseType,
        CommandResultType,
        CommandType,
        ReceivedCommand,
    )
    from tests.factories import ChargingSessionFactory, EvseFactory, PartnerFactory

    have = ChargingSession.objects.filter(session_id__startswith=PREFIX).count()
    if have >= total:
        print(f"seed: {have} sessions already there")
        return
    started = time.perf_counter()
    partners = [PartnerFactory(name=f"Dashboard PTP {n}") for n in range(3)]
    template = ChargingSessionFactory(partner=partners[0])
    evses = [EvseFactory(location=template.location) for _ in range(199)]
    statuses = [EvseStatus.AVAILABLE, EvseStatus.CHARGING, EvseStatus.OUTOFORDER, EvseStatus.INOPERATIVE]
    for index, evse in enumerate(evses):
        evse.status = statuses[index % 7 % len(statuses)]
    Evse.objects.bulk_update(evses, ["status"])
    now = datetime.now(tz=UTC)
    cdr_location = {"id": template.location.location_id, "address": "Stationsplein 1", "city": "Utrecht",
                    "country": "NLD", "coordinates": {"latitude": "52.089319", "longitude": "5.110170"},
                    "evse_uid": template.evse.uid, "evse_id": template.evse.evse_id, "connector_id": "1",
                    "connector_standard": "IEC_62196_T2_COMBO", "connector_format": "CABLE",
                    "connector_power_type": "DC"}  # fmt: skip
    for first in range(have, total, BATCH):
        sessions = []
        for number in range(first, min(first + BATCH, total)):
            start = now - timedelta(minutes=number * 90 * 24 * 60 // total + 30)
            sessions.append(
                ChargingSession(
                    party=template.party, location=template.location, evse=template.evse,
                    connector=template.connector, partner=partners[number % 3],
                    session_id=f"{PREFIX}{number:08d}",
                    start_date_time=start, end_date_time=start + timedelta(minutes=25),
                    kwh=Decimal(number % 40) + Decimal("0.5"), **TOKEN_PARTY,
                    token_uid=f"ADHOC{number:08d}", token_type=template.token_type,
                    token_contract_id=f"ADHOC{number:08d}", auth_method=template.auth_method,
                    authorization_reference=f"{PREFIX}{number:08d}", currency="EUR" if number % 5 else "GBP",
                    status="COMPLETED",
                )
            )  # fmt: skip
        ChargingSession.objects.bulk_create(sessions)
        Cdr.objects.bulk_create(
            Cdr(
                party=session.party, partner=session.partner, session=session, cdr_id=session.session_id,
                start_date_time=session.start_date_time, end_date_time=session.end_date_time,
                **TOKEN_PARTY, token_uid=session.token_uid,
                token_type=session.token_type, token_contract_id=session.token_contract_id,
                auth_method=session.auth_method, authorization_reference=session.authorization_reference,
                currency=session.currency, cdr_location=cdr_location, charging_periods=[],
                total_cost_excl_vat=session.kwh * Decimal("0.45"),
                total_cost_incl_vat=session.kwh * Decimal("0.5445"),
                total_energy=session.kwh, total_time=Decimal("0.416667"),
            )
            for session in sessions
        )  # fmt: skip
    ReceivedCommand.objects.bulk_create(
        ReceivedCommand(
            partner=partners[n % 3], command=CommandType.START_SESSION, version="2.2.1",
            idempotency_key=f"{PREFIX}{n}", request_body={}, response_url="https://ptp.example.com/cb",
            response_result=CommandResponseType.ACCEPTED if n % 20 else CommandResponseType.REJECTED,
            response_timeout=30, result=CommandResultType.ACCEPTED if n % 20 else "",
            created_at=now - timedelta(minutes=n * 25),
        )
        for n in range(5_000)
    )  # fmt: skip
    FinancialAdviceConfirmation.objects.bulk_create(
        FinancialAdviceConfirmation(
            partner=partners[0], fac_id=f"{PREFIX}{n}", authorization_reference=f"{PREFIX}{n:08d}",
            total_costs_excl_vat=Decimal("4.50"), total_costs_incl_vat=Decimal("5.45"), currency="EUR",
            eft_data=["VISA ****1234"], capture_status_code="SUCCESS",
            session_id=None if n % 20 == 0 else template.pk,
        )
        for n in range(2_000)
    )  # fmt: skip
    copy = PartnerCopy.objects.create(partner=partners[0], object_type="location", object_id=PREFIX)
    states = [("DELIVERED", 20_000), ("PENDING", 300), ("DEAD", 20)]
    for state, count in states:
        OutboxMessage.objects.bulk_create(
            OutboxMessage(
                copy=copy, partner=partners[n % 3], module="locations", kind="STATE", action="UPSERT",
                state=state, changed_at=now, next_attempt_at=now,
            )
            for n in range(count)
        )  # fmt: skip
    with connection.cursor() as cursor:
        # What autovacuum does to tables this size: statistics, and the visibility map that lets
        # the dashboard's aggregates read their indexes alone.
        cursor.execute("VACUUM ANALYZE")
    print(f"seed: {total - have} sessions with CDRs in {time.perf_counter() - started:.0f} s")


def measure(runs: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = get_user_model().objects.filter(username="dashboard-bench").first()
    user = user or get_user_model().objects.create_superuser("dashboard-bench", "b@example.com", "bench pass")
    client = Client()
    client.force_login(user)
    client.get("/admin/")  # warm: templates compiled, connection open
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/admin/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get("/admin/")
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(
        f"/admin/ with the dashboard: median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms "
        f"over {runs} loads; {len(queries)} queries"
    )
    for query in sorted(queries.captured_queries, key=lambda query: -float(query["time"]))[:5]:
        print(f"  {float(query['time']) * 1000:6.1f} ms  {query['sql'][:110]}")
    from backoffice import selectors

    figures = []
    for _ in range(runs):
        started = time.perf_counter()
        selectors.dashboard(panels=set(selectors.PANEL_PERMISSIONS))
        figures.append((time.perf_counter() - started) * 1000)
    print(f"the dashboard's figures alone (every panel): median {statistics.median(figures):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    arguments = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    seed(arguments.sessions)
    measure(arguments.runs)


if __name__ == "__main__":
    main()
