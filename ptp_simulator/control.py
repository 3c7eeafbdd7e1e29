"""The simulator's control API under ``/_sim/``: tests and the CLI read its state, inject faults and
make it act as a PTP (register, crawl, send commands and FACs). Loopback only; plain JSON, no OCPI
envelope.
"""

from __future__ import annotations

import ipaddress
import sys
import traceback
from dataclasses import asdict
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from ptp_simulator.answers import Answer, Sim
from ptp_simulator.client import CRAWLABLE_MODULES, CpoClient, OcpiClientError
from ptp_simulator.ocpi import format_datetime, loads, now_utc
from ptp_simulator.state import Fault, SimState, new_id


def route_control(
    sim: Sim, *, method: str, path: str, query: dict[str, str], raw: bytes, client_host: str
) -> Answer:
    """Answer one call of the control API (``/_sim/...``), from loopback only."""
    if not is_loopback_host(client_host):
        return Answer(403, {"ok": False, "error": "control API is loopback only"})
    try:
        body = loads(raw) if raw.strip() else {}
    except ValueError:
        return Answer(400, {"ok": False, "error": "body is not valid JSON"})
    if not isinstance(body, dict):
        return Answer(400, {"ok": False, "error": "body must be a JSON object"})
    parts = [unquote(s) for s in path.strip("/").split("/")[1:] if s]
    try:
        return _route(sim, method, parts, query, body)
    except OcpiClientError as exc:
        return Answer(502, {"ok": False, "error": str(exc), "http_status": exc.http_status, "body": exc.body})
    except (KeyError, ValueError, TypeError) as exc:
        return Answer(400, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return Answer(500, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})


def _route(sim: Sim, method: str, parts: list[str], query: dict[str, str], body: dict[str, Any]) -> Answer:
    state, client = sim.state, sim.client
    route = (method, "/".join(parts))
    if route == ("GET", "health"):
        return Answer(
            200,
            {
                "ok": True,
                "base_url": state.base_url,
                "versions_url": state.base_url + "/ocpi/versions",
                "token_a": state.config.token_a,
            },
        )
    if route == ("GET", "state"):
        return Answer(200, state.snapshot())
    if route == ("POST", "reset"):
        state.reset(keep_credentials=bool(body.get("keep_credentials", False)))
        return Answer(200, {"ok": True})
    if route == ("GET", "received"):
        module = query.get("module")
        received = state.received_snapshot(module)
        if module is not None and query.get("key"):
            return Answer(200, received.get(query["key"]) or {})
        return Answer(200, received)
    if route == ("GET", "requests"):
        return Answer(200, state.requests_snapshot())
    if route == ("GET", "outbound"):
        return Answer(200, state.outbound_snapshot())
    if route == ("POST", "config"):
        return Answer(200, asdict(state.update_config(body)))
    if route == ("POST", "tokens"):
        # Add pre-shared full-access tokens (and/or set token A) without a handshake.
        changes: dict[str, Any] = {}
        if "token_a" in body:
            changes["token_a"] = body["token_a"]
        if "tokens" in body:
            changes["static_tokens"] = [*state.config.static_tokens, *map(str, body["tokens"])]
        return Answer(200, asdict(state.update_config(changes)))
    if parts and parts[0] == "faults":
        return _faults(sim.state, method, query, body)
    if route == ("GET", "commands"):
        return Answer(200, state.commands_snapshot())
    if method == "GET" and len(parts) == 2 and parts[0] == "commands":
        wait = min(float(query.get("wait", 0) or 0), 60.0)
        record = client.wait_for_command_result(parts[1], wait) if wait else state.get_command(parts[1])
        return (
            Answer(200, record)
            if record is not None
            else Answer(404, {"ok": False, "error": "unknown command"})
        )
    if route == ("POST", "terminals"):
        return Answer(200, _create_terminals(sim, body))
    if method == "POST" and len(parts) == 2 and parts[0] == "actions":
        return _action(sim.client, parts[1], body)
    return Answer(404, {"ok": False, "error": f"unknown control route {method} /_sim/{'/'.join(parts)}"})


def _faults(state: SimState, method: str, query: dict[str, str], body: dict[str, Any]) -> Answer:
    if method == "GET":
        return Answer(200, state.faults_snapshot())
    if method == "DELETE":
        state.clear_faults(query.get("prefix"))
        return Answer(200, {"ok": True})
    if method == "POST":
        if body.get("mode") in (None, "clear"):
            state.clear_faults(body.get("prefix"))
            return Answer(200, {"ok": True})
        fault = Fault(
            prefix=str(body.get("prefix", "")),
            mode=str(body["mode"]),
            remaining=int(body["count"]) if body.get("count") is not None else None,
            seconds=float(body.get("seconds", 0) or 0),
            ok_count=int(body.get("ok_count", body.get("n", 0)) or 0),
            fail_mode=str(body.get("fail_mode", "http_500")),
        )
        state.set_fault(fault)
        return Answer(200, asdict(fault))
    return Answer(405, {"ok": False, "error": "GET, POST or DELETE"})


