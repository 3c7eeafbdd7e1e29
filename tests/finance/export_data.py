"""The data set of the export tests: every kind of row an export writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sessions.credits import cdr_credit_and_correct
from sessions.models import Cdr
from tests.factories import CdrFactory, FinancialAdviceConfirmationFactory

END = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # 1 April 01:30 in Amsterdam (summer time)


def ending(end: datetime) -> dict[str, datetime]:
    return {"start_date_time": end - timedelta(hours=1), "end_date_time": end}


def capture(cdr: Cdr, amount: str, status: str = "SUCCESS", eft: list[str] | None = None) -> None:
    FinancialAdviceConfirmationFactory(
        partner=cdr.partner,
        authorization_reference=cdr.authorization_reference,
        total_costs_incl_vat=Decimal(amount),
        currency=cdr.currency,
        capture_status_code=status,
        eft_data=eft or [],
    )


def dataset() -> dict[str, Cdr]:
    """Every kind of row an export writes, each ending at its own minute before END."""
    original = CdrFactory(
        cdr_id="EXP-ORIGINAL",
        start_date_time=END - timedelta(hours=2),
        end_date_time=END,
        total_cost_excl_vat=Decimal("16.8000"),
        total_cost_incl_vat=Decimal("20.3300"),
        total_cost_taxes=[{"name": "VAT", "percentage": "21", "amount": "3.53"}],
        total_energy_cost_excl_vat=Decimal("12.3450"),  # half to even: 12.34
        total_time_cost_excl_vat=Decimal("4.4550"),  # half to even: 4.46
        total_energy=Decimal("22.1234"),
        total_time=Decimal("1.500000"),
        total_parking_time=Decimal("0.250000"),
        tariffs=[{"id": "AC-DAY"}, {"id": "AC-NIGHT"}],
        invoice_reference_id="INV-1",
        session__token_uid="04A1B2C3D4E5F6",
    )
    capture(original, "20.33", eft=["VISA ****1234", "AUTH 0042"])
    credit, replacement = cdr_credit_and_correct(
        cdr=original,
        corrections={"total_cost_excl_vat": Decimal("15.00"), "total_cost_incl_vat": Decimal("18.15")},
        remark="Meter misread",
    )
    assert replacement is not None
    cash = CdrFactory(
        cdr_id="EXP-NO-CARD",
        authorization_reference="",
        end_date_time=END - timedelta(minutes=1),
        start_date_time=END - timedelta(minutes=61),
        total_cost_excl_vat=Decimal("5.0000"),
        total_cost_incl_vat=Decimal("6.2500"),
        total_cost_taxes=[
            {"name": "VAT", "percentage": "21", "amount": "1.00"},
            {"name": "City", "percentage": "5", "amount": "0.25"},
        ],
        invoice_reference_id="=HYPERLINK(1)",
    )
    failed = CdrFactory(
        cdr_id="EXP-FAILED",
        end_date_time=END - timedelta(minutes=2),
        start_date_time=END - timedelta(minutes=62),
        total_cost_excl_vat=Decimal("9.1800"),
        total_cost_incl_vat=Decimal("11.1100"),
    )
    capture(failed, "11.11", "FAILED")
    partial = CdrFactory(
        cdr_id="EXP-PARTIAL",
        end_date_time=END - timedelta(minutes=3),
        start_date_time=END - timedelta(minutes=63),
        total_cost_excl_vat=Decimal("18.1600"),
        total_cost_incl_vat=Decimal("21.9700"),
        currency="GBP",
    )
    capture(partial, "20.33", "PARTIAL_SUCCESS")
    return {
        "original": original,
        "credit": credit,
        "replacement": replacement,
        "cash": cash,
        "failed": failed,
        "partial": partial,
    }
