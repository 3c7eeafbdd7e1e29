"""The push outbox answers the charging flow's questions about CDR delivery (sessions.delivery)."""

from __future__ import annotations

from collections.abc import Iterable

from pushes.models import ObjectType, OutboxMessage
from pushes.services import recipients
from sessions.models import Cdr


class OutboxCdrDelivery:
    def recipients(self, cdr: Cdr) -> list[str]:
        # The routing rule itself (recipients()): a CDR goes to the registered partner whose token
        # started the session, when it lists a CDRs receiver endpoint.
        return [partner.name for partner in recipients(ObjectType.CDR, cdr)]

    def queued(self, cdrs: Iterable[Cdr]) -> list[str]:
        labels = {str(cdr.pk): cdr.cdr_id for cdr in cdrs}
        messages = (
            OutboxMessage.objects.filter(
                action=OutboxMessage.Action.POST_CDR,
                copy__object_type=ObjectType.CDR,
                copy__object_id__in=list(labels),
            )
            .select_related("copy", "partner")
            .order_by("pk")
        )
        return [
            f"CDR {labels[message.copy.object_id]}: POST to {message.partner.name} "
            f"({message.get_state_display().lower()})"
            for message in messages
        ]
