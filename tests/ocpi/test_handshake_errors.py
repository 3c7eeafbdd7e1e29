"""Registration errors answered in the spec's codes (credentials.asciidoc, "Errors during
registration"; status_codes 3001/3002/3003), with a loopback partner that offers too little."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from partners.models import Partner
from partners.services import partner_issue_token_a

pytestmark = pytest.mark.django_db

ANSWERS: dict[str, Any] = {}


class _Partner(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        data = ANSWERS.get(self.path)
        if callable(data):
            data = data(base)
        body = json.dumps({"data": data, "status_code": 1000, "timestamp": "2024-01-01T00:00:00Z"}).encode()
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def remote() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Partner)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ANSWERS.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _register(ocpi_client_for: Any, partner: Partner, remote: str) -> dict[str, Any]:
    token_a = partner_issue_token_a(partner=partner)
    credentials = {
        "token": "their-token",
        "url": f"{remote}/versions",
        "roles": [
            {"role": "OTHER", "country_code": "NL", "party_id": "ABC", "business_details": {"name": "X"}}
        ],
    }
    response = ocpi_client_for(token=token_a).post(
        "/ocpi/2.2.1/credentials", credentials, content_type="application/json"
    )
    assert response.status_code == 200
    return response.json()


def test_a_partner_without_a_mutual_version_gets_3002(ocpi_client_for, partner, remote):
    ANSWERS["/versions"] = lambda base: [{"version": "2.1.1", "url": f"{base}/2.1.1"}]
    body = _register(ocpi_client_for, partner, remote)
    assert body["status_code"] == 3002
    assert "2.1.1" in body["status_message"]


def test_a_partner_without_a_credentials_endpoint_gets_3003(ocpi_client_for, partner, remote):
    ANSWERS["/versions"] = lambda base: [{"version": "2.2.1", "url": f"{base}/2.2.1"}]
    ANSWERS["/2.2.1"] = lambda base: {
        "version": "2.2.1",
        "endpoints": [{"identifier": "locations", "role": "RECEIVER", "url": f"{base}/2.2.1/locations"}],
    }
    body = _register(ocpi_client_for, partner, remote)
    assert body["status_code"] == 3003
    assert "credentials" in body["status_message"]


def test_a_partner_whose_details_fail_gets_3001_and_keeps_its_old_registration(
    ocpi_client_for, partner, remote
):
    ANSWERS["/versions"] = lambda base: [{"version": "2.2.1", "url": f"{base}/2.2.1"}]
    old_token_b = partner.token_b
    body = _register(ocpi_client_for, partner, remote)
    assert body["status_code"] == 3001
    partner.refresh_from_db()
    assert partner.token_b == old_token_b
    assert partner.status == Partner.Status.REGISTERED


def test_a_partner_with_what_we_need_is_registered_with_its_other_role(ocpi_client_for, partner, remote):
    ANSWERS["/versions"] = lambda base: [{"version": "2.2.1", "url": f"{base}/2.2.1"}]
    ANSWERS["/2.2.1"] = lambda base: {
        "version": "2.2.1",
        "endpoints": [{"identifier": "credentials", "role": "SENDER", "url": f"{base}/2.2.1/credentials"}],
    }
    body = _register(ocpi_client_for, partner, remote)
    assert body["status_code"] == 1000
    partner.refresh_from_db()
    assert partner.token_b == "their-token"
    assert [(role.role, role.party_id) for role in partner.roles.all()] == [("OTHER", "ABC")]


def test_a_registration_whose_token_was_replaced_meanwhile_stores_nothing(partner, remote):
    from ocpi_api.handshake import credentials_register_inbound
    from partners.services import CredentialsReplaced

    ANSWERS["/versions"] = lambda base: [{"version": "2.2.1", "url": f"{base}/2.2.1"}]
    ANSWERS["/2.2.1"] = lambda base: {
        "version": "2.2.1",
        "endpoints": [{"identifier": "credentials", "role": "SENDER", "url": f"{base}/2.2.1/credentials"}],
    }
    first_a = partner_issue_token_a(partner=partner)
    partner_issue_token_a(partner=partner)  # a second registration took over meanwhile
    old_token_b = partner.token_b
    body = {
        "token": "late-token",
        "url": f"{remote}/versions",
        "roles": [
            {"role": "PTP", "country_code": "NL", "party_id": "PTR", "business_details": {"name": "P"}}
        ],
    }
    with pytest.raises(CredentialsReplaced):
        credentials_register_inbound(partner=partner, body=body, version="2.2.1", presented_token=first_a)
    partner.refresh_from_db()
    assert partner.token_b == old_token_b
