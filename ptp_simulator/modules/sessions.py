"""Sessions module, Receiver interface (mod_sessions.asciidoc)."""

from __future__ import annotations

from ptp_simulator.answers import (
    Answer,
    Request,
    Sim,
    history_entry,
    invalid,
    method_not_allowed,
    not_found,
    ocpi_answer,
)


def handle(sim: Sim, request: Request) -> Answer:
    if len(request.rest) != 3:
        return not_found("Use /{country_code}/{party_id}/{session_id}")
    cc, pid, session_id = request.rest[0].upper(), request.rest[1].upper(), request.rest[2]
    key = f"{cc}/{pid}/{session_id}"
    with sim.state.lock:
        item = sim.state.get_received("sessions", key)
        current = item["object"] if item and not item["deleted"] else None
        if request.method == "GET":
            return ocpi_answer(200, current) if current is not None else not_found()
        if request.method not in ("PUT", "PATCH"):
            return method_not_allowed("Sessions accept GET, PUT and PATCH")
        body = request.body
        if not isinstance(body, dict):
            return invalid("Body must be a JSON object")
        if "id" in body and str(body["id"]) != session_id:
            return invalid("id in body differs from the URL")
        if request.method == "PUT":
            sim.state.record_received("sessions", key, body, history_entry(request))
            return ocpi_answer(200 if current is not None else 201)
        if "last_updated" not in body:
            return invalid("PATCH requires last_updated")
        if current is None:
            return not_found()
        merged = dict(current)
        for name, value in body.items():
            if name == "charging_periods":
                # mod_sessions.asciidoc, 'PATCH Method': charging_periods in a PATCH are
                # appended; an empty list changes nothing.
                merged["charging_periods"] = list(current.get("charging_periods") or []) + list(value or [])
            else:
                merged[name] = value
        sim.state.record_received("sessions", key, merged, history_entry(request))
    return ocpi_answer(200)
