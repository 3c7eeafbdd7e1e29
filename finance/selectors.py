"""Reads for finance: CDRs beside the captures Payter confirmed, and captures with no CDR.

A card payment is matched through the PTP's ``authorization_reference`` (mod_payments, Financial
Advice Confirmation object): the FAC tells what was captured "with VAT", so it is compared with
the CDR's total including taxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from payments.models import CaptureStatusCode, FinancialAdviceConfirmation
from sessions.models import Cdr


class ReconciliationStatus:
    """How a chain stands against its capture; values are stable, they appear in exports."""

    MATCHED = "MATCHED"
    REFUND_DUE = "REFUND_DUE"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    PARTIAL_CAPTURE = "PARTIAL_CAPTURE"
    CAPTURE_FAILED = "CAPTURE_FAILED"
    AWAITING_CAPTURE = "AWAITING_CAPTURE"
    NOT_CARD_PAYMENT = "NOT_CARD_PAYMENT"

    choices = (
        (MATCHED, "Captured as billed"),
        (REFUND_DUE, "Refund due to the driver"),
        (AMOUNT_MISMATCH, "Captured less than billed"),
        (PARTIAL_CAPTURE, "Partially captured"),
        (CAPTURE_FAILED, "Capture failed"),
        (AWAITING_CAPTURE, "Awaiting capture"),
        (NOT_CARD_PAYMENT, "Not a card payment"),
    )
    labels = dict(choices)


class ChainRole:
    """A CDR's place in its chain: original (credited) -> credit -> replacement."""

    SINGLE = "SINGLE"
    CREDITED = "CREDITED"
    CREDIT = "CREDIT"
    REPLACEMENT = "REPLACEMENT"

    choices = (
        (SINGLE, "CDR"),
        (CREDITED, "Credited original"),
        (CREDIT, "Credit"),
        (REPLACEMENT, "Replacement"),
    )
    labels = dict(choices)


# A chain is every CDR of one authorisation: the PTP's pre-authorisation reference of one partner
# (mod_payments, FinancialAdviceConfirmation.authorization_reference). cdr_credit_and_correct()
# copies it onto the credit and the replacement, so the original, its credit and its replacement
# share it, and the capture of that authorisation is counted once for all of them.


def _is_card_payment() -> Q:
    return ~Q(authorization_reference="") & Q(partner__isnull=False)


def _same_chain() -> QuerySet[Cdr]:
    return Cdr.objects.filter(
        partner=OuterRef("partner"), authorization_reference=OuterRef("authorization_reference")
    ).order_by()


def _latest_capture() -> QuerySet[FinancialAdviceConfirmation]:
    # The newest confirmation wins: a PTP may post a FAILED capture and later a SUCCESS one.
    return FinancialAdviceConfirmation.objects.filter(
        partner=OuterRef("partner"), authorization_reference=OuterRef("authorization_reference")
    ).order_by("-last_updated", "-pk")


def _captured_amount() -> Case:
    """What the latest capture took from the card: nothing when it failed."""
    return Case(
        When(capture_status=CaptureStatusCode.FAILED, then=Value(Decimal(0))),
        When(fac_id__isnull=True, then=Value(None)),
        default=Coalesce(F("captured_incl_vat"), Value(Decimal(0))),
        output_field=DecimalField(max_digits=14, decimal_places=4),
    )


