"""Tariffs module, Receiver interface (mod_tariffs.asciidoc)."""

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
        return not_found("Use /{country_code}/{party_id}/{tariff_id}")
    cc, pid, tariff_id = request.rest[0].upper(), request.rest[1].upper(), request.rest[2]
    key = f"{cc}/{pid}/{tariff_id}"
    with sim.state.lock:
        item = sim.state.get_received("tariffs", key)
        exists = item is not None and not item["deleted"] and item["object"] is not None
        if request.method == "GET":
            return ocpi_answer(200, item["object"]) if exists and item else not_found()
        if request.method == "DELETE":
            if not exists:
                return not_found()
            sim.state.record_received("tariffs", key, None, history_entry(request), deleted=True)
            return ocpi_answer(200)
        if request.method != "PUT":
            return method_not_allowed("Tariffs accept GET, PUT and DELETE")
        body = request.body
        if not isinstance(body, dict):
            return invalid("Body must be a JSON object")
        if "id" in body and str(body["id"]) != tariff_id:
            return invalid("id in body differs from the URL")
        sim.state.record_received("tariffs", key, body, history_entry(request))
    return ocpi_answer(200 if exists else 201)
