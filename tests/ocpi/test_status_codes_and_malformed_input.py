"""HTTP and OCPI status codes to the letter (status_codes.asciidoc) and input that never reaches a 500.

"If a request is syntactically valid JSON and addresses an existing resource, a HTTP error MUST NOT
be returned": valid JSON with wrong content is HTTP 200 with a 2xxx code; HTTP 400 is for a body that
is not JSON, 401 for credentials, 404 for an unknown object on GET, 413 for a body over the limit.
A PUT or POST that creates an object answers 201, one that updates it 200.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from ocpi_api.models import InboundRequestLog
from partners.models import Partner, Token
from payments.models import FinancialAdviceConfirmation, PaymentTerminal
from tests.ocpi.conftest import assert_valid_221

pytestmark = pytest.mark.django_db

TOKEN = "/ocpi/{version}/tokens/NL/PTR/{uid}"
TERMINALS = "/ocpi/2.3.0/payments/terminals"
FACS = "/ocpi/2.3.0/payments/financial-advice-confirmations"


def token_body(uid: str = "RFID0001", **changes: Any) -> dict[str, Any]:
    body = {
        "country_code": "NL",
        "party_id": "PTR",
        "uid": uid,
        "type": "RFID",
        "contract_id": "NL-PTR-C00001",
        "issuer": "Payter",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2026-01-01T00:00:00Z",
    }
    body.update(changes)
    return body


def fac_body(fac_id: str = "FAC1", **changes: Any) -> dict[str, Any]:
    body = {
        "id": fac_id,
        "authorization_reference": "AUTH-1",
        "total_costs": {
            "before_taxes": "4.13",
            "taxes": [{"name": "VAT", "percentage": 21, "amount": "0.87"}],
        },
        "currency": "EUR",
        "eft_data": ["Mastercard", "**** 1234"],
        "capture_status_code": "SUCCESS",
        "last_updated": "2026-03-01T10:00:00Z",
    }
    body.update(changes)
    return body


def send(client: Client, method: str, url: str, body: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json")


def assert_client_error(response: Any, *, http_status: int = 200, ocpi_status: int = 2001) -> str:
    """An OCPI error answer in the envelope; returns its message."""
    assert response.status_code == http_status, response.content[:300]
    body = response.json()
    assert_valid_221(body, "error")
    assert body["status_code"] == ocpi_status, body
    assert body["status_message"]
    return body["status_message"]


# --- Status codes -------------------------------------------------------------------------------


def test_a_session_list_without_date_from_is_http_200_with_2001(
    ocpi_client_for: Any, partner: Partner
) -> None:
    message = assert_client_error(ocpi_client_for(partner).get("/ocpi/2.2.1/sessions"))
    assert "date_from" in message


@pytest.mark.parametrize("body", [{}, ""])
def test_an_empty_command_body_is_http_200_with_2001(
    ocpi_client_for: Any, partner: Partner, body: Any
) -> None:
    response = send(ocpi_client_for(partner), "post", "/ocpi/2.2.1/commands/START_SESSION", body)
    assert "response_url" in assert_client_error(response)


def test_a_token_put_with_a_blank_uid_is_http_200_with_2001(ocpi_client_for: Any, partner: Partner) -> None:
    response = send(
        ocpi_client_for(partner), "put", TOKEN.format(version="2.2.1", uid="X"), token_body(uid="")
    )
    assert "uid" in assert_client_error(response)
    assert not Token.objects.exists()


def test_a_body_that_is_not_json_stays_http_400(ocpi_client_for: Any, partner: Partner) -> None:
    response = send(ocpi_client_for(partner), "put", TOKEN.format(version="2.2.1", uid="X"), "{not json")
    assert_client_error(response, http_status=400)


def test_an_unknown_object_on_get_stays_404(ocpi_client_for: Any, partner: Partner) -> None:
    response = ocpi_client_for(partner).get(TOKEN.format(version="2.2.1", uid="NOPE"))
    assert_client_error(response, http_status=404, ocpi_status=2000)


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_a_token_put_answers_201_when_it_creates_and_200_when_it_updates(
    ocpi_client_for: Any, partner: Partner, version: str
) -> None:
    client = ocpi_client_for(partner)
    url = TOKEN.format(version=version, uid="RFID0001")

    created = send(client, "put", url, token_body())
    updated = send(client, "put", url, token_body(valid=False))

    assert (created.status_code, created.json()["status_code"]) == (201, 1000)
    assert (updated.status_code, updated.json()["status_code"]) == (200, 1000)
    assert Token.objects.get().valid is False


def test_a_terminal_and_a_fac_answer_201_when_created_and_200_when_updated(
    ocpi_client_for: Any, partner: Partner
) -> None:
    client = ocpi_client_for(partner)

    statuses = [
        send(client, "post", TERMINALS, {"terminal_id": "T1"}).status_code,
        send(client, "post", TERMINALS, {"terminal_id": "T1", "city": "Utrecht"}).status_code,
        send(client, "put", TERMINALS + "/T2", {"terminal_id": "T2"}).status_code,
        send(client, "put", TERMINALS + "/T2", {"terminal_id": "T2", "city": "Delft"}).status_code,
        send(client, "post", FACS, fac_body()).status_code,
        send(client, "post", FACS, fac_body(capture_status_code="FAILED")).status_code,
    ]

    assert statuses == [201, 200, 201, 200, 201, 200]


def details_modules(client: Client, version: str) -> set[str]:
    response = client.get(f"/ocpi/{version}/details")
    assert response.status_code == 200
    return {endpoint["identifier"] for endpoint in response.json()["data"]["endpoints"]}


def test_221_version_details_list_payments_only_to_a_payment_terminal_provider(
    ocpi_client_for: Any, partner: Partner, other_partner: Partner
) -> None:
    assert "payments" in details_modules(ocpi_client_for(partner), "2.2.1")
    # 2.2.1 ModuleID is a closed enum: a plain eMSP gets only standard modules, valid against it.
    emsp = ocpi_client_for(other_partner)
    assert "payments" not in details_modules(emsp, "2.2.1")
    assert_valid_221(emsp.get("/ocpi/2.2.1/details").json(), "version_details.response")
    assert "payments" in details_modules(emsp, "2.3.0")


# --- Input that never reaches a 500 ---------------------------------------------------------------


def test_json_nested_thousands_deep_is_refused_with_2001(ocpi_client_for: Any, partner: Partner) -> None:
    deep = "[" * 5000 + "]" * 5000
    nested = '{"a":' * 3000 + "1" + "}" * 3000

    for body in (deep, nested):
        response = send(ocpi_client_for(partner), "put", TOKEN.format(version="2.2.1", uid="X"), body)
        assert "nested" in assert_client_error(response)


def test_json_nested_deeper_than_any_ocpi_object_is_refused(ocpi_client_for: Any, partner: Partner) -> None:
    # Well inside Python's recursion limit, but no OCPI object nests this deep: nothing is stored.
    total_costs = {"before_taxes": 1, "taxes": [], "x": json.loads('{"a":' * 200 + "1" + "}" * 200)}
    response = send(ocpi_client_for(partner), "post", FACS, fac_body(total_costs=total_costs))
    assert "nested" in assert_client_error(response)
    assert not FinancialAdviceConfirmation.objects.exists()


def test_a_body_over_the_limit_is_413_in_the_envelope_naming_the_limit(
    ocpi_client_for: Any, partner: Partner, settings: Any
) -> None:
    client = ocpi_client_for(partner)
    over = settings.API_MAX_BODY_BYTES + 1
    body = json.dumps(token_body(visual_number="x" * over))

    response = send(client, "put", TOKEN.format(version="2.2.1", uid="RFID0001"), body)

    message = assert_client_error(response, http_status=413, ocpi_status=2000)
    assert str(settings.API_MAX_BODY_BYTES) in message
    assert not Token.objects.exists()
    assert InboundRequestLog.objects.get().http_status == 413


def test_the_body_limit_is_a_setting(ocpi_client_for: Any, partner: Partner, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 1000
    client = ocpi_client_for(partner)

    small = send(client, "put", TOKEN.format(version="2.2.1", uid="RFID0001"), token_body())
    large = send(
        client,
        "put",
        TOKEN.format(version="2.2.1", uid="RFID0002"),
        token_body("RFID0002", issuer="x" * 1000),
    )

    assert small.status_code == 201
    assert "1000 bytes" in assert_client_error(large, http_status=413, ocpi_status=2000)


def test_a_lone_surrogate_in_a_string_is_refused_with_2001(ocpi_client_for: Any, partner: Partner) -> None:
    # json.dumps writes the lone surrogate as the escape \ud800: valid JSON, not encodable text.
    body = json.dumps(token_body(type="\ud800"))

    response = send(ocpi_client_for(partner), "put", TOKEN.format(version="2.2.1", uid="RFID0001"), body)

    assert_client_error(response)
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("post", TERMINALS, {"terminal_id": "Térmïnal"}, "terminal_id"),
        ("put", TERMINALS + "/T1", {"terminal_id": "T1", "location_ids": ["Ünïcode"]}, "location_ids"),
        ("post", FACS, fac_body(fac_id="FÄC-1"), "id"),
        ("post", FACS, fac_body(authorization_reference="AUTH-ü"), "authorization_reference"),
        ("put", TOKEN.format(version="2.2.1", uid="RFID0001"), token_body(contract_id="NL-ü"), "contract_id"),
    ],
)
def test_a_non_ascii_cistring_is_refused_with_2001(
    ocpi_client_for: Any, partner: Partner, method: str, url: str, body: dict[str, Any], field: str
) -> None:
    response = send(ocpi_client_for(partner), method, url, body)

    assert field in assert_client_error(response)
    assert not PaymentTerminal.objects.exists()
    assert not FinancialAdviceConfirmation.objects.exists()
    assert not Token.objects.exists()


def test_a_non_ascii_id_in_the_url_is_refused(ocpi_client_for: Any, partner: Partner) -> None:
    client = ocpi_client_for(partner)

    put = send(client, "put", TERMINALS + "/T%C3%A9rm", {"terminal_id": "Térm"})
    get = client.get(TERMINALS + "/T%C3%A9rm")

    assert_client_error(put)
    assert_client_error(get, http_status=404, ocpi_status=2000)
    assert not PaymentTerminal.objects.exists()


@pytest.mark.parametrize("name", ["VAT\u0000", "VAT\ud800", "V\u0007AT"])
def test_nul_surrogates_and_control_characters_in_a_fac_tax_line_are_refused(
    ocpi_client_for: Any, partner: Partner, name: str
) -> None:
    total_costs = {"before_taxes": "4.13", "taxes": [{"name": name, "amount": "0.87"}]}
    response = send(ocpi_client_for(partner), "post", FACS, json.dumps(fac_body(total_costs=total_costs)))

    assert_client_error(response)
    assert not FinancialAdviceConfirmation.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/ocpi/2.2.1/tokens/NL/PTR/%00",
        "/ocpi/2.2.1/tokens/NL/PTR/A%00B",
        "/ocpi/2.3.0/payments/terminals/%00",
        "/ocpi/2.3.0/payments/financial-advice-confirmations/%00",
        "/ocpi/2.2.1/locations/%00",
        "/ocpi/2.2.1/locations/LOC1/%00/1",
    ],
)
def test_a_nul_in_a_path_segment_is_an_unknown_object(
    ocpi_client_for: Any, partner: Partner, url: str
) -> None:
    assert_client_error(ocpi_client_for(partner).get(url), http_status=404, ocpi_status=2000)


def test_a_nul_in_a_path_segment_of_a_write_is_refused_with_2001(
    ocpi_client_for: Any, partner: Partner
) -> None:
    client = ocpi_client_for(partner)

    token = send(client, "put", "/ocpi/2.2.1/tokens/NL/PTR/%00", token_body(uid="\u0000"))
    terminal = send(client, "put", TERMINALS + "/%00", {"terminal_id": "\u0000"})

    assert_client_error(token)
    assert_client_error(terminal)
    assert InboundRequestLog.objects.filter(http_status=200, ocpi_status=2001).count() == 2


@pytest.mark.parametrize(
    "date_from", ["9999-12-31T23:59:59-01:00", "10000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"]
)
def test_a_date_from_past_year_9999_is_refused_with_2001(
    ocpi_client_for: Any, partner: Partner, date_from: str
) -> None:
    response = ocpi_client_for(partner).get("/ocpi/2.2.1/sessions", {"date_from": date_from})
    assert "date_from" in assert_client_error(response)


# --- FAC total_costs as the spec types it (types.asciidoc Price and TaxAmount) ---------------------


@pytest.mark.parametrize(
    ("total_costs", "words"),
    [
        (
            {"before_taxes": "4.13", "taxes": [{"name": f"T{n}", "amount": "0.01"} for n in range(1000)]},
            "taxes",
        ),
        ({"before_taxes": "4.13", "taxes": [{"amount": "0.87"}]}, "name"),
        ({"before_taxes": "4.13", "taxes": [{"name": "VAT", "amount": "-0.87"}]}, "amount"),
        (
            {"before_taxes": "4.13", "taxes": [{"name": "VAT", "amount": "0.87", "percentage": "lots"}]},
            "percentage",
        ),
        (
            {"before_taxes": "4.13", "taxes": [{"name": "VAT", "amount": "0.87", "percentage": 250}]},
            "percentage",
        ),
        (
            {"before_taxes": "4.13", "taxes": [{"name": "VAT", "amount": "0.87", "account_number": 12}]},
            "account_number",
        ),
        ({"before_taxes": "4.13", "taxes": {"name": "VAT", "amount": "0.87"}}, "taxes"),
        ({"before_taxes": "4.13", "taxes": ["VAT"]}, "taxes"),
        ({"excl_vat": "5.00", "incl_vat": "4.13"}, "incl_vat"),
        ({"excl_vat": "4.13", "incl_vat": "5.00", "before_taxes": "4.13"}, "total_costs"),
    ],
)
def test_fac_total_costs_are_validated_as_the_spec_types_them(
    ocpi_client_for: Any, partner: Partner, total_costs: dict[str, Any], words: str
) -> None:
    response = send(ocpi_client_for(partner), "post", FACS, fac_body(total_costs=total_costs))

    assert words in assert_client_error(response)
    assert not FinancialAdviceConfirmation.objects.exists()


@pytest.mark.parametrize("last_updated", ["1" * 40, "11111111T111111", "2026-03-01 10:00:00", "2026-03-01"])
def test_a_fac_date_that_is_not_an_ocpi_datetime_is_refused(
    ocpi_client_for: Any, partner: Partner, last_updated: str
) -> None:
    response = send(ocpi_client_for(partner), "post", FACS, fac_body(last_updated=last_updated))

    assert "last_updated" in assert_client_error(response)
    assert not FinancialAdviceConfirmation.objects.exists()


def test_a_fac_keeps_only_the_typed_tax_fields(ocpi_client_for: Any, partner: Partner) -> None:
    total_costs = {
        "before_taxes": 4.13,
        "taxes": [
            {
                "name": "VAT",
                "account_number": "NL001",
                "percentage": 21,
                "amount": 0.87,
                "extra": "x" * 10_000,
            }
        ],
        "extra": "y" * 10_000,
    }
    response = send(ocpi_client_for(partner), "post", FACS, fac_body(total_costs=total_costs))

    assert response.status_code == 201
    fac = FinancialAdviceConfirmation.objects.get()
    [line] = fac.total_costs_taxes
    assert set(line) == {"name", "account_number", "percentage", "amount"}
    assert (Decimal(line["percentage"]), Decimal(line["amount"])) == (Decimal(21), Decimal("0.87"))
    assert fac.total_costs_incl_vat == Decimal("5.00")
