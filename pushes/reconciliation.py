"""Reconciliation: GET back what each partner holds of our locations, sessions and CDRs, and
re-push what differs. It catches what the outbox cannot see: a partner that lost data, or one that
applied a PATCH differently. Differences are queued as a full PUT (a CDR as a new POST, checked first).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from partners.models import Partner
from pushes import payloads, routing, selectors, services, staff
from pushes.models import ObjectType, OutboxMessage, PartnerCopy
from pushes.transport import send

logger = logging.getLogger(__name__)

RECONCILED_TYPES = (ObjectType.LOCATION, ObjectType.SESSION, ObjectType.CDR)


def reconcile_all() -> int:
    """Check every acknowledged copy of a registered partner; returns how many were re-pushed."""
    since = timezone.now() - timedelta(days=settings.PUSH_RECONCILE_DAYS)
    copies = (
        PartnerCopy.objects.filter(
            partner__status=Partner.Status.REGISTERED,
            object_type__in=RECONCILED_TYPES,
            acknowledged_at__isnull=False,
            deleted=False,
        )
        # Sessions and CDRs of long ago are settled; locations are always checked.
        .filter(Q(object_type=ObjectType.LOCATION) | Q(acknowledged_at__gte=since))
        .select_related("partner")
        .order_by("partner_id", "id")
    )
    return sum(1 for copy in copies.iterator() if reconcile_copy(copy))


def _strip_last_updated(value: Any) -> Any:
    # A receiver moves a parent's last_updated when a child changes (mod_locations 'PATCH'), and
    # the clocks differ by the time a push took: last_updated is not part of the comparison.
    if isinstance(value, dict):
        return {k: _strip_last_updated(v) for k, v in value.items() if k != "last_updated"}
    if isinstance(value, list):
        return [_strip_last_updated(v) for v in value]
    return value


def differences(ours: dict[str, Any], theirs: Any) -> list[str]:
    """Top-level keys whose values differ (ignoring last_updated at every level)."""
    if not isinstance(theirs, dict):
        return ["<missing>"]
    ours, theirs = _strip_last_updated(ours), _strip_last_updated(theirs)
    return sorted(key for key in set(ours) | set(theirs) if ours.get(key) != theirs.get(key))


def reconcile_copy(copy: PartnerCopy) -> bool:
    """Compare one partner copy with our object; queue a re-push when they differ."""
    if copy.messages.filter(state__in=(OutboxMessage.State.PENDING, OutboxMessage.State.IN_FLIGHT)).exists():
        return False  # a push is under way; compare once it is done
    obj = payloads.load_object(copy.object_type, copy.object_id)
    if obj is None:
        return False
    partner = copy.partner
    module = routing.MODULE_OF_TYPE[copy.object_type]
    base = selectors.endpoint_url(partner, module)
    if base is None:
        return False
    if copy.object_type == ObjectType.CDR:
        url = copy.remote_url or f"{base}/{payloads.object_path(ObjectType.CDR, obj)}"
    else:
        url = f"{base}/{payloads.object_path(copy.object_type, obj)}"
    reply = send(partner, "GET", url, None)
    if not reply.answered or (reply.http_status or 0) >= 500 or reply.http_status in (401, 405):
        return False  # cannot tell now; the next run tries again
    missing = reply.http_status == 404 or (reply.ok and reply.data is None)
    if copy.object_type == ObjectType.CDR:
        if not missing:
            return False
        logger.warning("Partner %s lacks CDR %s; posting it again", partner, copy.label)
        message = copy.messages.filter(action=OutboxMessage.Action.POST_CDR).order_by("-id").first()
        if message is not None:
            staff.message_replay(message)
        return True
    ours = payloads.body_for(copy.object_type, obj, partner.version)
    found = ["<missing>"] if missing else differences(ours, reply.data)
    if not found:
        return False
    logger.warning(
        "Partner %s holds a different %s %s (%s); pushing it again",
        partner,
        copy.object_type,
        copy.label,
        ", ".join(found),
    )
    with transaction.atomic():
        PartnerCopy.objects.filter(pk=copy.pk).update(force_put=True)
        services.queue_state(
            partner=partner,
            object_type=copy.object_type,
            object_id=copy.object_id,
            label=copy.label,
            changed_fields=[f"reconciliation: {', '.join(found)}"[:200]],
        )
    return True