def cdrs_with_reconciliation(queryset: QuerySet[Cdr] | None = None) -> QuerySet[Cdr]:
    """CDRs annotated with their chain and its capture.

    Per row: fac_id, captured_incl_vat, capture_status (the latest capture of the authorisation);
    chain_root (pk of the chain's first CDR), chain_end, chain_role, chain_billed (net of the chain),
    chain_captured, chain_difference (captured - net: > 0 is owed to the driver) and
    reconciliation_status (of the chain). A CDR without authorisation is a chain of its own.
    """
    queryset = Cdr.objects.all() if queryset is None else queryset
    latest = _latest_capture()
    chain = _same_chain()
    chain_net = chain.values("partner").annotate(net=Sum("total_cost_incl_vat")).values("net")
    amount = DecimalField(max_digits=14, decimal_places=4)
    card = _is_card_payment()
    credit_of_this = Cdr.objects.filter(
        party=OuterRef("party"), credit=True, credit_reference_id=OuterRef("cdr_id")
    )
    return (
        queryset.annotate(
            fac_id=Subquery(latest.values("fac_id")[:1]),
            captured_incl_vat=Subquery(latest.values("total_costs_incl_vat")[:1]),
            capture_status=Subquery(latest.values("capture_status_code")[:1]),
            chain_root=Case(
                When(card, then=Subquery(chain.order_by("pk").values("pk")[:1])), default=F("pk")
            ),
            chain_end=Case(
                When(card, then=Subquery(chain.order_by("pk").values("end_date_time")[:1])),
                default=F("end_date_time"),
            ),
            chain_billed=Case(
                When(card, then=Subquery(chain_net, output_field=amount)),
                default=F("total_cost_incl_vat"),
                output_field=amount,
            ),
            chain_role=Case(
                When(credit=True, then=Value(ChainRole.CREDIT)),
                # Found within the chain (its authorisation's index) where there is one.
                When(
                    card & Exists(chain.filter(credit=True, credit_reference_id=OuterRef("cdr_id"))),
                    then=Value(ChainRole.CREDITED),
                ),
                When(~card & Exists(credit_of_this), then=Value(ChainRole.CREDITED)),
                When(card & Exists(chain.filter(credit=True)), then=Value(ChainRole.REPLACEMENT)),
                default=Value(ChainRole.SINGLE),
                output_field=CharField(),
            ),
        )
        .annotate(chain_captured=_captured_amount())
        .annotate(
            chain_difference=ExpressionWrapper(F("chain_captured") - F("chain_billed"), output_field=amount),
            reconciliation_status=Case(
                When(~card, then=Value(ReconciliationStatus.NOT_CARD_PAYMENT)),
                When(fac_id__isnull=True, then=Value(ReconciliationStatus.AWAITING_CAPTURE)),
                When(
                    capture_status=CaptureStatusCode.FAILED, then=Value(ReconciliationStatus.CAPTURE_FAILED)
                ),
                When(chain_captured__gt=F("chain_billed"), then=Value(ReconciliationStatus.REFUND_DUE)),
                When(
                    capture_status=CaptureStatusCode.PARTIAL_SUCCESS,
                    then=Value(ReconciliationStatus.PARTIAL_CAPTURE),
                ),
                When(chain_captured=F("chain_billed"), then=Value(ReconciliationStatus.MATCHED)),
                default=Value(ReconciliationStatus.AMOUNT_MISMATCH),
                output_field=CharField(),
            ),
        )
    )


_CENT = Decimal("0.01")


def reconciliation_totals(queryset: QuerySet[Cdr]) -> dict[str, dict[str, Decimal]]:
    """Per currency, over the chains the queryset touches (card payments), each chain once:
    billed (net of the chain), captured (the capture of its authorisation), difference
    (captured - billed) and refund_due (the sum of what chains captured over their net)."""
    touched = queryset.filter(_is_card_payment()).filter(
        partner=OuterRef("partner"), authorization_reference=OuterRef("authorization_reference")
    )
    chains = (
        Cdr.objects.filter(Exists(touched.order_by().values("pk")))
        .order_by()
        .values("currency", "partner", "authorization_reference")
        .annotate(
            net=Sum("total_cost_incl_vat"),
            captured=Coalesce(
                Subquery(
                    _latest_capture()
                    .annotate(
                        amount=Case(
                            When(capture_status_code=CaptureStatusCode.FAILED, then=Value(Decimal(0))),
                            default=F("total_costs_incl_vat"),
                        )
                    )
                    .values("amount")[:1]
                ),
                Value(Decimal(0)),
            ),
        )
    )
    sql, params = chains.query.sql_with_params()
    # Sum of sums: a chain's net is an aggregate, so the per-currency total aggregates over it.
    # ``sql`` is the ORM's own compiled query; every value stays in ``params``.
    # CASE rather than GREATEST, which SQLite (the embedded set-up) does not have.
    columns = (
        "chain.currency, SUM(net), SUM(captured),"
        " SUM(CASE WHEN captured > net THEN captured - net ELSE 0 END)"
    )
    outer = f"SELECT {columns} FROM ({sql}) AS chain GROUP BY chain.currency ORDER BY chain.currency"  # noqa: S608
    totals = {}
    with connection.cursor() as cursor:
        cursor.execute(outer, params)
        for currency, *sums in cursor.fetchall():
            # PostgreSQL answers Decimals; SQLite sums its numeric columns as int or float.
            billed, captured, refund_due = (Decimal(str(value)).quantize(_CENT) for value in sums)
            totals[currency] = {
                "billed": billed,
                "captured": captured,
                "difference": captured - billed,
                "refund_due": refund_due,
            }
    return totals


