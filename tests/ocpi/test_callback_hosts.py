"""Registration calls back only hosts the partner may name: its allow-list (or the host of its versions
URL) and, unless OCPI_ALLOW_PRIVATE_ADDRESSES is on, no loopback, link-local or private address.
A refused URL is never requested; answers that are not OCPI JSON are not kept in the request log."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from ocpi_api.client import OcpiClient, OcpiHttpError, OcpiResponseError
from ocpi_api.handshake import partner_register
from ocpi_api.models import OutboundRequestLog
from partners.callback_urls import CallbackUrlRefused, callback_url_check, url_host
from partners.models import Partner
from partners.registration import HandshakeError
from partners.services import partner_issue_token_a
from pushes import pulls, selectors
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db

ROLES = [{"role": "OTHER", "country_code": "NL", "party_id": "ABC", "business_details": {"name": "X"}}]


class _Remote:
    """A loopback partner that records every path asked for; answers are set per test."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        remote = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                remote.paths.append(self.path)
                status, content_type, body = remote.answer(self.path)
                self.send_response(status)
                if self.path in remote.links:
                    self.send_header("Link", f'<{remote.links[self.path]}>; rel="next"')
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.paths: list[str] = []
        self.data: dict[str, Any] = {}
        self.raw: dict[str, tuple[int, str, bytes]] = {}
        self.links: dict[str, str] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if path in self.raw:
            return self.raw[path]
        if path not in self.data:
            return 404, "text/plain", b"not here"
        envelope = {"data": self.data[path], "status_code": 1000, "timestamp": "2024-01-01T00:00:00Z"}
        return 200, "application/json", json.dumps(envelope).encode()

    def offer(self, *, details_base: str | None = None, endpoints_base: str | None = None) -> None:
        """Versions and 2.2.1 details; details and endpoints on this host unless told otherwise."""
        details_base = details_base or self.url
        endpoints_base = endpoints_base or self.url
        self.data["/versions"] = [{"version": "2.2.1", "url": f"{details_base}/2.2.1"}]
        self.data["/2.2.1"] = {
            "version": "2.2.1",
            "endpoints": [
                {
                    "identifier": "credentials",
                    "role": "RECEIVER",
                    "url": f"{endpoints_base}/2.2.1/credentials",
                },
                {"identifier": "tokens", "role": "SENDER", "url": f"{endpoints_base}/2.2.1/tokens"},
            ],
        }


@pytest.fixture
def remote() -> Iterator[_Remote]:
    peer = _Remote()
    threading.Thread(target=peer.server.serve_forever, daemon=True).start()
    yield peer
    peer.server.shutdown()
    peer.server.server_close()


@pytest.fixture
def private_refused(settings: Any) -> None:
    settings.OCPI_ALLOW_PRIVATE_ADDRESSES = False


def _register(ocpi_client_for: Any, partner: Partner, versions_url: str) -> dict[str, Any]:
    token_a = partner_issue_token_a(partner=partner)
    credentials = {"token": "their-token", "url": versions_url, "roles": ROLES}
    response = ocpi_client_for(token=token_a).post(
        "/ocpi/2.2.1/credentials", credentials, content_type="application/json"
    )
    return response.json()


def _planned(name: str = "New eMSP", callback_hosts: str = "") -> Partner:
    return Partner.objects.create(name=name, callback_hosts=callback_hosts)


# The address check (OCPI_ALLOW_PRIVATE_ADDRESSES off, as in production)


@pytest.mark.usefixtures("private_refused")
def test_a_versions_url_on_loopback_is_refused_and_never_requested(
    ocpi_client_for: Any, remote: _Remote
) -> None:
    remote.offer()
    partner = _planned()

    body = _register(ocpi_client_for, partner, f"{remote.url}/versions")

    assert body["status_code"] == 2001
    assert "loopback" in body["status_message"]
    assert remote.paths == []
    assert not OutboundRequestLog.objects.exists()
    partner.refresh_from_db()
    assert (partner.status, partner.token_b, partner.versions_url) == (Partner.Status.PLANNED, "", "")


@pytest.mark.usefixtures("private_refused")
def test_a_host_name_that_resolves_to_loopback_is_refused(ocpi_client_for: Any, remote: _Remote) -> None:
    remote.offer()

    body = _register(ocpi_client_for, _planned(), f"http://localhost:{remote.port}/versions")

    assert body["status_code"] == 2001
    assert "localhost" in body["status_message"]
    assert remote.paths == []


