"""The push outbox: what we owe each partner, what it has acknowledged, and every attempt made.

``PartnerCopy`` is one partner's copy of one of our objects (a location, an EVSE, a CDR, ...): the
body it last acknowledged, so a later change goes out as a PATCH with the net difference, and the
row that serialises deliveries for that (partner, object) pair. ``OutboxMessage`` rows are written
in the same transaction as the change; a worker delivers them after commit.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from partners.models import Partner


class ObjectType(models.TextChoices):
    LOCATION = "location", "Location"
    EVSE = "evse", "EVSE"
    CONNECTOR = "connector", "Connector"
    TARIFF = "tariff", "Tariff"
    SESSION = "session", "Session"
    CDR = "cdr", "CDR"
    TERMINAL = "terminal", "Payment terminal"
    COMMAND = "command", "Command result"


class PartnerCopy(models.Model):
    """What one partner holds of one of our objects, as far as it acknowledged it."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="push_copies")
    object_type = models.CharField(max_length=10, choices=ObjectType.choices)
    object_id = models.CharField(max_length=64, help_text="Primary key of our object (or a command id).")
    label = models.CharField(max_length=120, blank=True, help_text="The object's OCPI id, for people.")
    acknowledged_body = models.JSONField(
        null=True, blank=True, help_text="The body the partner last accepted (after applying any PATCH)."
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_last_updated = models.DateTimeField(
        null=True, blank=True, help_text="Our object's last_updated when the acknowledged body was built."
    )
    deleted = models.BooleanField(default=False, help_text="The partner acknowledged a DELETE.")
    remote_url = models.CharField(
        max_length=500,
        blank=True,
        help_text="Where the partner keeps it (the Location header of a CDR POST).",
    )
    force_put = models.BooleanField(
        default=False, help_text="Send the whole object next time (reconciliation found a difference)."
    )

    class Meta:
        verbose_name = "partner copy"
        verbose_name_plural = "partner copies"
        ordering = ("partner", "object_type", "object_id")
        constraints = (
            models.UniqueConstraint(
                fields=("partner", "object_type", "object_id"), name="partner_copy_unique_object"
            ),
        )

    def __str__(self) -> str:
        return f"{self.partner} {self.object_type} {self.label or self.object_id}"


class OutboxMessage(models.Model):
    """One thing to deliver to one partner, written in the transaction of the change it reports."""

    class Kind(models.TextChoices):
        STATE = "STATE", "Latest state (coalesced)"
        EVENT = "EVENT", "Event (sent as written, never coalesced)"

    class Action(models.TextChoices):
        UPSERT = "UPSERT", "PUT or PATCH the latest state"
        DELETE = "DELETE", "DELETE (withdrawn)"
        REMOVE_EVSE = "REMOVE_EVSE", "PATCH status REMOVED (EVSE deleted)"
        POST_CDR = "POST_CDR", "POST a CDR"
        COMMAND_RESULT = "COMMAND_RESULT", "POST a CommandResult"
        TERMINAL_ACTIVATE = "TERMINAL_ACTIVATE", "Activate a terminal"
        TERMINAL_DEACTIVATE = "TERMINAL_DEACTIVATE", "Deactivate a terminal"

    class State(models.TextChoices):
        PENDING = "PENDING", "Pending"
        IN_FLIGHT = "IN_FLIGHT", "In flight"
        DELIVERED = "DELIVERED", "Delivered"
        DEAD = "DEAD", "Dead letter"
        DISCARDED = "DISCARDED", "Discarded"

    # The outbox is our most written table: a foreign key is indexed only by the composite index
    # that starts with it (Meta.indexes), not again on its own.
    copy = models.ForeignKey(PartnerCopy, on_delete=models.CASCADE, related_name="messages", db_index=False)
    # Denormalised from the copy for the admin's filters and the per-partner health figures.
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="outbox_messages", db_index=False
    )
    module = models.CharField(max_length=20)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    action = models.CharField(max_length=20, choices=Action.choices)
    changed_fields = models.JSONField(
        default=list, blank=True, help_text="Model fields changed since the last delivery (for people)."
    )
    payload = models.JSONField(null=True, blank=True, help_text="The body of an event, fixed when written.")
    url = models.CharField(max_length=500, blank=True, help_text="Target of an event (a response_url).")
    fast = models.BooleanField(default=False, help_text="EVSE status change: delivered on the fast queue.")
    coalesced = models.PositiveIntegerField(default=0, help_text="Later changes folded into this message.")
    state = models.CharField(max_length=9, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    outcome_unknown = models.BooleanField(
        default=False, help_text="The last attempt got no answer: the partner may have it already."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    changed_at = models.DateTimeField(help_text="When the latest change folded into it was committed.")
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    waiting_for = models.ForeignKey(
        PartnerCopy,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # see outbox_waiting_for_idx: only the few that wait
        help_text="Another copy whose delivery must come first (an EVSE waits for its location's PUT).",
    )
    requeued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the beat task last enqueued it; cleared when claimed."
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    # The attempt number a worker claimed it with: its outcome is recorded only if still that one.
    claimed_attempts: int = 0
    # Set by delivery: whether the partner was failing at claim time, and whether another message
    # of the same copy waits once this one is delivered.
    partner_was_failing: bool = False
    probe: bool = False  # claimed as the probe of a partner that is down
    more_waiting: bool = False

    class Meta:
        verbose_name = "outbox message"
        ordering = ("-id",)
        indexes = (
            # The beat task finds due pending messages and expired leases.
            models.Index(
                fields=("state", "next_attempt_at"),
                name="outbox_due_idx",
                condition=Q(state__in=("PENDING", "IN_FLIGHT")),
            ),
            # The fast path takes the oldest pending status changes (pushes.fast).
            models.Index(
                fields=("id",),
                name="outbox_fast_pending_idx",
                condition=Q(fast=True, state="PENDING"),
            ),
            # A delivery takes the oldest open message of its copy (per partner and object order).
            models.Index(fields=("copy", "state", "id"), name="outbox_copy_order_idx"),
            # Queue depth and oldest pending message per partner.
            models.Index(fields=("partner", "state", "created_at"), name="outbox_partner_state_idx"),
            # Messages to release when a copy is delivered.
            models.Index(
                fields=("waiting_for",), name="outbox_waiting_for_idx", condition=Q(waiting_for__isnull=False)
            ),
        )

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.copy}"

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.PENDING, self.State.IN_FLIGHT)


