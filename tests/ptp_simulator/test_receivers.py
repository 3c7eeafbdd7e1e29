"""Locations, tariffs, sessions, CDRs and CommandResults pushed to the simulator are stored."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from ptp_simulator.process import SimulatorProcess

LOCATION = {
    "country_code": "NL",
    "party_id": "CPO",
    "id": "LOC1",
    "name": "Depot",
    "evses": [
        {
            "uid": "EVSE1",
            "status": "AVAILABLE",
            "physical_reference": "A1",
            "connectors": [{"id": "1", "tariff_ids": ["T1"], "last_updated": "2024-01-01T00:00:00Z"}],
            "last_updated": "2024-01-01T00:00:00Z",
        }
    ],
    "last_updated": "2024-01-01T00:00:00Z",
}


def test_a_put_location_is_created_then_replaced(ocpi: httpx.Client) -> None:
    first = ocpi.put("/ocpi/2.2.1/locations/NL/CPO/LOC1", json=LOCATION)
    second = ocpi.put("/ocpi/2.2.1/locations/NL/CPO/LOC1", json={**LOCATION, "name": "Renamed"})

    assert first.status_code == 201
    assert first.json()["status_code"] == 1000
    assert second.status_code == 200
    assert ocpi.get("/ocpi/2.2.1/locations/NL/CPO/LOC1").json()["data"]["name"] == "Renamed"


def test_a_patch_of_an_evse_updates_it_inside_the_location(ocpi: httpx.Client) -> None:
    ocpi.put("/ocpi/2.3.0/locations/NL/CPO/LOC1", json=LOCATION)

    response = ocpi.patch(
        "/ocpi/2.3.0/locations/NL/CPO/LOC1/EVSE1",
        json={"status": "CHARGING", "last_updated": "2024-01-02T10:00:00Z"},
    )

    assert response.status_code == 200
    location = ocpi.get("/ocpi/2.3.0/locations/NL/CPO/LOC1").json()["data"]
    assert location["evses"][0]["status"] == "CHARGING"
    assert location["evses"][0]["physical_reference"] == "A1"
    assert location["last_updated"] == "2024-01-02T10:00:00Z"
    evse = ocpi.get("/ocpi/2.3.0/locations/NL/CPO/LOC1/EVSE1").json()["data"]
    assert evse["status"] == "CHARGING"


def test_a_patch_of_a_connector_moves_the_parents_last_updated(ocpi: httpx.Client) -> None:
    ocpi.put("/ocpi/2.2.1/locations/NL/CPO/LOC1", json=LOCATION)

    ocpi.patch(
        "/ocpi/2.2.1/locations/NL/CPO/LOC1/EVSE1/1",
        json={"tariff_ids": ["T2"], "last_updated": "2024-03-01T00:00:00Z"},
    )

    connector = ocpi.get("/ocpi/2.2.1/locations/NL/CPO/LOC1/EVSE1/1").json()["data"]
    assert connector["tariff_ids"] == ["T2"]
    location = ocpi.get("/ocpi/2.2.1/locations/NL/CPO/LOC1").json()["data"]
    assert location["evses"][0]["last_updated"] == "2024-03-01T00:00:00Z"
    assert location["last_updated"] == "2024-03-01T00:00:00Z"


def test_a_put_evse_adds_it_to_the_location(ocpi: httpx.Client) -> None:
    ocpi.put("/ocpi/2.2.1/locations/NL/CPO/LOC1", json=LOCATION)

    response = ocpi.put(
        "/ocpi/2.2.1/locations/NL/CPO/LOC1/EVSE2",
        json={
            "uid": "EVSE2",
            "status": "AVAILABLE",
            "connectors": [],
            "last_updated": "2024-01-05T00:00:00Z",
        },
    )

    assert response.status_code == 201
    location = ocpi.get("/ocpi/2.2.1/locations/NL/CPO/LOC1").json()["data"]
    assert [e["uid"] for e in location["evses"]] == ["EVSE1", "EVSE2"]


def test_a_patch_without_last_updated_is_2001(ocpi: httpx.Client) -> None:
    ocpi.put("/ocpi/2.2.1/locations/NL/CPO/LOC1", json=LOCATION)

    response = ocpi.patch("/ocpi/2.2.1/locations/NL/CPO/LOC1/EVSE1", json={"status": "CHARGING"})

    assert response.json()["status_code"] == 2001


def test_a_patch_of_an_unknown_object_is_404(ocpi: httpx.Client) -> None:
    response = ocpi.patch("/ocpi/2.2.1/locations/NL/CPO/NOPE", json={"last_updated": "2024-01-01T00:00:00Z"})

    assert response.status_code == 404


def test_an_id_that_differs_from_the_url_is_2001(ocpi: httpx.Client) -> None:
    response = ocpi.put("/ocpi/2.2.1/locations/NL/CPO/OTHER", json=LOCATION)

    assert response.json()["status_code"] == 2001


def test_a_get_of_an_unknown_location_is_404(ocpi: httpx.Client) -> None:
    assert ocpi.get("/ocpi/2.2.1/locations/NL/CPO/NOPE").status_code == 404
    ocpi.put("/ocpi/2.2.1/locations/NL/CPO/LOC1", json=LOCATION)
    assert ocpi.get("/ocpi/2.2.1/locations/NL/CPO/LOC1/NOPE").status_code == 404


def test_the_history_keeps_every_request_to_an_object(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    ocpi.put("/ocpi/2.2.1/locations/NL/CPO/LOC1", json=LOCATION, headers={"X-Request-ID": "r-1"})
    ocpi.patch(
        "/ocpi/2.2.1/locations/NL/CPO/LOC1/EVSE1",
        json={"status": "BLOCKED", "last_updated": "2024-01-03T00:00:00Z"},
    )

    item = sim.control.received("locations", "NL/CPO/LOC1")

    assert [h["method"] for h in item["history"]] == ["PUT", "PATCH"]
    assert [h["target"] for h in item["history"]] == ["location", "evse"]
    assert item["history"][0]["headers"]["X-Request-ID"] == "r-1"
    assert item["history"][1]["body"]["status"] == "BLOCKED"
    assert item["object"]["evses"][0]["status"] == "BLOCKED"


def test_tariffs_are_put_read_and_deleted(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    tariff = {
        "id": "T1",
        "country_code": "NL",
        "party_id": "CPO",
        "currency": "EUR",
        "type": "AD_HOC_PAYMENT",
        "elements": [],
        "last_updated": "2024-01-01T00:00:00Z",
    }

    assert ocpi.put("/ocpi/2.3.0/tariffs/NL/CPO/T1", json=tariff).status_code == 201
    assert ocpi.get("/ocpi/2.3.0/tariffs/NL/CPO/T1").json()["data"]["type"] == "AD_HOC_PAYMENT"
    assert ocpi.delete("/ocpi/2.3.0/tariffs/NL/CPO/T1").status_code == 200
    assert ocpi.get("/ocpi/2.3.0/tariffs/NL/CPO/T1").status_code == 404
    assert sim.control.received("tariffs", "NL/CPO/T1")["deleted"] is True


def test_a_tariff_keeps_its_decimal_prices_exactly(ocpi: httpx.Client) -> None:
    tariff = {
        "id": "T1",
        "country_code": "NL",
        "party_id": "CPO",
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.35, "step_size": 1}]}],
        "max_price": {"excl_vat": 12.375, "incl_vat": 14.97},
        "last_updated": "2024-01-01T00:00:00Z",
    }
    ocpi.put("/ocpi/2.2.1/tariffs/NL/CPO/T1", json=tariff)

    raw = ocpi.get("/ocpi/2.2.1/tariffs/NL/CPO/T1").text

    assert '"excl_vat": 12.375' in raw
    assert '"price": 0.35' in raw


def test_a_session_patch_merges_and_appends_charging_periods(ocpi: httpx.Client) -> None:
    session = {
        "id": "S1",
        "country_code": "NL",
        "party_id": "CPO",
        "status": "PENDING",
        "kwh": 0,
        "charging_periods": [{"start_date_time": "2024-01-01T10:00:00Z", "dimensions": []}],
        "last_updated": "2024-01-01T10:00:00Z",
    }
    assert ocpi.put("/ocpi/2.2.1/sessions/NL/CPO/S1", json=session).status_code == 201

    ocpi.patch(
        "/ocpi/2.2.1/sessions/NL/CPO/S1",
        json={
            "status": "ACTIVE",
            "kwh": 1.5,
            "total_cost": {"excl_vat": 0.5, "incl_vat": 0.61},
            "charging_periods": [{"start_date_time": "2024-01-01T10:15:00Z", "dimensions": []}],
            "last_updated": "2024-01-01T10:15:00Z",
        },
    )

    stored = ocpi.get("/ocpi/2.2.1/sessions/NL/CPO/S1").json()["data"]
    assert stored["status"] == "ACTIVE"
    assert stored["kwh"] == 1.5
    assert stored["total_cost"] == {"excl_vat": 0.5, "incl_vat": 0.61}
    assert [p["start_date_time"] for p in stored["charging_periods"]] == [
        "2024-01-01T10:00:00Z",
        "2024-01-01T10:15:00Z",
    ]


def test_a_posted_cdr_answers_with_a_location_header_that_serves_it(
    ocpi: httpx.Client, sim: SimulatorProcess
) -> None:
    cdr = {
        "id": "CDR1",
        "country_code": "NL",
        "party_id": "CPO",
        "authorization_reference": "pp-1",
        "total_cost": {"before_taxes": 4.0, "taxes": [{"name": "VAT", "amount": 0.84}]},
        "last_updated": "2024-01-01T12:00:00Z",
    }

    response = ocpi.post("/ocpi/2.3.0/cdrs", json=cdr)

    assert response.status_code == 201
    assert response.json()["status_code"] == 1000
    location = response.headers["Location"]
    assert location == f"{sim.base_url}/ocpi/2.3.0/cdrs/NL/CPO/CDR1"
    fetched = ocpi.get(location).json()["data"]
    assert fetched["authorization_reference"] == "pp-1"
    assert sim.control.received("cdrs")["NL/CPO/CDR1"]["object"]["id"] == "CDR1"


def test_a_cdr_without_its_identity_is_refused_and_not_stored(
    ocpi: httpx.Client, sim: SimulatorProcess
) -> None:
    response = ocpi.post("/ocpi/2.2.1/cdrs", json={"id": "CDR9", "last_updated": "2024-01-01T12:00:00Z"})

    assert response.json()["status_code"] == 2001  # the simulator's way: HTTP 200, OCPI 2001
    assert "country_code, party_id" in response.json()["status_message"]
    assert sim.control.received("cdrs") == {}


def test_a_retried_cdr_post_keeps_the_first_and_records_the_duplicate(
    ocpi: httpx.Client, sim: SimulatorProcess
) -> None:
    cdr = {"id": "CDR1", "country_code": "NL", "party_id": "CPO", "last_updated": "2024-01-01T12:00:00Z"}
    ocpi.post("/ocpi/2.2.1/cdrs", json=cdr)

    again = ocpi.post("/ocpi/2.2.1/cdrs", json={**cdr, "remark": "retry"})

    assert again.status_code == 200
    assert again.headers["Location"].endswith("/cdrs/NL/CPO/CDR1")
    item = sim.control.received("cdrs", "NL/CPO/CDR1")
    assert "remark" not in item["object"]
    assert [h.get("target") for h in item["history"]] == [None, "duplicate"]


def test_a_command_result_for_an_unknown_command_is_404(ocpi: httpx.Client) -> None:
    response = ocpi.post("/ocpi/2.2.1/commands/START_SESSION/unknown-id", json={"result": "ACCEPTED"})

    assert response.status_code == 404


def test_concurrent_patches_of_different_evses_all_land(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    evses = [
        {"uid": f"E{i}", "status": "AVAILABLE", "connectors": [], "last_updated": "2024-01-01T00:00:00Z"}
        for i in range(20)
    ]
    ocpi.put("/ocpi/2.2.1/locations/NL/CPO/LOC1", json={**LOCATION, "evses": evses})

    def patch(index: int) -> int:
        body = {"status": "CHARGING", "last_updated": "2024-01-02T00:00:00Z"}
        return ocpi.patch(f"/ocpi/2.2.1/locations/NL/CPO/LOC1/E{index}", json=body).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(patch, range(20)))

    assert statuses == [200] * 20
    location = ocpi.get("/ocpi/2.2.1/locations/NL/CPO/LOC1").json()["data"]
    assert {e["status"] for e in location["evses"]} == {"CHARGING"}
    assert len(sim.control.received("locations", "NL/CPO/LOC1")["history"]) == 21