def captures_without_cdr() -> QuerySet[FinancialAdviceConfirmation]:
    """Confirmations whose authorization_reference matches no CDR of that partner (yet)."""
    cdr_exists = Cdr.objects.filter(
        partner=OuterRef("partner"), authorization_reference=OuterRef("authorization_reference")
    )
    return FinancialAdviceConfirmation.objects.filter(~Exists(cdr_exists)).select_related("partner")


def captures_without_cdr_totals() -> dict[str, Decimal]:
    """What was captured with no CDR to bill it, per currency (failed captures took nothing)."""
    rows = (
        captures_without_cdr()
        .exclude(capture_status_code=CaptureStatusCode.FAILED)
        .order_by()
        .values("currency")
        .annotate(captured=Sum("total_costs_incl_vat"))
        .order_by("currency")
    )
    return {row["currency"]: (row["captured"] or Decimal(0)).quantize(_CENT) for row in rows}


# -- the same rules, per chunk of CDRs, for exports -----------------------------------------------------
# An export of 200,000 CDRs cannot afford the correlated subqueries above for each row: it reads
# the chains and captures of a chunk of CDRs in two queries and applies chain_status() below, the
# Python twin of the CASE in cdrs_with_reconciliation() (tests/finance/test_chains.py holds them equal).


class ChainFacts(NamedTuple):
    """One CDR's chain and capture (a named tuple: an export builds one per row, and a frozen
    dataclass cost several times as much to build)."""

    role: str
    billed: Decimal | None
    captured: Decimal | None
    difference: Decimal | None
    status: str
    capture_status: str
    eft_data: list[str]


def chain_status(
    *, card: bool, capture_status: str | None, captured: Decimal | None, net: Decimal | None
) -> str:
    """How a chain stands: the rule of the CASE in cdrs_with_reconciliation(), in the same order."""
    if not card:
        return ReconciliationStatus.NOT_CARD_PAYMENT
    if capture_status is None:
        return ReconciliationStatus.AWAITING_CAPTURE
    if capture_status == CaptureStatusCode.FAILED:
        return ReconciliationStatus.CAPTURE_FAILED
    if captured is not None and net is not None and captured > net:
        return ReconciliationStatus.REFUND_DUE
    if capture_status == CaptureStatusCode.PARTIAL_SUCCESS:
        return ReconciliationStatus.PARTIAL_CAPTURE
    if captured == net:
        return ReconciliationStatus.MATCHED
    return ReconciliationStatus.AMOUNT_MISMATCH


def chain_facts_for(cdrs: list[Any]) -> dict[int, ChainFacts]:
    """Each CDR's chain and capture, for a chunk of CDRs, in three queries at most.

    ``cdrs``: CDRs, or rows with their pk, cdr_id, party_id, partner_id, authorization_reference,
    credit and total_cost_incl_vat.
    """
    index = chain_index(Cdr.objects.filter(pk__in=[cdr.pk for cdr in cdrs]))
    return {
        cdr.pk: index.facts(
            cdr_id=cdr.cdr_id,
            party_id=cdr.party_id,
            partner_id=cdr.partner_id,
            authorization_reference=cdr.authorization_reference,
            credit=bool(cdr.credit),
            total_cost_incl_vat=cdr.total_cost_incl_vat,
        )
        for cdr in cdrs
    }


@dataclass(slots=True)
class _Chain:
    net: Decimal
    has_credit: bool
    credited: set[str]  # cdr_ids of the chain's CDRs that a credit of the chain credits


