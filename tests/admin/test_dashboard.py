"""The dashboard on the admin index: today's and the last 30 days' figures, as tables that read
without JavaScript, charts drawn on the server, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from backoffice import selectors
from locations.models import Evse, EvseStatus
from payments.models import FinancialAdviceConfirmation
from pushes.models import OutboxMessage, PartnerCopy
from sessions.models import CommandResponseType, CommandResultType, CommandType, ReceivedCommand
from tests.factories import (
    CdrFactory,
    ChargingSessionFactory,
    EvseFactory,
    FinancialAdviceConfirmationFactory,
    PartnerFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
ALL_PANELS = set(selectors.PANEL_PERMISSIONS)


def _command(partner: Any, *, at: dt.datetime, response: str, result: str = "") -> None:
    ReceivedCommand.objects.create(
        partner=partner, command=CommandType.START_SESSION, version="2.2.1",
        idempotency_key=f"key-{ReceivedCommand.objects.count()}", request_body={},
        response_url="https://partner.example.com/cb", response_result=response, response_timeout=30,
        result=result, created_at=at,
    )  # fmt: skip


def _outbox(partner: Any, *, state: str, created_at: dt.datetime) -> None:
    copy, _ = PartnerCopy.objects.get_or_create(partner=partner, object_type="location", object_id="LOC-DASH")
    message = OutboxMessage.objects.create(
        copy=copy, partner=partner, module="locations", kind="STATE", action="UPSERT",
        state=state, changed_at=created_at, next_attempt_at=created_at,
    )  # fmt: skip
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=created_at)


@pytest.fixture
def activity() -> dict[str, Any]:
    """Sessions today, 10 and 40 days ago; CDRs in two currencies; commands; captures; pushes."""
    partner = PartnerFactory(name="Payter")
    for started, kwh in ((NOW - dt.timedelta(hours=2), "10"), (NOW - dt.timedelta(hours=1), "5.5")):
        ChargingSessionFactory(start_date_time=started, kwh=Decimal(kwh), partner=partner)
    ChargingSessionFactory(start_date_time=NOW - dt.timedelta(days=10), kwh=Decimal("20"), partner=partner)
    ChargingSessionFactory(start_date_time=NOW - dt.timedelta(days=40), kwh=Decimal("99"), partner=partner)
    CdrFactory(session__start_date_time=NOW - dt.timedelta(hours=3), session__partner=partner)  # ends today
    CdrFactory(session__start_date_time=NOW - dt.timedelta(days=5), session__partner=partner, currency="GBP",
               total_cost_excl_vat=Decimal("10.00"), total_cost_incl_vat=Decimal("12.00"))  # fmt: skip
    CdrFactory(session__start_date_time=NOW - dt.timedelta(days=45), session__partner=partner)
    for status in (EvseStatus.AVAILABLE, EvseStatus.AVAILABLE, EvseStatus.CHARGING, EvseStatus.OUTOFORDER):
        EvseFactory(status=status)
    _command(partner, at=NOW - dt.timedelta(hours=1), response=CommandResponseType.ACCEPTED,
             result=CommandResultType.ACCEPTED)  # fmt: skip
    _command(partner, at=NOW - dt.timedelta(hours=1), response=CommandResponseType.REJECTED)
    _command(partner, at=NOW - dt.timedelta(minutes=1), response=CommandResponseType.ACCEPTED)  # waiting
    _command(partner, at=NOW - dt.timedelta(days=3), response=CommandResponseType.ACCEPTED,
             result=CommandResultType.ACCEPTED)  # fmt: skip
    today = FinancialAdviceConfirmationFactory(partner=partner)
    earlier = FinancialAdviceConfirmationFactory(partner=partner)
    FinancialAdviceConfirmationFactory(partner=partner, cdr=CdrFactory())  # matched
    FinancialAdviceConfirmation.objects.filter(pk=today.pk).update(received_at=NOW - dt.timedelta(hours=1))
    FinancialAdviceConfirmation.objects.filter(pk=earlier.pk).update(received_at=NOW - dt.timedelta(days=60))
    other = PartnerFactory(name="Other PTP")
    _outbox(partner, state=OutboxMessage.State.PENDING, created_at=NOW - dt.timedelta(minutes=30))
    _outbox(partner, state=OutboxMessage.State.PENDING, created_at=NOW - dt.timedelta(minutes=5))
    _outbox(other, state=OutboxMessage.State.PENDING, created_at=NOW - dt.timedelta(hours=2))
    _outbox(other, state=OutboxMessage.State.DEAD, created_at=NOW - dt.timedelta(hours=5))
    _outbox(partner, state=OutboxMessage.State.DELIVERED, created_at=NOW - dt.timedelta(hours=9))
    return {"partner": partner}


def test_the_figures_cover_today_and_the_last_30_days(activity: dict[str, Any]) -> None:
    board = selectors.dashboard(panels=ALL_PANELS, now=NOW)

    assert board.today is not None
    # Two sessions of 10 and 5.5 kWh, and the 12.5 kWh session of the CDR that ended today.
    assert (board.today.sessions, board.today.kwh) == (3, Decimal("28"))
    # And those of 10 days (20 kWh) and of 5 days ago (a CDR's, 12.5 kWh); not 40 nor 45 days ago.
    assert (board.month_sessions, board.month_kwh) == (5, Decimal("60.5"))
    assert len(board.days or []) == 30
    revenue = {row.currency: row for row in board.revenue or []}
    assert set(revenue) == {"EUR", "GBP"}
    assert (revenue["EUR"].today_incl_vat, revenue["EUR"].month_incl_vat) == (Decimal("5.9"), Decimal("5.9"))
    assert (revenue["GBP"].today_excl_vat, revenue["GBP"].month_excl_vat) == (Decimal(0), Decimal("10.00"))
    statuses = dict(board.evse_statuses or [])
    assert (statuses["Charging"], statuses["Out of order"]) == (1, 1)
    assert statuses["Available"] == Evse.objects.filter(status=EvseStatus.AVAILABLE).count()
    assert "Removed" not in statuses
    today, month = board.commands or (None, None)
    assert (today.succeeded, today.decided, today.percent) == (1, 2, 50)  # type: ignore[union-attr]
    assert (month.succeeded, month.decided) == (2, 3)  # type: ignore[union-attr]
    assert board.unmatched == {"all": 2, "month": 1, "today": 1}
    queues = [(q.name, q.pending, q.oldest_pending_at, q.dead_letters) for q in board.partner_queues or []]
    assert queues == [
        ("Other PTP", 1, NOW - dt.timedelta(hours=2), 1),
        ("Payter", 2, NOW - dt.timedelta(minutes=30), 0),
    ]
    assert board.dead_letters == 1


def test_the_index_shows_the_dashboard_as_tables_in_a_fixed_number_of_queries(
    activity: dict[str, Any], staff_client: Client, django_assert_max_num_queries: Any
) -> None:
    staff_client.get(reverse("admin:index"))  # the session and the user, cached for this client

    with django_assert_max_num_queries(12):
        page = staff_client.get(reverse("admin:index"))

    html = page.content.decode()
    dashboard = html[html.index('<div class="cpo-dashboard"') : html.index('<div id="content-main"')]
    for caption in ("Charging", "Revenue", "EVSEs by status", "Commands and captures", "Pushes waiting"):
        assert f"<caption>{caption}" in dashboard
    assert "Sessions per day" in dashboard
    assert "<svg" in dashboard
    assert "Other PTP" in dashboard
    # Drawn on the server and styled by our own static file: no script, nothing from elsewhere.
    assert "<script" not in dashboard
    assert not re.search(r"(src|href)=\"https?://", dashboard)
    assert "backoffice/dashboard.css" in html


def test_each_role_sees_the_panels_of_what_it_may_view(activity: dict[str, Any]) -> None:
    def index_for(group: str | None) -> str:
        user = get_user_model().objects.create_user(f"user-{group}", "u@example.com", "correct horse battery")
        user.is_staff = True
        user.save()
        if group:
            user.groups.add(Group.objects.get(name=group))
        client = Client()
        client.force_login(user)
        return client.get(reverse("admin:index")).content.decode()

    back_office = index_for("Back office")
    assert "<caption>EVSEs by status" in back_office
    assert "<caption>Revenue" not in back_office
    finance = index_for("Finance")
    assert "<caption>Revenue" in finance
    assert "<caption>Pushes waiting" not in finance
    assert "Pushes waiting" in index_for("Operations")
    assert 'class="cpo-dashboard"' not in index_for(None)