class DeliveryAttempt(models.Model):
    """One HTTP exchange made to deliver a message (append-only)."""

    class Outcome(models.TextChoices):
        DELIVERED = "DELIVERED", "Delivered"
        RETRY = "RETRY", "Failed, will retry"
        UNKNOWN = "UNKNOWN", "No answer (may have arrived)"
        PAUSED = "PAUSED", "Refused: partner paused"
        REJECTED = "REJECTED", "Rejected by the partner"
        RESEND = "RESEND", "The partner lacks it: sent whole next"
        PROBE = "PROBE", "Checked whether the partner already has it"

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attempts_made")
    # Indexed by push_attempt_partner_idx, which starts with it.
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="push_attempts", db_index=False
    )
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    method = models.CharField(max_length=7)
    url = models.CharField(max_length=500)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    ocpi_status = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=9, choices=Outcome.choices)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = "delivery attempt"
        ordering = ("-started_at", "-id")
        indexes = (
            # Failure rate per partner over the last 24 hours.
            models.Index(fields=("partner", "started_at"), name="push_attempt_partner_idx"),
        )

    def __str__(self) -> str:
        return f"{self.method} {self.url} {self.outcome}"


class PartnerPushStatus(models.Model):
    """Whether pushes to a partner flow, and why not when they do not."""

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="push_status")
    paused = models.BooleanField(
        default=False, help_text="Pushes wait: the partner refused our credentials (401) or the method (405)."
    )
    paused_reason = models.CharField(max_length=500, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Failures observed in a row, at most one per attempt window."
    )
    failure_counted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the last failure was counted: attempts started within the window after it "
        "are the same observation.",
    )
    retry_after = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The partner is down: its next probe (one message) is due then; the others wait for it.",
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "partner push status"
        verbose_name_plural = "partner push statuses"

    def __str__(self) -> str:
        return f"{self.partner}: {'paused' if self.paused else 'flowing'}"


class PullCursor(models.Model):
    """How far a periodic pull from a partner got (the next date_from)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="pull_cursors")
    name = models.CharField(max_length=40, help_text="terminals or financial-advice-confirmations.")
    date_from = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ("partner", "name")
        constraints = (models.UniqueConstraint(fields=("partner", "name"), name="pull_cursor_unique"),)

    def __str__(self) -> str:
        return f"{self.partner} {self.name} from {self.date_from}"


class DeadLetter(OutboxMessage):
    """Outbox messages that ran out of retries or were rejected (an admin view of their own)."""

    class Meta:
        proxy = True
        verbose_name = "dead letter"


class PartnerPushHealth(Partner):
    """Partners seen from the outbox: queue depth, oldest message, failure rate (an admin view)."""

    class Meta:
        proxy = True
        verbose_name = "partner push health"
        verbose_name_plural = "partner push health"