class ChainIndex:
    """The chains and latest captures of a set of CDRs (see chain_index()); facts() applies the
    rules of cdrs_with_reconciliation() to one CDR. A chain's facts are worked out once per role."""

    def __init__(
        self,
        *,
        chains: dict[tuple[int, str], _Chain],
        captures: dict[tuple[int, str], tuple[str, Decimal | None, list[str]]],
        credited_alone: set[tuple[int, str]],
    ) -> None:
        self._chains = chains
        self._captures = captures
        self._credited_alone = credited_alone
        self._facts: dict[tuple[int, str, str], ChainFacts] = {}

    def facts(
        self,
        *,
        cdr_id: str,
        party_id: int,
        partner_id: int | None,
        authorization_reference: str,
        credit: bool,
        total_cost_incl_vat: Decimal | None,
    ) -> ChainFacts:
        if not authorization_reference or partner_id is None:
            # Not a card payment: a chain of its own, billed its own total, never captured.
            if credit:
                role = ChainRole.CREDIT
            elif (party_id, cdr_id) in self._credited_alone:
                role = ChainRole.CREDITED
            else:
                role = ChainRole.SINGLE
            return _facts(card=False, role=role, net=total_cost_incl_vat, capture=None)
        key = (partner_id, authorization_reference)
        chain = self._chains.get(key)
        if chain is None:  # a chain of this one CDR (see chain_index(chained=...))
            return _facts(
                card=True,
                role=ChainRole.CREDIT if credit else ChainRole.SINGLE,
                net=total_cost_incl_vat if total_cost_incl_vat is not None else Decimal(0),
                capture=self._captures.get(key),
            )
        if credit:
            role = ChainRole.CREDIT
        elif cdr_id in chain.credited:
            role = ChainRole.CREDITED
        elif chain.has_credit:
            role = ChainRole.REPLACEMENT
        else:
            role = ChainRole.SINGLE
        cached = self._facts.get((partner_id, authorization_reference, role))
        if cached is None:
            cached = _facts(card=True, role=role, net=chain.net, capture=self._captures.get(key))
            self._facts[(partner_id, authorization_reference, role)] = cached
        return cached


def _facts(
    *, card: bool, role: str, net: Decimal | None, capture: tuple[str, Decimal | None, list[str]] | None
) -> ChainFacts:
    status, amount, eft_data = capture if capture is not None else (None, None, [])
    if status is None:
        captured = None
    elif status == CaptureStatusCode.FAILED:
        captured = Decimal(0)
    else:
        captured = amount if amount is not None else Decimal(0)
    return ChainFacts(
        role=role,
        billed=net,
        captured=captured,
        difference=None if captured is None or net is None else captured - net,
        status=chain_status(card=card, capture_status=status, captured=captured, net=net),
        capture_status=status or "",
        eft_data=eft_data,
    )


def chain_index(
    cdrs: QuerySet[Cdr], *, chained: QuerySet[Cdr] | None = None, outside_chains: bool = True
) -> ChainIndex:
    """The chains (every CDR of an authorisation, credits and replacements included) and the latest
    capture of each chain that the CDRs of ``cdrs`` belong to, in three queries at most: ``cdrs`` is
    used as a subquery, so no list of ids or references travels as parameters.

    ``chained``: those of ``cdrs`` whose chain has other CDRs, when the caller knows (the export's
    ordering query does); the chains of the others are not read, each is a chain of its one CDR.
    ``outside_chains=False`` skips the query for credits of CDRs that are not card payments (when
    ``cdrs`` holds none)."""
    references = cdrs.filter(_is_card_payment()).order_by().values("authorization_reference")
    chain_references = (
        references
        if chained is None
        else chained.filter(_is_card_payment()).order_by().values("authorization_reference")
    )
    chains: dict[tuple[int, str], _Chain] = {}
    for partner_id, reference, credit, credited_id, total in (
        Cdr.objects.filter(authorization_reference__in=chain_references, partner__isnull=False)
        .order_by()
        .values_list("partner_id", "authorization_reference", "credit", "credit_reference_id",
                     "total_cost_incl_vat")
    ):  # fmt: skip
        chain = chains.get((partner_id, reference))
        if chain is None:
            chain = chains[(partner_id, reference)] = _Chain(net=Decimal(0), has_credit=False, credited=set())
        if total is not None:
            chain.net += total
        if credit:
            chain.has_credit = True
            chain.credited.add(credited_id)
    captures: dict[tuple[int, str], tuple[str, Decimal | None, list[str]]] = {}
    for partner_id, reference, status, amount, eft_data in (
        FinancialAdviceConfirmation.objects.filter(authorization_reference__in=references)
        .order_by("last_updated", "pk")  # the newest last: it wins, as in _latest_capture()
        .values_list("partner_id", "authorization_reference", "capture_status_code", "total_costs_incl_vat",
                     "eft_data")
    ):  # fmt: skip
        captures[(partner_id, reference)] = (status, amount, eft_data or [])
    credited_alone: set[tuple[int, str]] = set()
    if outside_chains:
        alone = cdrs.exclude(_is_card_payment()).order_by().values("cdr_id")
        credited_alone = set(
            Cdr.objects.filter(credit=True, credit_reference_id__in=alone).values_list(
                "party_id", "credit_reference_id"
            )
        )
    return ChainIndex(chains=chains, captures=captures, credited_alone=credited_alone)
