"""The simulator driving a CPO: crawling, commands, FACs and terminals, triggered over /_sim/actions."""

from __future__ import annotations

import time

import httpx
import pytest

from ptp_simulator.ocpi import encode_token
from ptp_simulator.process import SimulatorProcess
from tests.ptp_simulator.fake_cpo import FakeCpo


def _register(sim: SimulatorProcess, cpo: FakeCpo, version: str = "2.3.0") -> None:
    sim.control.action("register", versions_url=cpo.versions_url, token=cpo.token_a, version=version)


def test_a_crawl_follows_every_link_and_checks_the_total(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    _register(sim, fake_cpo)

    results = sim.control.action("crawl", modules=["locations", "tariffs"])["results"]

    locations = results["locations"]
    assert [o["id"] for o in locations["objects"]] == [f"LOC{i:03d}" for i in range(10)]
    assert locations["pages"] == 3
    assert locations["total_count"] == 10
    assert locations["complete"] is True
    assert locations["warnings"] == []
    assert results["tariffs"]["pages"] == 1
    assert sim.control.state()["last_crawls"]["locations"]["object_count"] == 10


def test_a_sessions_crawl_sends_date_from_and_keeps_it_in_the_links(
    sim: SimulatorProcess, fake_cpo: FakeCpo
) -> None:
    _register(sim, fake_cpo)

    result = sim.control.action("crawl", module="sessions", date_from="2024-02-01T00:00:02Z")["results"][
        "sessions"
    ]

    assert [o["id"] for o in result["objects"]] == ["S2", "S3", "S4"]
    gets = [r for r in fake_cpo.received if r["path"].endswith("/sessions")]
    assert all(r["query"]["date_from"] == "2024-02-01T00:00:02Z" for r in gets)


def test_a_sessions_crawl_without_date_from_sends_one(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    _register(sim, fake_cpo)

    sim.control.action("crawl", module="sessions")

    first = next(r for r in fake_cpo.received if r["path"].endswith("/sessions"))
    assert first["query"]["date_from"] == "1970-01-01T00:00:00Z"


def test_a_crawl_warns_when_the_total_count_does_not_match(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    _register(sim, fake_cpo)
    # A CPO that over-reports its total: the crawl must say so rather than pass silently.
    fake_cpo.total_count_bump = 1

    result = sim.control.action("crawl", module="locations")["results"]["locations"]

    assert result["complete"] is True
    assert result["total_count"] == 11
    assert result["warnings"] == ["received 10 objects but X-Total-Count is 11"]


def test_a_crawl_warns_when_the_total_count_changes_between_pages(
    sim: SimulatorProcess, fake_cpo: FakeCpo
) -> None:
    _register(sim, fake_cpo)
    fake_cpo.grow_after_first_page = True

    result = sim.control.action("crawl", module="locations")["results"]["locations"]

    assert result["total_counts"] == [10, 11, 11]
    assert "page 2: X-Total-Count changed 10 -> 11" in result["warnings"]
    assert len(result["objects"]) == 11


def test_a_crawl_without_a_connection_is_an_error(sim: SimulatorProcess) -> None:
    refused = sim.control.call("POST", "/actions/crawl", json={"module": "locations"}, check=False)

    assert "not connected" in refused["error"]


def test_connect_uses_an_existing_token_without_a_handshake(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    peer = sim.control.action("connect", versions_url=fake_cpo.versions_url, token=fake_cpo.token_c)["peer"]

    assert peer["registered_by"] == "connect"
    assert not any(r["path"].endswith("/credentials") for r in fake_cpo.received)


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_start_session_records_the_response_and_the_later_result(
    sim: SimulatorProcess, fake_cpo: FakeCpo, version: str
) -> None:
    _register(sim, fake_cpo, version)

    record = sim.control.command(
        "START_SESSION",
        location_id="LOC1",
        evse_uid="EVSE1",
        connector_id="1",
        authorization_reference="pp-100100-1",
        wait=5,
    )

    assert record["http_status"] == 200
    assert record["response"]["data"] == {"result": "ACCEPTED", "timeout": 30}
    assert record["result"] == {"result": "ACCEPTED"}
    sent = next(r for r in fake_cpo.received if r["path"].endswith("/commands/START_SESSION"))["body"]
    assert sent["token"]["type"] == "AD_HOC_USER"
    assert sent["token"]["whitelist"] == "NEVER"
    assert (sent["location_id"], sent["evse_uid"], sent["connector_id"]) == ("LOC1", "EVSE1", "1")
    assert sent["authorization_reference"] == "pp-100100-1"
    assert sent["response_url"] == f"{sim.base_url}/ocpi/{version}/commands/START_SESSION/{record['id']}"


def test_stop_session_and_unlock_connector_are_sent_and_their_results_kept(
    sim: SimulatorProcess, fake_cpo: FakeCpo
) -> None:
    _register(sim, fake_cpo)
    fake_cpo.command_result = "REJECTED"

    stop = sim.control.command("STOP_SESSION", session_id="S1")
    unlock = sim.control.command("UNLOCK_CONNECTOR", location_id="LOC1", evse_uid="EVSE1", connector_id="1")
    stop_done = sim.control.wait_for_command_result(stop["id"], timeout=5)
    unlock_done = sim.control.wait_for_command_result(unlock["id"], timeout=5)

    assert stop_done["result"] == {"result": "REJECTED"}
    assert unlock_done["request"]["connector_id"] == "1"
    assert unlock_done["result"] == {"result": "REJECTED"}
    assert {c["command"] for c in sim.control.call("GET", "/commands")} == {
        "STOP_SESSION",
        "UNLOCK_CONNECTOR",
    }


def test_a_command_to_an_unreachable_cpo_records_the_error(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    _register(sim, fake_cpo)
    fake_cpo.drop_all = True

    record = sim.control.command("STOP_SESSION", session_id="S1")

    assert record["error"]
    assert record["result"] is None


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.2.1", {"excl_vat": 4.0, "incl_vat": 4.84}),
        ("2.3.0", {"before_taxes": 4.0, "taxes": [{"name": "VAT", "amount": 0.84, "percentage": 21.0}]}),
    ],
)
def test_a_fac_is_posted_in_the_price_shape_of_the_version(
    sim: SimulatorProcess, fake_cpo: FakeCpo, version: str, expected: dict[str, object]
) -> None:
    _register(sim, fake_cpo, version)

    sent = sim.control.action(
        "fac", authorization_reference="pp-1", amount_incl_vat="4.84", vat_percentage="21"
    )

    assert sent["http_status"] == 201
    posted = next(
        r for r in fake_cpo.received if r["path"].endswith("/payments/financial-advice-confirmations")
    )
    body = posted["body"]
    assert body["total_costs"] == expected
    assert (body["authorization_reference"], body["currency"], body["capture_status_code"]) == (
        "pp-1",
        "EUR",
        "SUCCESS",
    )
    assert body["eft_data"]
    # The FAC is ours: the CPO can GET it back from our Sender interface.
    assert sim.control.state()["financial_advice_confirmations"][0]["id"] == body["id"]


def test_a_fac_goes_to_a_named_endpoint_when_the_cpo_lists_one(sim: SimulatorProcess) -> None:
    with FakeCpo(payments_style="split") as cpo:
        _register(sim, cpo)
        sim.control.action(
            "fac",
            authorization_reference="pp-2",
            amount_incl_vat="0",
            capture_status_code="FAILED",
            capture_status_message="Capture unsuccessful at PSP",
            eft_data=[],
        )

        posted = cpo.received[-1]
    assert posted["path"] == "/cpo/2.3.0/payments/financial-advice-confirmations"
    assert posted["body"]["capture_status_code"] == "FAILED"


def test_terminals_are_posted_and_patched_to_the_cpo(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    _register(sim, fake_cpo)

    created = sim.control.action("terminal", terminal={"terminal_id": "T-1", "reference": "SN-1"})
    patched = sim.control.action(
        "terminal", terminal={"terminal_id": "T-1", "customer_reference": "CPO"}, method="PATCH"
    )

    assert (created["http_status"], patched["http_status"]) == (201, 201)
    paths = [(r["method"], r["path"]) for r in fake_cpo.received if "/payments/" in r["path"]]
    assert paths == [
        ("POST", "/cpo/2.3.0/payments/terminals"),
        ("PATCH", "/cpo/2.3.0/payments/terminals/T-1"),
    ]
    terminal = next(t for t in sim.control.state()["terminals"] if t["terminal_id"] == "T-1")
    assert (terminal["reference"], terminal["customer_reference"]) == ("SN-1", "CPO")


def test_an_activation_is_followed_by_a_terminal_post_to_the_cpo(
    sim: SimulatorProcess, fake_cpo: FakeCpo
) -> None:
    _register(sim, fake_cpo)
    token = fake_cpo.ptp_token or ""

    activated = httpx.post(
        f"{sim.base_url}/ocpi/2.3.0/payments/terminals/activate",
        json={"reference": "SN-9", "location_ids": ["LOC1"]},
        headers={"Authorization": encode_token(token)},
        timeout=5,
    ).json()["data"]

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
        r["path"].endswith("/payments/terminals") for r in fake_cpo.received
    ):
        time.sleep(0.05)
    pushed = next(r for r in fake_cpo.received if r["path"].endswith("/payments/terminals"))
    assert pushed["body"]["terminal_id"] == activated["terminal_id"]
    assert pushed["body"]["location_ids"] == ["LOC1"]


def test_get_pulls_one_object_from_the_cpo_with_escaped_ids(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    _register(sim, fake_cpo)
    fake_cpo.objects["locations"].append({"id": "LOC 1", "country_code": "NL", "party_id": "CPO"})

    found = sim.control.action("get", module="locations", path="LOC 1")
    missing = sim.control.action("get", module="locations", ids=["NOPE", "EVSE1", "1"])

    assert found["http_status"] == 200
    assert found["response"]["data"]["id"] == "LOC 1"
    assert fake_cpo.received[-2]["path"] == "/cpo/2.3.0/locations/LOC%201"
    assert missing["http_status"] == 404
    assert fake_cpo.received[-1]["path"] == "/cpo/2.3.0/locations/NOPE/EVSE1/1"


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_a_transaction_starts_waits_for_the_cdr_and_posts_a_fac(
    sim: SimulatorProcess, fake_cpo: FakeCpo, version: str
) -> None:
    _register(sim, fake_cpo, version)
    fake_cpo.charging_mode = "auto"

    steps = sim.control.action(
        "transaction", location_id="LOC1", evse_uid="EVSE1", connector_id="1", timeout=5
    )

    assert steps["complete"] is True, steps
    assert steps["start"]["result"] == {"result": "ACCEPTED"}
    assert steps["cdr_id"] == "CDR-SESS-1"
    fac = next(r for r in fake_cpo.received if r["path"].endswith("/financial-advice-confirmations"))["body"]
    assert fac["authorization_reference"] == steps["authorization_reference"]
    if version == "2.2.1":
        assert fac["total_costs"] == {"excl_vat": 4.0, "incl_vat": 4.84}
    else:
        assert fac["total_costs"] == {
            "before_taxes": 4.0,
            "taxes": [{"name": "VAT", "amount": 0.84, "percentage": 21.0}],
        }


def test_a_transaction_can_stop_the_session_itself(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    _register(sim, fake_cpo, "2.2.1")
    fake_cpo.charging_mode = "on_stop"

    steps = sim.control.action("transaction", location_id="LOC1", stop_after=0.1, timeout=5)

    assert steps["complete"] is True, steps
    assert steps["stop"]["request"]["session_id"] == "SESS-1"
    assert steps["stop"]["result"] == {"result": "ACCEPTED"}
    assert sim.control.received("sessions", "NL/CPO/SESS-1")["object"]["status"] == "COMPLETED"
    fac = next(r for r in fake_cpo.received if r["path"].endswith("/financial-advice-confirmations"))["body"]
    assert fac["total_costs"] == {"excl_vat": 4.0, "incl_vat": 4.84}


def test_a_transaction_reports_a_missing_cdr_after_its_timeout(
    sim: SimulatorProcess, fake_cpo: FakeCpo
) -> None:
    _register(sim, fake_cpo)

    started = time.monotonic()
    steps = sim.control.action("transaction", location_id="LOC1", timeout=0.5)

    assert steps["complete"] is False
    assert steps["error"] == "no CDR with this authorization_reference was posted"
    assert time.monotonic() - started < 5


def test_it_polls_locations_and_tariffs_while_connected(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    _register(sim, fake_cpo)
    sim.control.config(poll_interval=0.2)

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        first_pages = [
            r for r in fake_cpo.received if r["path"].endswith("/locations") and "offset" not in r["query"]
        ]
        if len(first_pages) >= 2:
            break
        time.sleep(0.05)
    sim.control.config(poll_interval=0)

    assert len(first_pages) >= 2
    assert any(r["path"].endswith("/tariffs") for r in fake_cpo.received)
    assert sim.control.state()["last_crawls"]["locations"]["object_count"] == 10


def test_our_facs_are_served_in_the_price_shape_of_the_version_asked(
    sim: SimulatorProcess, fake_cpo: FakeCpo
) -> None:
    _register(sim, fake_cpo, "2.3.0")
    fac_id = sim.control.action("fac", authorization_reference="pp-1", amount_incl_vat="4.84")["object"]["id"]
    headers = {"Authorization": encode_token(fake_cpo.ptp_token or "")}

    old = httpx.get(
        f"{sim.base_url}/ocpi/2.2.1/payments/financial-advice-confirmations/{fac_id}", headers=headers
    )
    new = httpx.get(f"{sim.base_url}/ocpi/2.3.0/payments/financial-advice-confirmations", headers=headers)

    assert old.json()["data"]["total_costs"] == {"excl_vat": 4.0, "incl_vat": 4.84}
    assert new.json()["data"][0]["total_costs"]["before_taxes"] == 4.0
    assert new.headers["X-Total-Count"] == "1"