@pytest.mark.usefixtures("private_refused")
@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # link-local: a cloud's metadata service
        "http://10.1.2.3/versions",
        "http://192.168.0.10:8080/versions",
        "http://100.64.0.1/versions",  # shared address space (carrier-grade NAT)
        "http://0.0.0.0:8000/versions",
        "http://[::1]:8000/versions",
        "http://[::ffff:127.0.0.1]:8000/versions",  # loopback written as IPv6
        "http://[fe80::1]/versions",
        "http://224.0.0.1/versions",  # multicast
        "http://240.0.0.1/versions",  # reserved
    ],
)
def test_private_link_local_and_reserved_addresses_are_refused(url: str) -> None:
    with pytest.raises(CallbackUrlRefused, match="address"):
        callback_url_check(url=url, allowed_hosts=[url_host(url)])


@pytest.mark.usefixtures("private_refused")
def test_a_public_address_on_the_allow_list_passes() -> None:
    callback_url_check(url="https://93.184.215.14/ocpi/versions", allowed_hosts=["93.184.215.14"])


@pytest.mark.usefixtures("private_refused")
def test_a_url_that_is_not_http_or_carries_a_password_is_refused() -> None:
    for url in ("ftp://93.184.215.14/versions", "https://user:secret@93.184.215.14/versions", "https:///x"):
        with pytest.raises(CallbackUrlRefused):
            callback_url_check(url=url, allowed_hosts=["93.184.215.14"])


@pytest.mark.usefixtures("private_refused")
def test_staff_registering_with_a_partner_on_a_private_address_make_no_request(remote: _Remote) -> None:
    remote.offer()
    partner = _planned()

    with pytest.raises(HandshakeError) as failure:
        partner_register(partner=partner, versions_url=f"{remote.url}/versions", token_a="their-token-a")

    assert failure.value.status_code == 3001
    assert remote.paths == []


# The allow-list (loopback allowed, as in the tests and the simulator)


def test_a_versions_url_outside_the_partners_allow_list_is_refused(
    ocpi_client_for: Any, remote: _Remote
) -> None:
    remote.offer()
    partner = _planned(callback_hosts="ocpi.partner.example")

    body = _register(ocpi_client_for, partner, f"{remote.url}/versions")

    assert body["status_code"] == 2001
    assert "127.0.0.1" in body["status_message"]
    assert remote.paths == []


def test_without_an_allow_list_the_details_must_be_on_the_host_of_the_versions_url(
    ocpi_client_for: Any, remote: _Remote
) -> None:
    remote.offer(details_base=f"http://localhost:{remote.port}")
    partner = _planned()

    body = _register(ocpi_client_for, partner, f"{remote.url}/versions")

    assert body["status_code"] == 3001
    assert "localhost" in body["status_message"]
    assert remote.paths == ["/versions"]  # the details were never asked for
    partner.refresh_from_db()
    assert partner.status == Partner.Status.PLANNED


def test_an_endpoint_outside_the_allowed_hosts_refuses_the_registration(
    ocpi_client_for: Any, remote: _Remote
) -> None:
    remote.offer(endpoints_base="http://intranet.invalid:8080")
    partner = _planned()

    body = _register(ocpi_client_for, partner, f"{remote.url}/versions")

    assert body["status_code"] == 3001
    assert "intranet.invalid" in body["status_message"]
    partner.refresh_from_db()
    assert partner.status == Partner.Status.PLANNED
    assert not partner.endpoints.exists()


def test_hosts_on_the_allow_list_may_all_be_used(ocpi_client_for: Any, remote: _Remote) -> None:
    remote.offer(details_base=f"http://localhost:{remote.port}")
    partner = _planned(callback_hosts="127.0.0.1, localhost")

    body = _register(ocpi_client_for, partner, f"{remote.url}/versions")

    assert body["status_code"] == 1000
    assert remote.paths == ["/versions", "/2.2.1"]
    partner.refresh_from_db()
    assert partner.status == Partner.Status.REGISTERED


