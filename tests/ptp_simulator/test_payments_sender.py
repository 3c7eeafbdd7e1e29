"""The simulator's own Payments Sender interface: terminals and FACs (2.3.0 mod_payments.asciidoc)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ptp_simulator.process import SimulatorProcess


def _terminal(index: int, **fields: object) -> dict[str, object]:
    return {
        "terminal_id": f"TERM-{index:03d}",
        "reference": f"SERIAL-{index:03d}",
        "location_ids": [],
        "last_updated": f"2024-01-{index + 1:02d}T00:00:00Z",
        **fields,
    }


@pytest.fixture
def terminals(sim: SimulatorProcess) -> list[dict[str, object]]:
    created = [sim.control.call("POST", "/terminals", json={"terminal": _terminal(i)})[0] for i in range(23)]
    sim.control.config(page_limit=10)
    return created


def test_terminals_are_paginated_with_link_total_count_and_limit(
    ocpi: httpx.Client, terminals: list[dict[str, object]]
) -> None:
    pages = []
    url: str | None = "/ocpi/2.3.0/payments/terminals"
    for _ in range(10):  # bounded: 23 terminals in pages of 10 is three pages
        response = ocpi.get(url)
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "23"
        assert response.headers["X-Limit"] == "10"
        pages.append([t["terminal_id"] for t in response.json()["data"]])
        link = response.headers.get("Link")
        if link is None:
            break
        url = link.split(";")[0].strip("<>")

    assert [len(page) for page in pages] == [10, 10, 3]
    assert [tid for page in pages for tid in page] == [t["terminal_id"] for t in terminals]


def test_the_link_keeps_the_date_filters(ocpi: httpx.Client, terminals: list[dict[str, object]]) -> None:
    response = ocpi.get(
        "/ocpi/2.2.1/payments/terminals",
        params={"date_from": "2024-01-03T00:00:00Z", "date_to": "2024-01-20T00:00:00Z", "limit": 5},
    )

    assert response.headers["X-Total-Count"] == "17"  # 3rd (inclusive) up to 20th (exclusive)
    assert response.json()["data"][0]["terminal_id"] == "TERM-002"
    query = parse_qs(urlsplit(response.headers["Link"].split(";")[0].strip("<>")).query)
    assert query == {
        "date_from": ["2024-01-03T00:00:00Z"],
        "date_to": ["2024-01-20T00:00:00Z"],
        "offset": ["5"],
        "limit": ["5"],
    }


def test_the_server_caps_the_limit_and_says_so(
    ocpi: httpx.Client, terminals: list[dict[str, object]]
) -> None:
    response = ocpi.get("/ocpi/2.3.0/payments/terminals", params={"limit": 1000})

    assert response.headers["X-Limit"] == "50"
    assert len(response.json()["data"]) == 23
    assert "Link" not in response.headers


def test_a_bad_date_filter_is_400(ocpi: httpx.Client) -> None:
    response = ocpi.get("/ocpi/2.3.0/payments/terminals", params={"date_from": "yesterday"})

    assert response.status_code == 400
    assert response.json()["status_code"] == 2001


def test_get_one_terminal_and_404_for_an_unknown_one(
    ocpi: httpx.Client, terminals: list[dict[str, object]]
) -> None:
    assert ocpi.get("/ocpi/2.3.0/payments/terminals/term-004").json()["data"]["reference"] == "SERIAL-004"
    assert ocpi.get("/ocpi/2.3.0/payments/terminals/NOPE").status_code == 404


def test_a_patch_assigns_locations_and_evses(
    ocpi: httpx.Client, sim: SimulatorProcess, terminals: list[dict[str, object]]
) -> None:
    response = ocpi.patch(
        "/ocpi/2.3.0/payments/terminals/TERM-001", json={"location_ids": ["LOC1"], "evse_uids": ["EVSE1"]}
    )

    assert response.status_code == 200
    stored = ocpi.get("/ocpi/2.3.0/payments/terminals/TERM-001").json()["data"]
    assert stored["location_ids"] == ["LOC1"]
    assert stored["evse_uids"] == ["EVSE1"]
    assert stored["reference"] == "SERIAL-001"
    assert stored["last_updated"] > "2024-01-02T00:00:00Z"
    assert sim.control.received("terminals", "TERM-001")["history"][0]["method"] == "PATCH"


def test_a_put_replaces_the_terminal(ocpi: httpx.Client, terminals: list[dict[str, object]]) -> None:
    response = ocpi.put(
        "/ocpi/2.3.0/payments/terminals/TERM-001",
        json={
            "customer_reference": "OMV",
            "invoice_base_url": "https://cpo.example/invoices",
            "invoice_creator": "CPO",
            "last_updated": "2021-01-01T00:00:00Z",
        },
    )

    stored = response.json()["data"]
    assert stored["terminal_id"] == "TERM-001"
    assert stored["customer_reference"] == "OMV"
    assert "reference" not in stored


def test_activation_creates_a_terminal_with_an_id_of_ours(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    response = ocpi.post(
        "/ocpi/2.3.0/payments/terminals/activate",
        json={"reference": "Term-SerialNumber", "location_ids": ["LOC1"]},
    )

    terminal = response.json()["data"]
    assert response.json()["status_code"] == 1000
    assert terminal["terminal_id"]
    assert terminal["location_ids"] == ["LOC1"]
    assert ocpi.get(f"/ocpi/2.3.0/payments/terminals/{terminal['terminal_id']}").status_code == 200


def test_deactivation_is_recorded(
    ocpi: httpx.Client, sim: SimulatorProcess, terminals: list[dict[str, object]]
) -> None:
    response = ocpi.post("/ocpi/2.3.0/payments/terminals/TERM-002/deactivate")

    assert response.json()["status_code"] == 1000
    assert sim.control.state()["terminal_meta"]["TERM-002"]["deactivated_at"]
    assert ocpi.post("/ocpi/2.3.0/payments/terminals/NOPE/deactivate").status_code == 404


def test_facs_are_listed_and_served_by_id(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    assert ocpi.get("/ocpi/2.3.0/payments/financial-advice-confirmations").json()["data"] == []
    assert ocpi.get("/ocpi/2.3.0/payments/financial-advice-confirmations/NOPE").status_code == 404
