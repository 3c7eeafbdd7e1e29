"""Bodies and URLs of what we push, for OCPI 2.2.1 and 2.3.0.

``body_for(object_type, obj, version)`` is the one seam through which the outbox gets a body. It
uses the OCPI API's serializers (the same objects partners GET from us, version differences in
``ocpi_api.versions``) and turns them into plain JSON values, which are what we store as the
partner's acknowledged copy and compare for the next PATCH. Terminals, which only we push, are
written here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import models

from locations.models import Connector, Evse, Location
from ocpi_api.formatting import dumps, format_coordinate, format_datetime
from ocpi_api.modules.cdrs import serialize_cdr
from ocpi_api.modules.locations import serialize_connector, serialize_evse, serialize_location
from ocpi_api.modules.sessions import serialize_session
from ocpi_api.modules.tariffs import serialize_tariff
from payments.models import PaymentTerminal
from sessions.models import Cdr, ChargingSession
from tariffs.models import Tariff


def ocpi_datetime(value: datetime | None) -> str | None:
    """OCPI DateTime in UTC with a Z, to the second (types.asciidoc, 'DateTime type')."""
    return format_datetime(value) if value is not None else None


def terminal_body(terminal: PaymentTerminal, version: str) -> dict[str, Any]:
    """The whole Terminal (mod_payments, Terminal object), for a PUT."""
    body: dict[str, Any] = {
        "terminal_id": terminal.terminal_id,
        "customer_reference": terminal.customer_reference or terminal.partner.customer_reference,
        "party_id": terminal.party_id,
        "country_code": terminal.country_code,
        "address": terminal.address,
        "city": terminal.city,
        "postal_code": terminal.postal_code,
        "state": terminal.state,
        "country": terminal.country,
        "invoice_base_url": terminal.invoice_base_url,
        "invoice_creator": terminal.invoice_creator,
        "reference": terminal.reference,
        "location_ids": sorted(location.location_id for location in terminal.locations.all()),
        "evse_uids": sorted(evse.uid for evse in terminal.evses.all()),
        "last_updated": ocpi_datetime(terminal.last_updated),
    }
    if terminal.latitude is not None and terminal.longitude is not None:
        body["coordinates"] = {
            "latitude": format_coordinate(terminal.latitude),
            "longitude": format_coordinate(terminal.longitude),
        }
    # Optional fields are left out rather than sent empty (transport_and_format, 'JSON').
    body = {key: value for key, value in body.items() if value not in (None, "", [])}
    # Assignments are sent even when empty: an empty list unassigns.
    body["location_ids"] = sorted(location.location_id for location in terminal.locations.all())
    body["evse_uids"] = sorted(evse.uid for evse in terminal.evses.all())
    return body


BODY_BUILDERS: dict[str, Callable[[Any, str], dict[str, Any]]] = {
    "location": serialize_location,
    "evse": serialize_evse,
    "connector": serialize_connector,
    "tariff": serialize_tariff,
    "session": serialize_session,
    "cdr": serialize_cdr,
    "terminal": terminal_body,
}

MODEL_OF_TYPE: dict[str, type[models.Model]] = {
    "location": Location,
    "evse": Evse,
    "connector": Connector,
    "tariff": Tariff,
    "session": ChargingSession,
    "cdr": Cdr,
    "terminal": PaymentTerminal,
}

# Related rows each builder reads, so that one delivery costs a fixed number of queries.
RELATED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "location": (("party",), ("regular_hours", "evses__connectors__tariffs")),
    "evse": (("location__party",), ("connectors__tariffs",)),
    "connector": (("evse__location__party",), ("tariffs",)),
    "tariff": (("party",), ("elements", "alt_texts")),
    "session": (("party", "location", "evse", "connector"), ()),
    "cdr": (("party", "session"), ()),
    "terminal": (("partner",), ("locations", "evses")),
}


def load_object(object_type: str, object_id: str) -> Any | None:
    """Our object as it is now (None when it was deleted)."""
    select, prefetch = RELATED[object_type]
    model = MODEL_OF_TYPE[object_type]
    return (
        model._default_manager.select_related(*select)
        .prefetch_related(*prefetch)
        .filter(pk=object_id)
        .first()
    )


def body_for(object_type: str, obj: Any, version: str) -> dict[str, Any]:
    """The full OCPI body of one of our objects in the partner's version, as plain JSON values."""
    return json.loads(dumps(BODY_BUILDERS[object_type](obj, version)))


def object_path(object_type: str, obj: Any) -> str:
    """The path below the module endpoint that addresses the object on the partner's side."""
    if object_type == "location":
        return f"{obj.party.country_code}/{obj.party.party_id}/{obj.location_id}"
    if object_type == "evse":
        location = obj.location
        return f"{location.party.country_code}/{location.party.party_id}/{location.location_id}/{obj.uid}"
    if object_type == "connector":
        evse = obj.evse
        location = evse.location
        party = location.party
        return f"{party.country_code}/{party.party_id}/{location.location_id}/{evse.uid}/{obj.connector_id}"
    if object_type == "tariff":
        return f"{obj.party.country_code}/{obj.party.party_id}/{obj.tariff_id}"
    if object_type == "session":
        return f"{obj.party.country_code}/{obj.party.party_id}/{obj.session_id}"
    if object_type == "cdr":
        # Not part of the POST (mod_cdrs POSTs to the endpoint itself); the usual place of a stored
        # CDR, used to ask a receiver whether it already has one (see delivery.py).
        return f"{obj.party.country_code}/{obj.party.party_id}/{obj.cdr_id}"
    if object_type == "terminal":
        return f"terminals/{obj.terminal_id}"
    raise ValueError(f"no path for {object_type}")


def object_label(object_type: str, obj: Any) -> str:
    """A short human label: the OCPI id."""
    return {
        "location": lambda: obj.location_id,
        "evse": lambda: obj.uid,
        "connector": lambda: f"{obj.evse.uid}/{obj.connector_id}",
        "tariff": lambda: obj.tariff_id,
        "session": lambda: obj.session_id,
        "cdr": lambda: obj.cdr_id,
        "terminal": lambda: obj.terminal_id,
    }[object_type]()[:120]