def test_a_wildcard_allows_the_subdomains_of_a_domain_only() -> None:
    allowed = ["*.partner.example"]
    callback_url_check(url="https://ocpi.partner.example/versions", allowed_hosts=allowed, resolve=False)
    for url in ("https://partner.example/versions", "https://evilpartner.example/versions"):
        with pytest.raises(CallbackUrlRefused):
            callback_url_check(url=url, allowed_hosts=allowed, resolve=False)


def test_the_allow_list_is_checked_for_its_form() -> None:
    partner = Partner(name="X", callback_hosts="ocpi.partner.example, http://x.example/path")
    with pytest.raises(ValidationError, match="callback_hosts"):
        partner.full_clean()


def test_the_allow_list_is_set_when_token_a_is_issued() -> None:
    partner = _planned()

    partner_issue_token_a(partner=partner, callback_hosts=["ocpi.partner.example", "*.cdn.partner.example"])

    partner.refresh_from_db()
    assert partner.callback_host_list == ["ocpi.partner.example", "*.cdn.partner.example"]


def test_the_partner_create_command_sets_the_allow_list() -> None:
    out = StringIO()
    call_command("ocpi_partner_create", "--name", "Hub", "--callback-host", "ocpi.hub.example", stdout=out)

    assert Partner.objects.get(name="Hub").callback_host_list == ["ocpi.hub.example"]
    assert "ocpi.hub.example" in out.getvalue()


# The outbound request log keeps bodies of OCPI JSON answers only


def test_an_answer_that_is_not_json_is_logged_without_its_body(remote: _Remote) -> None:
    remote.raw["/admin/login/"] = (200, "text/html; charset=utf-8", b"<html><form>csrfmiddlewaretoken</form>")

    with pytest.raises(OcpiResponseError) as failure:
        OcpiClient(token="t").get(f"{remote.url}/admin/login/")

    log = OutboundRequestLog.objects.get(pk=failure.value.log.pk)
    assert log.http_status == 200
    assert "csrfmiddlewaretoken" not in log.response_body
    assert "text/html" in log.response_body


def test_an_error_page_is_logged_and_raised_without_its_body(remote: _Remote) -> None:
    remote.raw["/state"] = (500, "text/plain", b"secret simulator state")

    with pytest.raises(OcpiHttpError) as failure:
        OcpiClient(token="t").get(f"{remote.url}/state")

    assert "secret" not in failure.value.body
    assert "secret" not in OutboundRequestLog.objects.get().response_body


def test_a_json_content_type_with_a_body_that_does_not_parse_is_not_kept(remote: _Remote) -> None:
    remote.raw["/broken"] = (200, "application/json", b"{not json: internal notes")

    with pytest.raises(OcpiResponseError):
        OcpiClient(token="t").get(f"{remote.url}/broken")

    assert "internal notes" not in OutboundRequestLog.objects.get().response_body


def test_an_ocpi_json_answer_is_kept(remote: _Remote) -> None:
    remote.offer()

    OcpiClient(token="t").get(f"{remote.url}/versions")

    assert '"status_code": 1000' in OutboundRequestLog.objects.get().response_body


# Pulls follow a partner's next links on the host they started on only


def test_a_pull_does_not_follow_a_next_link_to_another_host(remote: _Remote) -> None:
    partner = PartnerFactory(name="PTP")
    partner.endpoints.create(module="payments", interface_role="SENDER", url=f"{remote.url}/payments")
    selectors.forget_endpoints()
    remote.data["/payments/terminals"] = []
    remote.links["/payments/terminals"] = f"http://localhost:{remote.port}/payments/terminals?offset=10"

    with pytest.raises(pulls.PullError, match="localhost"):
        pulls.pull(partner, "terminals", pulls.terminal_store)

    assert remote.paths == ["/payments/terminals"]


def test_a_pull_follows_a_next_link_on_the_same_host(remote: _Remote) -> None:
    partner = PartnerFactory(name="PTP")
    partner.endpoints.create(module="payments", interface_role="SENDER", url=f"{remote.url}/payments")
    selectors.forget_endpoints()
    remote.data["/payments/terminals"] = []
    remote.data["/payments/terminals?offset=10"] = []
    remote.links["/payments/terminals"] = f"{remote.url}/payments/terminals?offset=10"

    assert pulls.pull(partner, "terminals", pulls.terminal_store) == 0
    assert remote.paths == ["/payments/terminals", "/payments/terminals?offset=10"]
