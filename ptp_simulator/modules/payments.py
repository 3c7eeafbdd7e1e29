"""Payments module, our Sender interface: the terminals and FACs we own (mod_payments.asciidoc)."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from ptp_simulator.answers import (
    Answer,
    Request,
    Sim,
    history_entry,
    invalid,
    method_not_allowed,
    not_found,
    ocpi_answer,
    paginated,
)
from ptp_simulator.client import OcpiClientError
from ptp_simulator.ocpi import format_datetime, now_utc, price_in_version
from ptp_simulator.state import new_id


def handle(sim: Sim, request: Request) -> Answer:
    rest = request.rest
    if not rest:
        return not_found("Use terminals or financial-advice-confirmations")
    if rest[0] == "financial-advice-confirmations":
        if request.method != "GET" or len(rest) > 2:
            return method_not_allowed()
        # A FAC keeps the price shape it was made in; answer in the version asked for.
        if len(rest) == 2:
            fac = sim.state.get_fac(rest[1])
            return ocpi_answer(200, _fac_in_version(fac, request.version)) if fac is not None else not_found()
        facs = [_fac_in_version(fac, request.version) for fac in sim.state.list_facs()]
        return paginated(sim.state, request, facs, "id")
    if rest[0] != "terminals":
        return not_found()
    if len(rest) == 1:
        if request.method != "GET":
            return method_not_allowed()
        return paginated(sim.state, request, sim.state.list_terminals(), "terminal_id")
    if len(rest) == 2 and rest[1] == "activate":
        if request.method != "POST":
            return method_not_allowed()
        return _activate(sim, request)
    terminal_id = rest[1]
    if len(rest) == 3 and rest[2] == "deactivate":
        if request.method != "POST":
            return method_not_allowed()
        terminal = sim.state.deactivate_terminal(terminal_id)
        if terminal is None:
            return not_found()
        sim.state.record_received(
            "terminals", terminal["terminal_id"], None, history_entry(request, "deactivate")
        )
        return ocpi_answer(200, terminal)
    if len(rest) != 2:
        return not_found()
    with sim.state.lock:
        terminal = sim.state.get_terminal(terminal_id)
        if request.method == "GET":
            return ocpi_answer(200, terminal) if terminal is not None else not_found()
        if request.method not in ("PUT", "PATCH"):
            return method_not_allowed()
        if terminal is None:
            return not_found()
        body = request.body
        if not isinstance(body, dict):
            return invalid("Body must be a JSON object")
        if "terminal_id" in body and str(body["terminal_id"]).lower() != str(terminal["terminal_id"]).lower():
            return invalid("terminal_id in body differs from the URL")
        # transport_and_format.asciidoc, 'PUT': optional fields left out revert to null.
        updated = {**terminal, **body} if request.method == "PATCH" else dict(body)
        updated["terminal_id"] = terminal["terminal_id"]
        # We own terminals, so last_updated is our clock (it drives date_from/date_to).
        updated["last_updated"] = format_datetime(now_utc())
        stored = sim.state.put_terminal(updated)
        sim.state.record_received("terminals", stored["terminal_id"], stored, history_entry(request))
    return ocpi_answer(200, stored)


def _activate(sim: Sim, request: Request) -> Answer:
    body = request.body
    if not isinstance(body, dict):
        return invalid("Body must be a JSON object")
    # 'POST Activate Terminal Method': terminal_id is optional, the PTP sets it.
    terminal = dict(body)
    terminal["terminal_id"] = str(body.get("terminal_id") or new_id())
    terminal["last_updated"] = format_datetime(now_utc())
    stored = sim.state.put_terminal(terminal)
    sim.state.record_received("terminal_activations", stored["terminal_id"], body, history_entry(request))
    if sim.state.config.push_activated_terminals and sim.state.get_peer() is not None:
        # The PTP then creates the terminal on the CPO side; after our answer, not within it.
        threading.Thread(target=_push_activated, args=(sim, stored), daemon=True).start()
    return ocpi_answer(200, stored)


def _push_activated(sim: Sim, terminal: dict[str, Any]) -> None:
    time.sleep(0.05)
    # A failure is already in the outbound log, which is where a test looks.
    with contextlib.suppress(OcpiClientError):
        sim.client.push_terminal(terminal, "POST")


def _fac_in_version(fac: dict[str, Any], version: str) -> dict[str, Any]:
    if isinstance(fac.get("total_costs"), dict):
        return {**fac, "total_costs": price_in_version(fac["total_costs"], version)}
    return fac
