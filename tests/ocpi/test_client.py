"""The outbound OCPI client against real HTTP peers: the PTP simulator, and a tiny loopback
server for answers the simulator never gives (a redirect, a non-OCPI body, an OCPI error code)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from ocpi_api.client import (
    OcpiClient,
    OcpiHttpError,
    OcpiResponseError,
    OcpiStatusError,
    OcpiTransportError,
)
from ocpi_api.models import OutboundRequestLog
from ptp_simulator.process import SimulatorProcess
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db

SIM_TOKEN = "pre-shared-token-for-the-client-tests"


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(tokens=[SIM_TOKEN]) as sim:
        yield sim


@pytest.fixture
def sim(simulator: SimulatorProcess) -> SimulatorProcess:
    simulator.control.clear_faults()
    return simulator


class _Peer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        answers: dict[str, tuple[int, dict[str, str], bytes]] = {
            "/redirect": (302, {"Location": "http://127.0.0.1:9/elsewhere"}, b""),
            "/html": (200, {"Content-Type": "text/html"}, b"<html>maintenance</html>"),
            "/ocpi-error": (
                200,
                {"Content-Type": "application/json"},
                json.dumps(
                    {"status_code": 2001, "status_message": "Missing field", "timestamp": "x"}
                ).encode(),
            ),
        }
        status, headers, body = answers.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def peer() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Peer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_call_presents_token_b_request_ids_and_routing_headers_and_is_logged(sim):
    partner = PartnerFactory(token_b=SIM_TOKEN)
    client = OcpiClient.for_partner(partner)
    answer = client.get(
        sim.versions_url, correlation_id="corr-1", from_party=("NL", "CPO"), to_party=("NL", "PTR")
    )
    assert answer.status_code == 1000
    assert {version["version"] for version in answer.data} == {"2.2.1", "2.3.0"}
    sent = sim.control.requests()[-1]["headers"]
    assert sent["Authorization"] == "Token cHJlLXNoYXJlZC10b2tlbi1mb3ItdGhlLWNsaWVudC10ZXN0cw=="
    assert sent["X-Correlation-ID"] == "corr-1"
    assert sent["OCPI-from-party-id"] == "CPO"
    assert sent["OCPI-to-party-id"] == "PTR"
    log = OutboundRequestLog.objects.get(pk=answer.log.pk)
    assert (log.partner, log.method, log.http_status, log.ocpi_status) == (partner, "GET", 200, 1000)
    assert log.request_id == sent["X-Request-ID"]


def test_a_partner_marked_for_raw_tokens_gets_the_token_unencoded(sim):
    partner = PartnerFactory(token_b=SIM_TOKEN, send_raw_token=True)
    OcpiClient.for_partner(partner).get(sim.versions_url)
    assert sim.control.requests()[-1]["headers"]["Authorization"] == f"Token {SIM_TOKEN}"


def test_an_http_error_raises_with_the_status_and_is_logged(sim):
    sim.control.fault("/ocpi/versions", "http_500", count=1)
    with pytest.raises(OcpiHttpError) as failure:
        OcpiClient(token=SIM_TOKEN).get(sim.versions_url)
    assert failure.value.http_status == 500
    assert failure.value.log.http_status == 500
    assert failure.value.log.error == "HTTP 500"


def test_a_dropped_connection_raises_a_transport_error(sim):
    sim.control.fault("/ocpi/versions", "down", count=1)
    with pytest.raises(OcpiTransportError) as failure:
        OcpiClient(token=SIM_TOKEN).get(sim.versions_url)
    assert failure.value.log.http_status is None
    assert failure.value.log.error


def test_a_slow_partner_hits_the_read_timeout(sim):
    sim.control.fault("/ocpi/versions", "slow", seconds=2, count=1)
    client = OcpiClient(token=SIM_TOKEN, timeout=httpx.Timeout(0.3, connect=1.0))
    with pytest.raises(OcpiTransportError, match="Timeout"):
        client.get(sim.versions_url)


def test_a_redirect_is_not_followed(peer):
    with pytest.raises(OcpiHttpError) as failure:
        OcpiClient(token="t").get(f"{peer}/redirect")
    assert failure.value.http_status == 302


def test_a_body_that_is_not_an_envelope_raises(peer):
    with pytest.raises(OcpiResponseError):
        OcpiClient(token="t").get(f"{peer}/html")


def test_an_ocpi_error_status_raises_with_code_and_message(peer):
    with pytest.raises(OcpiStatusError) as failure:
        OcpiClient(token="t").get(f"{peer}/ocpi-error")
    assert failure.value.status_code == 2001
    assert failure.value.status_message == "Missing field"
    assert failure.value.log.ocpi_status == 2001


def test_the_next_link_of_a_page_is_parsed():
    from ocpi_api.client import OcpiAnswer

    answer = OcpiAnswer(
        http_status=200,
        status_code=1000,
        status_message="",
        data=[],
        timestamp=None,
        headers=httpx.Headers(
            {"Link": '<https://x.example/ocpi/2.2.1/locations?offset=10&limit=10>; rel="next"'}
        ),
    )
    assert answer.next_url == "https://x.example/ocpi/2.2.1/locations?offset=10&limit=10"


def test_every_call_and_sending_thread_shares_the_process_tls_context() -> None:
    """Building a TLS context loads the CA bundle (tens of ms): a worker builds one, not one per
    thread of the fast path or per call."""
    from ocpi_api.client import tls_context
    from pushes.transport import pooled_transport

    contexts: list[Any] = []

    def in_a_thread() -> None:
        contexts.append(pooled_transport()._pool._ssl_context)

    threads = [threading.Thread(target=in_a_thread) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(contexts) == 3
    assert all(context is tls_context() for context in contexts)
    assert tls_context().verify_mode.name == "CERT_REQUIRED"  # still verifying certificates
