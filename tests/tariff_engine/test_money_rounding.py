"""Rounded amounts still add up: before taxes plus the tax lines is after taxes, to the cent."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tariffs.engine import Amount, TaxAmount


def test_the_complex_example_keeps_the_spec_totals_and_moves_the_cent_into_a_tax_line() -> None:
    # mod_tariffs complex example, corrected Saturday figures: 12.375 before taxes, 13.975 after.
    exact = Amount(
        Decimal("12.375"),
        Decimal("13.975"),
        (
            TaxAmount(Decimal(10), Decimal("0.75")),
            TaxAmount(Decimal(15), Decimal("0.375")),
            TaxAmount(Decimal(20), Decimal("0.475")),
        ),
    )
    rounded = exact.rounded("EUR")
    assert (rounded.before_taxes, rounded.after_taxes) == (Decimal("12.38"), Decimal("13.98"))
    assert sum(tax.amount for tax in rounded.taxes) == Decimal("1.60")
    assert [tax.amount for tax in rounded.taxes] == [Decimal("0.75"), Decimal("0.38"), Decimal("0.47")]


def test_a_single_tax_line_is_the_difference_of_the_rounded_totals() -> None:
    exact = Amount(Decimal("8.1046"), Decimal("9.8066"), (TaxAmount(Decimal(21), Decimal("1.7020")),))
    rounded = exact.rounded("EUR")
    assert rounded == Amount(Decimal("8.10"), Decimal("9.81"), (TaxAmount(Decimal(21), Decimal("1.71")),))


amounts = st.decimals(min_value=0, max_value=10_000, places=6, allow_nan=False, allow_infinity=False)
rates = st.sampled_from([Decimal(0), Decimal(6), Decimal(9), Decimal(19), Decimal(21), Decimal("7.7")])


@given(st.lists(st.tuples(amounts, rates), min_size=1, max_size=4))
def test_rounded_before_plus_taxes_is_always_rounded_after(lines: list[tuple[Decimal, Decimal]]) -> None:
    before = sum((net for net, _ in lines), Decimal(0))
    taxes = tuple(TaxAmount(rate, net * rate / 100) for net, rate in lines)
    after = before + sum((tax.amount for tax in taxes), Decimal(0))

    rounded = Amount(before, after, taxes).rounded("EUR")

    assert rounded.before_taxes + sum(tax.amount for tax in rounded.taxes) == rounded.after_taxes
    for exact_tax, rounded_tax in zip(taxes, rounded.taxes, strict=True):
        assert abs(exact_tax.amount - rounded_tax.amount) <= Decimal("0.02")
