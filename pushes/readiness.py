"""Whether each partner holds our latest state of a location, EVSE, connector or terminal.

Registered with locations.readiness in PushesConfig.ready(): the layers below ask, never import.
Read from the partner copies: a copy with nothing waiting whose acknowledged body is our object
as we would send it now (pushes.selectors.copy_is_current).
"""

from __future__ import annotations

from typing import Any

from locations.models import Connector, Evse, EvseStatus, Location
from locations.readiness import Check
from payments.models import PaymentTerminal
from pushes import payloads
from pushes.models import PartnerCopy
from pushes.routing import object_type_of, recipients
from pushes.selectors import copy_is_current

PARTNERS_UP_TO_DATE = "The partners hold our latest state"


def _pushed(obj: Any) -> list[Any] | None:
    """The object and what is pushed below it (an EVSE's connectors have copies of their own)."""
    if isinstance(obj, Location):
        evses = list(obj.evses.exclude(status=EvseStatus.REMOVED).prefetch_related("connectors"))
        return [obj, *evses, *(connector for evse in evses for connector in evse.connectors.all())]
    if isinstance(obj, Evse):
        return [obj, *obj.connectors.all()]
    if isinstance(obj, (Connector, PaymentTerminal)):
        return [obj]
    return None


class PartnerCopyReadiness:
    def checks(self, obj: Any) -> list[Check]:
        objects = _pushed(obj)
        if objects is None:
            return []
        missing: list[str] = []
        for item in objects:
            object_type = object_type_of(item)
            name = f"{object_type} {payloads.object_label(object_type, item)}"
            partners = list(recipients(object_type, item))
            if not partners:
                missing.append(f"No registered partner receives {name}")
                continue
            copies = {
                copy.partner_id: copy
                for copy in PartnerCopy.objects.filter(
                    object_type=object_type, object_id=str(item.pk), partner__in=partners
                ).select_related("partner")
            }
            for partner in partners:
                copy = copies.get(partner.pk)
                if copy is None or copy.deleted or copy.acknowledged_at is None:
                    missing.append(f"{partner.name} has not acknowledged {name} yet")
                elif not copy_is_current(copy):
                    missing.append(f"{partner.name} holds an older state of {name}")
        return [Check(PARTNERS_UP_TO_DATE, not missing, tuple(missing))]
