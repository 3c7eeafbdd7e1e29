"""Concurrent first writes of the same new object, through a live server on PostgreSQL.

Twenty PUTs or POSTs of one new token, terminal or FAC at once: one creates it (201), the others
find the winner's row and answer as updates (200). None answers 500 on the unique constraint.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx
import pytest
from django.db import connection

from ocpi_api.transport.tokens import authorization_header
from partners.models import Partner, PartnerRole, Token
from payments.models import FinancialAdviceConfirmation, PaymentTerminal
from tests.factories import PartnerFactory, PartnerRoleFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="unique-constraint races need PostgreSQL"),
]

WRITERS = 20


@pytest.fixture
def partner(db: None) -> Partner:
    partner = PartnerFactory(name="Payter")
    PartnerRoleFactory(partner=partner, role=PartnerRole.Role.PTP, country_code="NL", party_id="PTR")
    return partner


def all_at_once(
    method: str, url: str, bodies: list[dict[str, Any]], partner: Partner
) -> list[httpx.Response]:
    """Send each body from its own thread, released together; return the answers in order."""
    barrier = threading.Barrier(len(bodies))
    answers: list[Any] = [None] * len(bodies)
    headers = {"Authorization": authorization_header(partner.plain_token_c)}  # type: ignore[attr-defined]

    def send(index: int) -> None:
        with httpx.Client(timeout=30) as client:
            barrier.wait(timeout=10)
            answers[index] = client.request(method, url, json=bodies[index], headers=headers)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def assert_one_created_the_rest_updated(answers: list[httpx.Response]) -> None:
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: 1, 200: WRITERS - 1}, [
        answer.text for answer in answers if answer.status_code >= 500
    ]
    assert {answer.json()["status_code"] for answer in answers} == {1000}


def test_twenty_first_puts_of_one_token_create_it_once(live_server: Any, partner: Partner) -> None:
    bodies = [
        {
            "country_code": "NL",
            "party_id": "PTR",
            "uid": "RFID0001",
            "type": "RFID",
            "contract_id": f"NL-PTR-C{n:05d}",
            "issuer": "Payter",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2026-01-01T00:00:00Z",
        }
        for n in range(WRITERS)
    ]

    answers = all_at_once("PUT", f"{live_server.url}/ocpi/2.2.1/tokens/NL/PTR/RFID0001", bodies, partner)

    assert_one_created_the_rest_updated(answers)
    assert Token.objects.count() == 1


def test_twenty_first_posts_of_one_terminal_create_it_once(live_server: Any, partner: Partner) -> None:
    bodies = [{"terminal_id": "T1", "city": f"City {n}"} for n in range(WRITERS)]

    answers = all_at_once("POST", f"{live_server.url}/ocpi/2.3.0/payments/terminals", bodies, partner)

    assert_one_created_the_rest_updated(answers)
    assert PaymentTerminal.objects.count() == 1


def test_twenty_first_posts_of_one_fac_create_it_once(live_server: Any, partner: Partner) -> None:
    bodies = [
        {
            "id": "FAC1",
            "authorization_reference": "AUTH-1",
            "total_costs": {"excl_vat": "4.13", "incl_vat": "5.00"},
            "currency": "EUR",
            "eft_data": [f"line {n}"],
            "capture_status_code": "SUCCESS",
            "last_updated": "2026-03-01T10:00:00Z",
        }
        for n in range(WRITERS)
    ]

    answers = all_at_once(
        "POST", f"{live_server.url}/ocpi/2.3.0/payments/financial-advice-confirmations", bodies, partner
    )

    assert_one_created_the_rest_updated(answers)
    assert FinancialAdviceConfirmation.objects.count() == 1
