"""The dashboard's figures: today (since 00:00 UTC) and the last 30 days, one query per panel.

Each query is an aggregate that an index serves (named in the models: session_started_idx,
cdr_ended_idx, command_created_idx, fac_unmatched_idx, outbox_partner_state_idx); days are
grouped in the database and today's figures are read from the same rows, so the page costs the
same few queries however many sessions there are. Rows are counted by an indexed column (not
the id, which the indexes do not hold) so that PostgreSQL reads the index alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from locations.models import Evse, EvseStatus
from payments.models import FinancialAdviceConfirmation
from pushes.models import OutboxMessage
from sessions.models import Cdr, ChargingSession, CommandResponseType, CommandResultType, ReceivedCommand

DAYS = 30


@dataclass(frozen=True)
class Window:
    """Today from 00:00 UTC, and the 30 days that end with today."""

    today: dt.datetime
    since: dt.datetime
    until: dt.datetime  # the end of today: rows dated later (clock skew, imports) are left out
    days: tuple[dt.date, ...]

    @classmethod
    def ending(cls, now: dt.datetime) -> Window:
        today = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        since = today - dt.timedelta(days=DAYS - 1)
        days = tuple((since + dt.timedelta(days=n)).date() for n in range(DAYS))
        return cls(today=today, since=since, until=today + dt.timedelta(days=1), days=days)


@dataclass
class Day:
    day: dt.date
    sessions: int = 0
    kwh: Decimal = Decimal(0)


@dataclass
class Revenue:
    currency: str
    today_excl_vat: Decimal = Decimal(0)
    today_incl_vat: Decimal = Decimal(0)
    month_excl_vat: Decimal = Decimal(0)
    month_incl_vat: Decimal = Decimal(0)
    cdrs: int = 0


@dataclass
class Rate:
    succeeded: int
    decided: int

    @property
    def percent(self) -> int | None:
        return None if not self.decided else round(100 * self.succeeded / self.decided)


@dataclass
class PartnerQueue:
    name: str
    pending: int = 0
    oldest_pending_at: dt.datetime | None = None
    dead_letters: int = 0


# Each panel with the permission that shows it: staff see the figures of what they may view.
PANEL_PERMISSIONS = {
    "sessions": "charging_sessions.view_chargingsession",
    "revenue": "charging_sessions.view_cdr",
    "evses": "locations.view_evse",
    "commands": "charging_sessions.view_receivedcommand",
    "captures": "payments.view_financialadviceconfirmation",
    "pushes": "pushes.view_outboxmessage",
}


@dataclass
class Dashboard:
    """The panels a user may see; a panel left out is None."""

    window: Window
    days: list[Day] | None = None
    revenue: list[Revenue] | None = None
    evse_statuses: list[tuple[str, int]] | None = None
    commands: tuple[Rate, Rate] | None = None
    unmatched: dict[str, int] | None = None
    partner_queues: list[PartnerQueue] | None = None

    @property
    def today(self) -> Day | None:
        return self.days[-1] if self.days else None

    @property
    def month_sessions(self) -> int:
        return sum(day.sessions for day in self.days or ())

    @property
    def month_kwh(self) -> Decimal:
        return sum((day.kwh for day in self.days or ()), Decimal(0))

    @property
    def dead_letters(self) -> int:
        return sum(queue.dead_letters for queue in self.partner_queues or ())


def sessions_per_day(window: Window) -> list[Day]:
    """Sessions started and their energy, per UTC day (session_started_idx)."""
    rows = (
        ChargingSession.objects.filter(start_date_time__gte=window.since, start_date_time__lt=window.until)
        .annotate(day=TruncDate("start_date_time", tzinfo=dt.UTC))
        .values("day")
        .annotate(sessions=Count("start_date_time"), kwh=Sum("kwh"))
        .order_by()
    )
    by_day = {row["day"]: row for row in rows}
    return [
        Day(day=day, sessions=by_day[day]["sessions"], kwh=by_day[day]["kwh"] or Decimal(0))
        if day in by_day
        else Day(day=day)
        for day in window.days
    ]


def revenue_per_currency(window: Window) -> list[Revenue]:
    """CDR totals per currency by the end of charging (cdr_ended_idx); credits count negative."""
    today = Q(end_date_time__gte=window.today)
    rows = (
        Cdr.objects.filter(end_date_time__gte=window.since, end_date_time__lt=window.until)
        .values("currency")
        .annotate(
            cdrs=Count("currency"),
            month_excl_vat=Sum("total_cost_excl_vat"),
            month_incl_vat=Sum("total_cost_incl_vat"),
            today_excl_vat=Sum("total_cost_excl_vat", filter=today),
            today_incl_vat=Sum("total_cost_incl_vat", filter=today),
        )
        .order_by("currency")
    )
    zero = Decimal(0)
    return [
        Revenue(
            currency=row["currency"],
            cdrs=row["cdrs"],
            month_excl_vat=row["month_excl_vat"] or zero,
            month_incl_vat=row["month_incl_vat"] or zero,
            today_excl_vat=row["today_excl_vat"] or zero,
            today_incl_vat=row["today_incl_vat"] or zero,
        )
        for row in rows
    ]


def evse_status_counts() -> list[tuple[str, int]]:
    """EVSEs per status, in the order of the OCPI enum (removed EVSEs included, last)."""
    counts = dict(Evse.objects.values_list("status").annotate(n=Count("id")).order_by())
    return [(label, counts[value]) for value, label in EvseStatus.choices if counts.get(value)]


def command_success(window: Window) -> tuple[Rate, Rate]:
    """Commands the charger accepted among those decided (answered with a result, or refused at
    once); commands still waiting for the charger are not counted (command_created_idx)."""
    decided = ~Q(result="") | ~Q(response_result=CommandResponseType.ACCEPTED)
    accepted = Q(result=CommandResultType.ACCEPTED)
    today = Q(created_at__gte=window.today)
    row = ReceivedCommand.objects.filter(created_at__gte=window.since, created_at__lt=window.until).aggregate(
        month_decided=Count("created_at", filter=decided),
        month_accepted=Count("created_at", filter=accepted),
        today_decided=Count("created_at", filter=decided & today),
        today_accepted=Count("created_at", filter=accepted & today),
    )
    return (
        Rate(succeeded=row["today_accepted"], decided=row["today_decided"]),
        Rate(succeeded=row["month_accepted"], decided=row["month_decided"]),
    )


def unmatched_captures(window: Window) -> dict[str, int]:
    """Captures linked to no session nor CDR (fac_unmatched_idx, a partial index of those only)."""
    return FinancialAdviceConfirmation.objects.filter(session__isnull=True, cdr__isnull=True).aggregate(
        all=Count("received_at"),
        month=Count("received_at", filter=Q(received_at__gte=window.since, received_at__lt=window.until)),
        today=Count("received_at", filter=Q(received_at__gte=window.today, received_at__lt=window.until)),
    )


def partner_queues() -> list[PartnerQueue]:
    """Per partner with waiting work: pending pushes, the oldest of them, dead letters
    (outbox_partner_state_idx: partner, state, created_at)."""
    states = (OutboxMessage.State.PENDING, OutboxMessage.State.DEAD)
    rows = (
        OutboxMessage.objects.filter(state__in=states)
        .values("partner__name", "state")
        .annotate(n=Count("created_at"), oldest=Min("created_at"))
        .order_by()
    )
    queues: dict[str, PartnerQueue] = {}
    for row in rows:
        name = row["partner__name"]
        queue = queues.setdefault(name, PartnerQueue(name=name))
        if row["state"] == OutboxMessage.State.PENDING:
            queue.pending, queue.oldest_pending_at = row["n"], row["oldest"]
        else:
            queue.dead_letters = row["n"]
    # The partner whose oldest push waits longest first; partners with dead letters only last.
    waiting = sorted((q for q in queues.values() if q.oldest_pending_at), key=lambda q: q.oldest_pending_at)
    return waiting + sorted((q for q in queues.values() if not q.oldest_pending_at), key=lambda q: q.name)


def dashboard(*, panels: set[str], now: dt.datetime | None = None) -> Dashboard:
    """The dashboard as of ``now``, with the ``panels`` named (keys of PANEL_PERMISSIONS)."""
    window = Window.ending(now or timezone.now())
    board = Dashboard(window=window)
    if "sessions" in panels:
        board.days = sessions_per_day(window)
    if "revenue" in panels:
        board.revenue = revenue_per_currency(window)
    if "evses" in panels:
        board.evse_statuses = evse_status_counts()
    if "commands" in panels:
        board.commands = command_success(window)
    if "captures" in panels:
        board.unmatched = unmatched_captures(window)
    if "pushes" in panels:
        board.partner_queues = partner_queues()
    return board
