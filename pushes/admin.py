"""Admin of the push outbox: messages with retry/replay/discard, dead letters, partner health."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from cpo_portal.admin import short_url
from partners.models import Partner
from pushes import selectors, staff
from pushes.models import (
    DeadLetter,
    DeliveryAttempt,
    OutboxMessage,
    PartnerCopy,
    PartnerPushHealth,
    PullCursor,
)


@admin.action(description="Retry now", permissions=["change"])
def retry_now(
    modeladmin: admin.ModelAdmin[OutboxMessage], request: HttpRequest, queryset: QuerySet[OutboxMessage]
) -> None:
    done = sum(1 for message in queryset if staff.message_retry_now(message))
    modeladmin.message_user(request, f"{done} message(s) will be tried again now.", messages.SUCCESS)


@admin.action(description="Replay (send the whole object again)", permissions=["change"])
def replay(
    modeladmin: admin.ModelAdmin[OutboxMessage], request: HttpRequest, queryset: QuerySet[OutboxMessage]
) -> None:
    replays = [staff.message_replay(message) for message in queryset.select_related("copy")]
    modeladmin.message_user(request, f"{len(replays)} replay message(s) queued.", messages.SUCCESS)


@admin.action(description="Discard", permissions=["change"])
def discard(
    modeladmin: admin.ModelAdmin[OutboxMessage], request: HttpRequest, queryset: QuerySet[OutboxMessage]
) -> None:
    done = sum(1 for message in queryset if staff.message_discard(message))
    modeladmin.message_user(
        request, f"{done} message(s) discarded (messages in flight are left alone).", messages.WARNING
    )


class DeliveryAttemptInline(admin.TabularInline[DeliveryAttempt, OutboxMessage]):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("started_at", "method", "url", "http_status", "ocpi_status", "outcome", "duration_ms", "error")
    readonly_fields = fields
    ordering = ("-started_at",)

    def has_add_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin[OutboxMessage]):
    # The module follows from the object; coalesced changes and the error are on the message's page.
    list_display = (
        "id",
        "partner",
        "action",
        "object_label",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
        "last_http_status",
    )
    list_filter = ("state", "module", "action", "partner", "fast")
    search_fields = ("copy__label", "copy__object_id", "last_error")
    list_select_related = ("partner", "copy")
    raw_id_fields = ("copy", "partner")
    readonly_fields = (
        "copy",
        "partner",
        "module",
        "kind",
        "action",
        "changed_fields",
        "payload",
        "url",
        "fast",
        "coalesced",
        "state",
        "attempts",
        "outcome_unknown",
        "created_at",
        "changed_at",
        "next_attempt_at",
        "lease_until",
        "waiting_for",
        "requeued_at",
        "delivered_at",
        "last_http_status",
        "last_error",
    )
    actions = (retry_now, replay, discard)
    inlines = (DeliveryAttemptInline,)
    show_full_result_count = False
    date_hierarchy = "created_at"

    @admin.display(description="object", ordering="copy__label")
    def object_label(self, message: OutboxMessage) -> str:
        return f"{message.copy.object_type} {message.copy.label or message.copy.object_id}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(OutboxMessageAdmin):
    """Messages that ran out of retries or were rejected: retry or replay them from here."""

    list_filter = ("module", "action", "partner")
    # All of them are dead and wait for nobody: no state nor next attempt.
    list_display = ("id", "partner", "action", "object_label", "attempts", "created_at", "last_http_status")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxMessage]:
        return super().get_queryset(request).filter(state=OutboxMessage.State.DEAD)


@admin.register(PartnerCopy)
class PartnerCopyAdmin(admin.ModelAdmin[PartnerCopy]):
    list_display = ("partner", "object_type", "label", "has_latest_state", "acknowledged_at", "deleted")
    list_filter = ("object_type", "partner", "deleted")
    search_fields = ("label", "object_id")
    list_select_related = ("partner",)
    raw_id_fields = ("partner",)
    readonly_fields = (
        "partner",
        "object_type",
        "object_id",
        "label",
        "acknowledged_body",
        "acknowledged_at",
        "acknowledged_last_updated",
        "deleted",
        "remote_url",
        "force_put",
    )
    show_full_result_count = False
    # Each row compares our object with what the partner acknowledged: keep pages short.
    list_per_page = 50

    @admin.display(description="partner has latest state", boolean=True)
    def has_latest_state(self, copy: PartnerCopy) -> bool:
        return selectors.copy_is_current(copy)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


def _ago(moment: datetime | None) -> object:
    """How long ago, for a list column (three full timestamps side by side overflow the window);
    the UTC time shows on hover."""
    if moment is None:
        return "-"
    return format_html('<span title="{}">{} ago</span>', f"{moment:%Y-%m-%d %H:%M:%S} UTC", timesince(moment))


# Why a partner gets no pushes, said once (the status labels carry parentheses of their own).
_NOT_CONNECTED = {
    Partner.Status.PLANNED: "token A issued, no handshake yet",
    Partner.Status.UNREGISTERED: "unregistered",
}


@admin.register(PartnerPushHealth)
class PartnerPushHealthAdmin(admin.ModelAdmin[PartnerPushHealth]):
    """Per partner: whether pushes flow, queue depth, stuck and dead messages, failure rate (24 h),
    last successful push and pull."""

    list_display = (
        "name",
        "alert",
        "queue_depth",
        "oldest_pending",
        "stuck",
        "dead_letters",
        "failure_rate",
        "last_push",
        "last_pull",
    )
    list_filter = ("status", "push_status__paused")
    search_fields = ("name",)
    list_select_related = ("push_status",)
    fields = ("name", "status", "version")
    readonly_fields = fields
    actions = ("resume", "retry_now")

    def _health(self, partner: Partner) -> selectors.PartnerHealth:
        # One row's columns share one reading (the row object lives for this request only).
        health: selectors.PartnerHealth | None = getattr(partner, "_push_health", None)
        if health is None:
            health = selectors.partner_health(partner)
            partner._push_health = health  # type: ignore[attr-defined]
        return health

    @admin.display(description="pushes")
    def alert(self, partner: Partner) -> str:
        if partner.status in _NOT_CONNECTED:
            why = _NOT_CONNECTED[partner.status]
            return format_html('<span style="color:#666">not connected</span>: {}', why)
        if partner.status == Partner.Status.SUSPENDED:
            return format_html('<span style="color:#b8860b">suspended</span>')
        status = getattr(partner, "push_status", None)
        if status is not None and status.paused:
            return format_html('<strong style="color:#ba2121">PAUSED</strong>: {}', status.paused_reason)
        if status is not None and status.retry_after is not None:
            return format_html(
                '<span style="color:#b8860b">down ({} failures in a row), next probe {}</span>',
                status.consecutive_failures,
                status.retry_after,
            )
        stuck = self._health(partner).stuck
        if stuck:
            return format_html('<strong style="color:#ba2121">stuck</strong>: {} message(s) overdue', stuck)
        return "flowing"

    @admin.display(description="queue depth")
    def queue_depth(self, partner: Partner) -> int:
        return self._health(partner).queue_depth

    @admin.display(description="oldest pending")
    def oldest_pending(self, partner: Partner) -> object:
        return _ago(self._health(partner).oldest_pending_at)

    @admin.display(description="stuck")
    def stuck(self, partner: Partner) -> int:
        return self._health(partner).stuck

    @admin.display(description="failure rate 24 h")
    def failure_rate(self, partner: Partner) -> str:
        health = self._health(partner)
        if health.failure_rate is None:
            return "-"
        return f"{health.failure_rate:.0%} of {health.attempts_24h}"

    @admin.display(description="dead letters")
    def dead_letters(self, partner: Partner) -> int:
        return self._health(partner).dead_letters

    @admin.display(description="last successful push")
    def last_push(self, partner: Partner) -> object:
        return _ago(self._health(partner).last_push_at)

    @admin.display(description="last pull")
    def last_pull(self, partner: Partner) -> object:
        return _ago(self._health(partner).last_pull_at)

    @admin.action(description="Retry now (the partner's waiting and dead messages)", permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[PartnerPushHealth]) -> None:
        partners = list(queryset)
        done = sum(staff.partner_messages_retry_now(partner=partner) for partner in partners)
        self.message_user(
            request,
            f"{done} message(s) of {len(partners)} partner(s) will be tried again now.",
            messages.SUCCESS,
        )

    @admin.action(description="Resume pushes (after fixing the credentials)", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[PartnerPushHealth]) -> None:
        released = sum(staff.partner_resume(partner) for partner in queryset)
        self.message_user(request, f"Resumed; {released} object(s) queued for delivery.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Partner | None = None) -> bool:
        return False


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin[DeliveryAttempt]):
    list_display = (
        "started_at",
        "partner",
        "method",
        "path",
        "http_status",
        "ocpi_status",
        "outcome",
        "duration_ms",
    )
    list_filter = ("outcome", "partner", "method")
    search_fields = ("url", "error")
    list_select_related = ("partner",)
    raw_id_fields = ("message", "partner")
    readonly_fields = (
        "message",
        "partner",
        "started_at",
        "duration_ms",
        "method",
        "url",
        "http_status",
        "ocpi_status",
        "outcome",
        "error",
    )
    show_full_result_count = False
    date_hierarchy = "started_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DeliveryAttempt | None = None) -> bool:
        return False

    @admin.display(description="URL", ordering="url")
    def path(self, attempt: DeliveryAttempt) -> SafeString:
        return short_url(attempt.url)


@admin.register(PullCursor)
class PullCursorAdmin(admin.ModelAdmin[PullCursor]):
    list_display = ("partner", "name", "date_from", "last_run_at", "last_error")
    list_filter = ("name", "partner")
    search_fields = ("partner__name",)
    list_select_related = ("partner",)
    raw_id_fields = ("partner",)
    readonly_fields = ("last_run_at", "last_error")
