"""Fixtures of the paid charging flow: a Payter-like partner, a location with a card tariff, and a
real HTTP peer on loopback that records the CommandResults we POST to its response_url."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from chargers.models import SimulatedCharger
from locations.models import Connector, Evse
from ocpi_api.transport.tokens import authorization_header
from partners.models import Partner, PartnerRole, Party
from tariffs.models import Tariff
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


@dataclass
class ResultReceiver:
    """A loopback HTTP endpoint that answers like an OCPI commands Sender interface."""

    base_url: str = ""
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # HTTP statuses to answer before answering 200 (for retry tests).
    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, command: str, command_id: str) -> str:
        return f"{self.base_url}/ocpi/2.2.1/commands/{command}/{command_id}"

    def bodies(self, command_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for path, body in self.received if path.endswith("/" + command_id)]


@pytest.fixture
def result_receiver() -> Iterator[ResultReceiver]:
    receiver = ResultReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with receiver.lock:
                failure = receiver.failures.pop(0) if receiver.failures else None
                if failure is None:
                    receiver.received.append((self.path, body))
            status = failure or 200
            answer = json.dumps(
                {"status_code": 1000 if status == 200 else 3000, "timestamp": "2026-01-01T00:00:00Z"}
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Site:
    party: Party
    partner: Partner
    tariff: Tariff
    evse: Evse
    connector: Connector

    @property
    def location_id(self) -> str:
        return self.evse.location.location_id


def make_site(
    *,
    partner: Partner | None = None,
    party: Party | None = None,
    energy_price: Decimal = Decimal("0.4000"),
    preauthorize_amount: Decimal | None = Decimal("25.00"),
) -> Site:
    """A location with one EVSE, one connector and an AD_HOC_PAYMENT tariff (energy, 21 % VAT)."""
    party = party or PartyFactory(party_id="CPO")
    partner = partner or PartnerFactory(name="Payter")
    if not partner.roles.exists():
        PartnerRoleFactory(partner=partner, role=PartnerRole.Role.PTP, country_code="NL", party_id="PTR")
    location = LocationFactory(party=party)
    evse = EvseFactory(location=location)
    connector = ConnectorFactory(evse=evse)
    tariff = TariffFactory(party=party, preauthorize_amount=preauthorize_amount)
    TariffElementFactory(tariff=tariff, energy_price=energy_price, energy_vat=Decimal("21.00"))
    connector.tariffs.add(tariff)
    return Site(party=party, partner=partner, tariff=tariff, evse=evse, connector=connector)


@pytest.fixture
def site(db: None) -> Site:
    return make_site()


def ad_hoc_token(uid: str = "PTR-CARD-0001") -> dict[str, Any]:
    return {
        "country_code": "NL",
        "party_id": "PTR",
        "uid": uid,
        "type": "AD_HOC_USER",
        "contract_id": uid,
        "issuer": "Payter",
        "valid": True,
        "whitelist": "NEVER",
        "last_updated": "2026-01-01T00:00:00Z",
    }


def start_body(site: Site, response_url: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "response_url": response_url,
        "token": ad_hoc_token(),
        "location_id": site.location_id,
        "evse_uid": site.evse.uid,
        "connector_id": site.connector.connector_id,
        "authorization_reference": "PAYTER-AUTH-0001",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def simulate(evse: Evse, behaviour: str, power_kw: Decimal = Decimal("11.000")) -> SimulatedCharger:
    return SimulatedCharger.objects.create(evse=evse, behaviour=behaviour, power_kw=power_kw)


def ocpi_client(partner: Partner | None = None, *, token: str | None = None) -> Client:
    """A Django test client presenting the partner's token C (or ``token``) the OCPI way."""
    presented = token if token is not None else (partner.plain_token_c if partner else None)  # type: ignore[attr-defined]
    headers = {"HTTP_AUTHORIZATION": authorization_header(presented)} if presented else {}
    return Client(**headers)


def post_json(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def send_json(client: Client, method: str, url: str, body: Any) -> Any:
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")
