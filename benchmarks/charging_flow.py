"""The paid charging flow through its services, on PostgreSQL: commands, meter updates, stops and CDRs.

Seeds sites (location, EVSE, connector, AD_HOC_PAYMENT tariff) in its own database, then times:

1. START_SESSION handled (validation, EVSE lock, tariff choice, session row) per second;
2. meter-value updates per second on sessions that already hold 60 readings (each update stores
   the reading and reprices the whole session with the tariff engine, as live total_cost needs);
3. stops per second, each creating its CDR (engine pricing, tariff and location snapshots).

CommandResults go to a loopback HTTP receiver started here. Seeded, so runs compare.

    .venv/bin/python benchmarks/charging_flow.py [--sessions 200]

Targets on a 2-core machine, from a load of 1,000 busy chargers reporting a meter value every 60 s
(17 updates/s) with three times headroom: >= 50 meter updates/s, >= 10 starts/s, >= 10 stops/s.
Starts include, in-process, the dispatch to the simulated charger and the CommandResult POST.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from benchmarks.postgres import ensure_database  # noqa: E402 (needs the repository on the path)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpo_portal.settings_test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cpo_flow_bench")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
os.environ.setdefault("LOG_LEVEL", "WARNING")


class Receiver(BaseHTTPRequestHandler):
    """Answers CommandResult POSTs with an OCPI success envelope."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def seed(count: int) -> tuple[Any, list[Any]]:
    from decimal import Decimal

    from django.db import connection

    from chargers.models import SimulatedCharger
    from partners.models import PartnerRole
    from tests.factories import (
        ConnectorFactory,
        EvseFactory,
        LocationFactory,
        PartnerFactory,
        PartnerRoleFactory,
        PartyFactory,
        TariffElementFactory,
        TariffFactory,
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE charging_sessions_receivedcommand, charging_sessions_meterreading, "
            "charging_sessions_cdr, charging_sessions_chargingsession, chargers_simulatedcharger, "
            "payments_financialadviceconfirmation, locations_connector_tariffs, locations_connector, "
            "locations_evse, locations_location, tariffs_tariffelement, tariffs_tariff, "
            "partners_partnerrole, partners_partner, partners_party RESTART IDENTITY CASCADE"
        )
    party = PartyFactory(party_id="CPO")
    partner = PartnerFactory(name="Payter")
    PartnerRoleFactory(partner=partner, role=PartnerRole.Role.PTP, country_code="NL", party_id="PTR")
    tariff = TariffFactory(party=party, preauthorize_amount=Decimal("500.00"))
    TariffElementFactory(tariff=tariff, energy_price=Decimal("0.45"), energy_vat=Decimal("21"))
    TariffElementFactory(tariff=tariff, energy_price=None, time_price=Decimal("1.20"), time_vat=Decimal("21"))
    connectors = []
    for _ in range(count):
        connector = ConnectorFactory(evse=EvseFactory(location=LocationFactory(party=party)))
        connector.tariffs.add(tariff)
        # The charger reports through the services below, as a backend would.
        SimulatedCharger.objects.create(evse=connector.evse, behaviour=SimulatedCharger.Behaviour.NO_VEHICLE)
        connectors.append(connector)
    return partner, connectors


def rate(label: str, count: int, seconds: float, target: float) -> None:
    per_second = count / seconds
    verdict = "ok" if per_second >= target else "BELOW TARGET"
    print(
        f"{label:<38} {count:>5} in {seconds:6.2f} s = {per_second:8.1f}/s  (target {target:g}/s, {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    args = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command

    from sessions.commands import command_receive
    from sessions.lifecycle import (
        MeterValue,
        session_charger_started,
        session_charger_stopped,
        session_meter_values,
    )
    from sessions.models import CommandType

    call_command("migrate", verbosity=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/ocpi/2.2.1/commands/START_SESSION"
    partner, connectors = seed(args.sessions)

    started = time.perf_counter()
    sessions = []
    for index, connector in enumerate(connectors):
        command = command_receive(
            partner=partner,
            command=CommandType.START_SESSION,
            body={
                "response_url": f"{base}/{index}",
                "token": {
                    "country_code": "NL",
                    "party_id": "PTR",
                    "uid": f"CARD{index:06d}",
                    "type": "AD_HOC_USER",
                    "contract_id": f"CARD{index:06d}",
                },
                "location_id": connector.evse.location.location_id,
                "evse_uid": connector.evse.uid,
                "connector_id": connector.connector_id,
                "authorization_reference": f"AUTH{index:06d}",
            },
            version="2.2.1",
        )
        sessions.append(command.session)
    rate("START_SESSION handled", len(sessions), time.perf_counter() - started, 10)

    for session in sessions:
        session_charger_started(
            session=session, timestamp=session.start_date_time, meter_start_kwh=Decimal(0)
        )
        session_meter_values(
            session=session,
            values=[
                MeterValue(session.start_date_time + timedelta(minutes=m), Decimal(m) / 5, Decimal(12))
                for m in range(1, 60)
            ],
        )

    started = time.perf_counter()
    for session in sessions:
        session_meter_values(
            session=session,
            values=[
                MeterValue(session.start_date_time + timedelta(minutes=61), Decimal("12.2"), Decimal(12))
            ],
        )
    rate("meter update (60 readings, repriced)", len(sessions), time.perf_counter() - started, 50)

    started = time.perf_counter()
    for session in sessions:
        session_charger_stopped(
            session=session,
            timestamp=session.start_date_time + timedelta(minutes=62),
            meter_stop_kwh=Decimal("12.4"),
        )
    rate("stop with CDR", len(sessions), time.perf_counter() - started, 10)
    server.shutdown()


if __name__ == "__main__":
    main()