def _create_terminals(sim: Sim, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Create terminals we own: ``{"count": n}`` or ``{"terminal": {...}}``; optionally push them."""
    templates = [body["terminal"]] if "terminal" in body else [{} for _ in range(int(body.get("count", 1)))]
    created = []
    for template in templates:
        terminal = {
            "terminal_id": new_id(),
            "customer_reference": body.get("customer_reference"),
            "country_code": sim.state.config.country_code,
            "party_id": sim.state.config.party_id,
            "invoice_creator": "PTP",
            "reference": "SIM-" + new_id()[:8],
            "location_ids": [],
            "evse_uids": [],
            "last_updated": format_datetime(now_utc()),
        }
        terminal.update(template)
        terminal = {k: v for k, v in terminal.items() if v is not None}
        created.append(sim.state.put_terminal(terminal))
        if body.get("push"):
            sim.client.push_terminal(terminal, "POST")
    return created


def _action(client: CpoClient, action: str, body: dict[str, Any]) -> Answer:
    if action == "register":
        token = body.get("token", body.get("token_a"))
        peer = client.register(str(body["versions_url"]), str(token), body.get("version"))
        return Answer(200, {"ok": True, "peer": asdict(peer)})
    if action == "connect":
        peer = client.connect(str(body["versions_url"]), str(body["token"]), body.get("version"))
        return Answer(200, {"ok": True, "peer": asdict(peer)})
    if action == "update-credentials":
        peer = client.update_credentials(body.get("version"))
        return Answer(200, {"ok": True, "peer": asdict(peer)})
    if action == "unregister":
        client.unregister()
        return Answer(200, {"ok": True})
    if action == "crawl":
        if body.get("modules"):
            modules = list(body["modules"])
        elif body.get("module"):
            modules = [body["module"]]
        else:
            modules = list(CRAWLABLE_MODULES)
        results = {}
        for module in modules:
            result = client.crawl(
                str(module),
                date_from=body.get("date_from"),
                date_to=body.get("date_to"),
                limit=int(body["limit"]) if body.get("limit") else None,
                max_pages=int(body.get("max_pages", 1000)),
                max_seconds=float(body.get("max_seconds", 120)),
            )
            results[module] = {**result.summary(), "objects": result.objects}
        return Answer(200, {"ok": True, "results": results})
    if action == "command":
        fields = dict(body)
        command = str(fields.pop("command", "")).upper()
        wait = min(float(fields.pop("wait", 0) or 0), 60.0)
        if command == "START_SESSION":
            record = client.start_session(
                location_id=str(fields["location_id"]),
                evse_uid=fields.get("evse_uid"),
                connector_id=fields.get("connector_id"),
                authorization_reference=fields.get("authorization_reference"),
                token=fields.get("token"),
            )
        else:
            record = client.send_command(command, fields)
        if wait and record.get("id"):
            record = client.wait_for_command_result(record["id"], wait) or record
        return Answer(200, record)
    if action in ("fac", "financial-advice-confirmation"):
        sent = client.post_financial_advice_confirmation(
            authorization_reference=str(body["authorization_reference"]),
            amount_incl_vat=Decimal(str(body["amount_incl_vat"])),
            vat_percentage=Decimal(str(body.get("vat_percentage", "21"))),
            currency=str(body.get("currency", "EUR")),
            capture_status_code=str(body.get("capture_status_code", "SUCCESS")),
            capture_status_message=body.get("capture_status_message"),
            eft_data=body.get("eft_data"),
            fac_id=body.get("id"),
        )
        return Answer(200, sent)
    if action == "transaction":
        steps = client.run_transaction(
            location_id=str(body["location_id"]),
            evse_uid=body.get("evse_uid"),
            connector_id=body.get("connector_id"),
            authorization_reference=body.get("authorization_reference"),
            stop_after=float(body["stop_after"]) if body.get("stop_after") is not None else None,
            capture_status_code=str(body.get("capture_status_code", "SUCCESS")),
            vat_percentage=Decimal(str(body.get("vat_percentage", "21"))),
            timeout=min(float(body.get("timeout", 30)), 300.0),
        )
        return Answer(200, steps)
    if action == "get":
        ids = body.get("ids") or [s for s in str(body.get("path", "")).split("/") if s]
        response = client.get_object(str(body["module"]), [str(i) for i in ids])
        return Answer(200, {"http_status": response.http_status, "response": response.body})
    if action == "terminal":
        sent = client.push_terminal(dict(body.get("terminal") or {}), str(body.get("method", "POST")))
        return Answer(200, sent)
    return Answer(404, {"ok": False, "error": f"unknown action {action}"})


# -- helpers ---------------------------------------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    """Whether an address is loopback: the control API answers only there, and the simulator never
    listens elsewhere."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
