"""Locations module, Receiver interface: what the CPO pushes, kept as one document per location
(mod_locations.asciidoc)."""

from __future__ import annotations

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
)
from ptp_simulator.ocpi import format_datetime, now_utc


def handle(sim: Sim, request: Request) -> Answer:
    rest = request.rest
    if not 3 <= len(rest) <= 5:
        return not_found("Use /{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]")
    cc, pid, location_id = rest[0].upper(), rest[1].upper(), rest[2]
    evse_uid = rest[3] if len(rest) > 3 else None
    connector_id = rest[4] if len(rest) > 4 else None
    key = f"{cc}/{pid}/{location_id}"
    level = "connector" if connector_id is not None else "evse" if evse_uid is not None else "location"
    with sim.state.lock:
        item = sim.state.get_received("locations", key)
        location = item["object"] if item and not item["deleted"] else None
        if request.method == "GET":
            found = _locate(location, evse_uid, connector_id)
            return ocpi_answer(200, found) if found is not None else not_found()
        if request.method not in ("PUT", "PATCH"):
            return method_not_allowed()
        body = request.body
        if not isinstance(body, dict):
            return invalid("Body must be a JSON object")
        id_field, id_value = {
            "location": ("id", location_id),
            "evse": ("uid", evse_uid),
            "connector": ("id", connector_id),
        }[level]
        # transport_and_format.asciidoc, 'Errors': an id that differs from the URL is 2001.
        if id_field in body and str(body[id_field]) != id_value:
            return invalid(f"{id_field} in body differs from the URL")
        if level == "location":
            for name, value in (("country_code", cc), ("party_id", pid)):
                if name in body and str(body[name]).upper() != value:
                    return invalid(f"{name} in body differs from the URL")
        stamp = str(body.get("last_updated") or format_datetime(now_utc()))
        if request.method == "PATCH":
            # mod_locations.asciidoc, 'PATCH Method': last_updated is required.
            if "last_updated" not in body:
                return invalid("PATCH requires last_updated")
            target = _locate(location, evse_uid, connector_id)
            if target is None or location is None:
                return not_found()
            target.update(body)
            created = False
        else:
            holder = {"location": location}
            created = _put_location_part(
                holder,
                key_parts=(cc, pid, location_id),
                evse_uid=evse_uid,
                connector_id=connector_id,
                body=body,
            )
            location = holder["location"]
        # 'PUT Method'/'PATCH Method': a change below the location moves its parents' last_updated.
        if level != "location" and location is not None:
            location["last_updated"] = stamp
            if level == "connector":
                evse = _locate(location, evse_uid, None)
                if evse is not None:
                    evse["last_updated"] = stamp
        sim.state.record_received("locations", key, location, history_entry(request, target=level))
    return ocpi_answer(201 if created else 200)


def _locate(
    location: dict[str, Any] | None, evse_uid: str | None, connector_id: str | None
) -> dict[str, Any] | None:
    """The location, one of its EVSEs, or one connector of that EVSE, by the URL's ids."""
    if location is None or evse_uid is None:
        return location
    evse = next((e for e in location.get("evses") or [] if str(e.get("uid")) == evse_uid), None)
    if evse is None or connector_id is None:
        return evse
    return next((c for c in evse.get("connectors") or [] if str(c.get("id")) == connector_id), None)


def _put_location_part(
    holder: dict[str, Any],
    *,
    key_parts: tuple[str, str, str],
    evse_uid: str | None,
    connector_id: str | None,
    body: dict[str, Any],
) -> bool:
    """Apply a PUT at any level; returns True when the addressed object is new."""
    cc, pid, location_id = key_parts
    if evse_uid is None:
        created = holder["location"] is None
        holder["location"] = dict(body)
        return created
    if holder["location"] is None:
        # An EVSE pushed before its location: keep it under a placeholder the later PUT replaces.
        holder["location"] = {"country_code": cc, "party_id": pid, "id": location_id, "evses": []}
    location = holder["location"]
    evses = location.setdefault("evses", [])
    index = next((i for i, e in enumerate(evses) if str(e.get("uid")) == evse_uid), None)
    if connector_id is None:
        if index is None:
            evses.append(dict(body))
            return True
        evses[index] = dict(body)
        return False
    if index is None:
        evses.append({"uid": evse_uid, "connectors": []})
        index = len(evses) - 1
    connectors = evses[index].setdefault("connectors", [])
    cindex = next((i for i, c in enumerate(connectors) if str(c.get("id")) == connector_id), None)
    if cindex is None:
        connectors.append(dict(body))
        return True
    connectors[cindex] = dict(body)
    return False
