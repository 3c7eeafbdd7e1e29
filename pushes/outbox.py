"""The push outbox as the domain asks for it (``partners.outbox.Outbox``; registered in ready())."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from partners.models import Partner
from partners.outbox import sender_of_changes
from pushes.models import ObjectType, OutboxMessage
from pushes.routing import recipients
from pushes.services import command_result_queued, object_changed
from sessions.models import Cdr


class PushOutbox:
    def changed(self, obj: Any, fields: Iterable[str] | None = None) -> None:
        object_changed(obj, fields, sender_id=sender_of_changes())

    def command_result(
        self, *, partner: Partner, command_id: str, response_url: str, result: dict[str, Any]
    ) -> None:
        command_result_queued(
            partner=partner, command_id=command_id, response_url=response_url, result=result
        )

    def cdr_recipients(self, cdr: Cdr) -> list[str]:
        # The routing rule itself (recipients()): a CDR goes to the registered partner whose token
        # started the session, when it lists a CDRs receiver endpoint.
        return [partner.name for partner in recipients(ObjectType.CDR, cdr)]

    def cdrs_queued(self, cdrs: Iterable[Cdr]) -> list[str]:
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
