"""CDRs module, Receiver interface (mod_cdrs.asciidoc)."""

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
    if request.method == "GET":
        if len(request.rest) != 3:
            return not_found("GET the URL given in the Location header of the POST")
        key = f"{request.rest[0].upper()}/{request.rest[1].upper()}/{request.rest[2]}"
        item = sim.state.get_received("cdrs", key)
        return ocpi_answer(200, item["object"]) if item and item["object"] is not None else not_found()
    if request.method != "POST" or request.rest:
        return method_not_allowed("CDRs accept POST on the endpoint and GET on the returned URL")
    body = request.body
    if not isinstance(body, dict):
        return invalid("Body must be a JSON object")
    # The CDR's identity is where it is kept and fetched again: a CDR without it is refused,
    # as a strict receiver would (mod_cdrs, CDR object: country_code, party_id, id required).
    missing = [name for name in ("country_code", "party_id", "id") if not body.get(name)]
    if missing:
        return invalid(f"CDR lacks {', '.join(missing)}")
    cc = str(body["country_code"]).upper()
    pid = str(body["party_id"]).upper()
    cdr_id = str(body["id"])
    key = f"{cc}/{pid}/{cdr_id}"
    location = f"{sim.state.base_url}/ocpi/{request.version}/cdrs/{key}"
    with sim.state.lock:
        existing = sim.state.get_received("cdrs", key)
        if existing is not None:
            # CDRs cannot be replaced (mod_cdrs.asciidoc); a retried POST keeps the first one
            # and is recorded, so a test can see the duplicate.
            sim.state.record_received("cdrs", key, None, history_entry(request, target="duplicate"))
            return ocpi_answer(200, headers={"Location": location})
        sim.state.record_received("cdrs", key, body, history_entry(request))
    # 'Response Headers': Location is required and points at the stored CDR.
    return ocpi_answer(201, headers={"Location": location})
