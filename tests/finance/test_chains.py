"""An original CDR, its credit and its replacement are one chain, reconciled against one capture."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from finance.selectors import (
    ChainRole,
    ReconciliationStatus,
    captures_without_cdr,
    captures_without_cdr_totals,
    cdrs_with_reconciliation,
    chain_facts_for,
    reconciliation_totals,
)
from sessions.credits import cdr_credit_and_correct
from sessions.models import Cdr
from tests.factories import CdrFactory, FinancialAdviceConfirmationFactory
from tests.finance.export_data import capture

pytestmark = pytest.mark.django_db


def correct(cdr: Cdr, incl: str | None) -> tuple[Cdr, Cdr | None]:
    corrections = None if incl is None else {"total_cost_incl_vat": Decimal(incl)}
    return cdr_credit_and_correct(cdr=cdr, corrections=corrections, remark="Meter misread")


def row(cdr: Cdr) -> Cdr:
    return cdrs_with_reconciliation().get(pk=cdr.pk)


def the_issue_dataset() -> tuple[Cdr, Cdr, Cdr | None]:
    """Six rows: one corrected chain (20.33 captured, 18.15 after correction) and three others."""
    original = CdrFactory(total_cost_incl_vat=Decimal("20.33"))
    capture(original, "20.33")
    matched = CdrFactory(total_cost_incl_vat=Decimal("12.00"))
    capture(matched, "12.00")
    partial = CdrFactory(total_cost_incl_vat=Decimal("21.97"))
    capture(partial, "20.33", "PARTIAL_SUCCESS")
    CdrFactory(total_cost_incl_vat=Decimal("10.00"))  # awaiting its capture
    credit, replacement = correct(original, "18.15")
    return original, credit, replacement


def test_the_corrected_chain_reconciles_to_the_cent() -> None:
    the_issue_dataset()
    assert Cdr.objects.count() == 6

    totals = reconciliation_totals(cdrs_with_reconciliation())

    assert totals == {
        "EUR": {
            "billed": Decimal("62.12"),
            "captured": Decimal("52.66"),
            "difference": Decimal("-9.46"),
            "refund_due": Decimal("2.18"),
        }
    }


def test_each_row_of_the_chain_shows_the_chain_and_its_role() -> None:
    original, credit, replacement = the_issue_dataset()
    assert replacement is not None

    rows = {cdr.pk: row(cdr) for cdr in (original, credit, replacement)}

    for annotated in rows.values():
        assert annotated.chain_billed == Decimal("18.15")
        assert annotated.chain_captured == Decimal("20.33")
        assert annotated.chain_difference == Decimal("2.18")
        assert annotated.reconciliation_status == ReconciliationStatus.REFUND_DUE
        assert annotated.chain_root == original.pk
    assert rows[original.pk].chain_role == ChainRole.CREDITED
    assert rows[credit.pk].chain_role == ChainRole.CREDIT
    assert rows[replacement.pk].chain_role == ChainRole.REPLACEMENT


def test_a_filter_that_shows_part_of_a_chain_still_counts_the_whole_chain_once() -> None:
    _original, credit, _replacement = the_issue_dataset()
    only_credit = cdrs_with_reconciliation(Cdr.objects.filter(pk=credit.pk))
    assert reconciliation_totals(only_credit)["EUR"] == {
        "billed": Decimal("18.15"),
        "captured": Decimal("20.33"),
        "difference": Decimal("2.18"),
        "refund_due": Decimal("2.18"),
    }


def test_a_credit_without_replacement_leaves_the_whole_capture_to_refund() -> None:
    original = CdrFactory(total_cost_incl_vat=Decimal("7.45"))
    capture(original, "7.45")
    correct(original, None)

    assert reconciliation_totals(cdrs_with_reconciliation())["EUR"] == {
        "billed": Decimal("0.00"),
        "captured": Decimal("7.45"),
        "difference": Decimal("7.45"),
        "refund_due": Decimal("7.45"),
    }
    assert row(original).reconciliation_status == ReconciliationStatus.REFUND_DUE


def test_a_partial_capture_leaves_the_driver_owing_the_rest() -> None:
    cdr = CdrFactory(total_cost_incl_vat=Decimal("15.00"))
    capture(cdr, "9.99", "PARTIAL_SUCCESS")

    assert row(cdr).reconciliation_status == ReconciliationStatus.PARTIAL_CAPTURE
    assert row(cdr).chain_difference == Decimal("-5.01")
    assert reconciliation_totals(cdrs_with_reconciliation())["EUR"] == {
        "billed": Decimal("15.00"),
        "captured": Decimal("9.99"),
        "difference": Decimal("-5.01"),
        "refund_due": Decimal("0.00"),
    }


def test_a_failed_capture_captured_nothing() -> None:
    cdr = CdrFactory(total_cost_incl_vat=Decimal("11.11"))
    capture(cdr, "11.11", "FAILED")

    assert row(cdr).reconciliation_status == ReconciliationStatus.CAPTURE_FAILED
    assert row(cdr).chain_captured == Decimal("0")
    assert reconciliation_totals(cdrs_with_reconciliation())["EUR"] == {
        "billed": Decimal("11.11"),
        "captured": Decimal("0.00"),
        "difference": Decimal("-11.11"),
        "refund_due": Decimal("0.00"),
    }


def test_a_capture_without_cdr_is_totalled_apart_and_not_in_the_cdr_totals() -> None:
    cdr = CdrFactory(total_cost_incl_vat=Decimal("3.00"))
    capture(cdr, "3.00")
    FinancialAdviceConfirmationFactory(
        authorization_reference="NO-SUCH-SESSION", total_costs_incl_vat=Decimal("4.56"), currency="EUR"
    )
    FinancialAdviceConfirmationFactory(
        authorization_reference="NOR-THIS", total_costs_incl_vat=Decimal("1.01"), currency="GBP"
    )

    assert captures_without_cdr().count() == 2
    assert captures_without_cdr_totals() == {"EUR": Decimal("4.56"), "GBP": Decimal("1.01")}
    assert reconciliation_totals(cdrs_with_reconciliation())["EUR"]["captured"] == Decimal("3.00")


def test_two_currencies_are_totalled_apart() -> None:
    euros = CdrFactory(total_cost_incl_vat=Decimal("20.33"), currency="EUR")
    capture(euros, "20.33")
    correct(euros, "18.15")
    pounds = CdrFactory(total_cost_incl_vat=Decimal("8.40"), currency="GBP")
    capture(pounds, "8.00")

    totals = reconciliation_totals(cdrs_with_reconciliation())

    assert totals == {
        "EUR": {
            "billed": Decimal("18.15"),
            "captured": Decimal("20.33"),
            "difference": Decimal("2.18"),
            "refund_due": Decimal("2.18"),
        },
        "GBP": {
            "billed": Decimal("8.40"),
            "captured": Decimal("8.00"),
            "difference": Decimal("-0.40"),
            "refund_due": Decimal("0.00"),
        },
    }


def test_the_page_shows_the_chain_together_and_links_rows_to_the_cdr_page(finance_client: Client) -> None:
    original, credit, replacement = the_issue_dataset()
    assert replacement is not None

    response = finance_client.get("/admin/finance/cdrreconciliation/")

    assert response.status_code == 200
    shown = [cdr.pk for cdr in response.context["cl"].result_list]
    chain = shown.index(original.pk)
    assert shown[chain : chain + 3] == [original.pk, credit.pk, replacement.pk]
    body = response.content.decode()
    assert f"/admin/charging_sessions/cdr/{replacement.pk}/change/" in body
    assert "Refund due to the driver" in body
    assert response.context["reconciliation_totals"]["EUR"]["billed"] == Decimal("62.12")


def test_the_export_reads_the_same_chain_figures_as_the_page() -> None:
    """chain_facts_for() (exports, per chunk) and cdrs_with_reconciliation() (the page) agree."""
    the_issue_dataset()
    credited = CdrFactory(total_cost_incl_vat=Decimal("7.45"))
    capture(credited, "7.45")
    correct(credited, None)
    capture(CdrFactory(total_cost_incl_vat=Decimal("11.11")), "11.11", "FAILED")
    CdrFactory(authorization_reference="")  # not a card payment
    pounds = CdrFactory(total_cost_incl_vat=Decimal("8.40"), currency="GBP")
    capture(pounds, "8.00")

    annotated = list(cdrs_with_reconciliation().order_by("pk"))
    facts = chain_facts_for(list(Cdr.objects.order_by("pk")))

    assert len(annotated) == 11
    for cdr in annotated:
        fact = facts[cdr.pk]
        assert (fact.role, fact.status, fact.capture_status or None) == (
            cdr.chain_role,
            cdr.reconciliation_status,
            cdr.capture_status,
        )
        assert (fact.billed, fact.captured, fact.difference) == (
            cdr.chain_billed,
            cdr.chain_captured,
            cdr.chain_difference,
        )
