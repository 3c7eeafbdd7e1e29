"""Who gets what: the partners that receive an object, read from the object itself.

See the README ("Who gets what"): locations, EVSEs, connectors and tariffs go to every partner
allowed to see their party; sessions and CDRs to the partner whose token started them; terminals to
the PTP that owns them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from cpo_portal.compiled import CompiledQuery
from locations.models import Connector, Evse, Location
from partners.models import Partner
from payments.models import PaymentTerminal
from pushes import selectors
from pushes.models import ObjectType, OutboxMessage, PartnerCopy
from sessions.models import Cdr, ChargingSession
from tariffs.models import Tariff

MODULE_OF_TYPE: dict[str, str] = {
    ObjectType.LOCATION: "locations",
    ObjectType.EVSE: "locations",
    ObjectType.CONNECTOR: "locations",
    ObjectType.TARIFF: "tariffs",
    ObjectType.SESSION: "sessions",
    ObjectType.CDR: "cdrs",
    ObjectType.TERMINAL: "payments",
    ObjectType.COMMAND: "commands",
}


def object_type_of(obj: Any) -> str:
    for model, object_type in (
        (Location, ObjectType.LOCATION),
        (Evse, ObjectType.EVSE),
        (Connector, ObjectType.CONNECTOR),
        (Tariff, ObjectType.TARIFF),
        (ChargingSession, ObjectType.SESSION),
        (Cdr, ObjectType.CDR),
        (PaymentTerminal, ObjectType.TERMINAL),
    ):
        if isinstance(obj, model):
            return object_type
    raise TypeError(f"{type(obj).__name__} is not pushed to partners")


# Locations and everything below them, and tariffs, go to every partner allowed to see their party.
PARTY_SCOPED = (ObjectType.LOCATION, ObjectType.EVSE, ObjectType.CONNECTOR, ObjectType.TARIFF)


def recipients(object_type: str, obj: Any) -> QuerySet[Partner]:
    """The partners that get this object: see the issue's routing rules in the README."""
    return recipients_by_key(object_type, routing_key(object_type, obj))


def routing_key(object_type: str, obj: Any) -> int | None:
    """The id on the object that decides who gets it: its party's, or the partner's whose token
    started it. Read off the object itself, so that finding recipients costs no query of its own."""
    if object_type in (ObjectType.LOCATION, ObjectType.TARIFF):
        return obj.party_id
    if object_type == ObjectType.EVSE:
        return obj.location_id
    if object_type == ObjectType.CONNECTOR:
        return obj.evse_id
    return getattr(obj, "partner_id", None)


def recipients_by_key(object_type: str, key: int | None) -> QuerySet[Partner]:
    module = MODULE_OF_TYPE[object_type]
    if object_type in PARTY_SCOPED:
        return selectors.partners_seeing_party(module, _party_of(object_type, key))
    if object_type in (ObjectType.SESSION, ObjectType.CDR, ObjectType.TERMINAL):
        # Sessions and CDRs go to the partner whose token started them, and to no one else;
        # terminals to the PTP that owns them.
        return selectors.partners_with_endpoint(module).filter(pk=key)
    return Partner.objects.none()


def _party_of(object_type: str, key: int | None) -> Any:
    """The party (its id, or a subquery for it) of the object whose routing key is ``key``."""
    if object_type == ObjectType.EVSE:
        return Subquery(Location.objects.filter(pk=key).values("party_id"))
    if object_type == ObjectType.CONNECTOR:
        return Subquery(Location.objects.filter(evses=key).values("party_id"))
    return key


@dataclass(frozen=True)
class Holding:
    """A partner's copy of an object as the outbox knows it: the copy's id (None: no copy yet) and
    its newest waiting message (None: nothing waits)."""

    copy_pk: int | None
    waiting_message_pk: int | None


def holding_columns(object_type: str, object_id: str) -> dict[str, Subquery]:
    """Columns for a partner query: the partner's copy of the object and its newest waiting message."""
    copies = PartnerCopy.objects.filter(
        partner=OuterRef("pk"), object_type=object_type, object_id=object_id
    ).order_by()
    waiting = OutboxMessage.objects.filter(
        copy__partner=OuterRef("pk"),
        copy__object_type=object_type,
        copy__object_id=object_id,
        state=OutboxMessage.State.PENDING,
    ).order_by("-id")
    return {
        "held_copy_pk": Subquery(copies.values("pk")[:1]),
        "waiting_message_pk": Subquery(waiting.values("pk")[:1]),
    }


@functools.cache
def recipients_holding(object_type: str) -> CompiledQuery[Partner]:
    """The recipients of an object of this type, each with ``held_copy_pk`` and ``waiting_message_pk``
    (see ``Holding``), as one query compiled once per process: it runs for every change."""

    def build(key: int, object_id: str) -> QuerySet[Partner]:
        return recipients_by_key(object_type, key).annotate(**holding_columns(object_type, object_id))

    return CompiledQuery(build, key=-7_000_001, object_id="stand-in object id")
