"""Money amounts with their taxes, in both OCPI shapes, and rounding to a currency's minor unit.

An `Amount` is exact (unrounded) until `rounded()` is called; the engine rounds only the figures
it reports, once, at the end. OCPI itself leaves rounding to law and contract (mod_tariffs,
Tariff object, the NOTE on price rounding), hence the rounding mode is a parameter.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import NamedTuple

from tariffs.engine.model import TariffError

# ISO 4217 minor units. HUF and CZK keep 2 decimals in ISO 4217 even if cash has no such coins.
MINOR_UNITS: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "JPY": 0,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "RON": 2,
    "BGN": 2,
    "ISK": 0,
    "KRW": 0,
    "KWD": 3,
    "BHD": 3,
}

MINOR_UNIT_QUANTA = {code: Decimal(1).scaleb(-digits) for code, digits in MINOR_UNITS.items()}
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def minor_unit_quantum(currency: str) -> Decimal:
    """The smallest amount of `currency` (Decimal('0.01') for EUR, Decimal('1') for JPY)."""
    try:
        digits = MINOR_UNITS[currency.upper()]
    except KeyError:
        raise TariffError(f"unknown currency {currency!r}: add its minor unit to MINOR_UNITS") from None
    return Decimal(1).scaleb(-digits)


def round_money(value: Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round `value` to the minor unit of `currency` with the given decimal rounding mode."""
    return value.quantize(minor_unit_quantum(currency), rounding=rounding)


class TaxAmount(NamedTuple):
    """One tax in a 2.3.0 Price; `percentage` None when the rate is not known."""

    percentage: Decimal | None
    amount: Decimal
    name: str = "VAT"
    account_number: str | None = None


class Amount(NamedTuple):
    """A cost before and after taxes, with the taxes that make up the difference.

    A NamedTuple rather than a dataclass: the engine builds many per session and tuples are
    several times cheaper to construct.

    `after_taxes` is None when a price has no known VAT (2.2.1: incl_vat cannot be given);
    `before_taxes` is None only for a tax-inclusive (2.3.0 `tax_included=YES`) price whose
    tax rate is not known.
    """

    before_taxes: Decimal | None
    after_taxes: Decimal | None
    taxes: tuple[TaxAmount, ...] = ()

    def plus(self, other: Amount) -> Amount:
        """The sum of two amounts; unknown (None) stays unknown, taxes add up per rate."""
        before = (
            None
            if self.before_taxes is None or other.before_taxes is None
            else (self.before_taxes + other.before_taxes)
        )
        after = (
            None
            if self.after_taxes is None or other.after_taxes is None
            else (self.after_taxes + other.after_taxes)
        )
        merged: dict[tuple[str, Decimal | None, str | None], Decimal] = {}
        for tax in (*self.taxes, *other.taxes):
            key = (tax.name, tax.percentage, tax.account_number)
            merged[key] = merged.get(key, ZERO) + tax.amount
        taxes = tuple(
            TaxAmount(percentage=key[1], amount=value, name=key[0], account_number=key[2])
            for key, value in sorted(merged.items(), key=_tax_sort_key)
        )
        return Amount(before, after, taxes)

    def rounded(self, currency: str, rounding: str = ROUND_HALF_UP) -> Amount:
        """The amount rounded to the currency's minor unit, still adding up.

        Before and after taxes are each rounded on their own (they are what OCPI reports); the
        tax lines are then rounded so that they make up exactly the difference, with the cents
        that rounding moves going to the lines that lost the most (largest remainder). So
        ``before + sum(taxes) == after`` holds on every CDR, as it must on an invoice.
        """
        quantum = MINOR_UNIT_QUANTA.get(currency) or minor_unit_quantum(currency)
        before, after = self.before_taxes, self.after_taxes
        before_r = None if before is None else before.quantize(quantum, rounding)
        after_r = None if after is None else after.quantize(quantum, rounding)
        if self.taxes and before_r is not None and after_r is not None:
            if len(self.taxes) == 1:  # one rate: its tax is the whole difference
                amounts = [after_r - before_r]
            else:
                amounts = _apportion(after_r - before_r, [t.amount for t in self.taxes], quantum)
        else:
            amounts = [t.amount.quantize(quantum, rounding) for t in self.taxes]
        new = tuple.__new__  # NamedTuples without their Python-level __new__: once per figure priced
        taxes = [
            new(TaxAmount, (t.percentage, amount, t.name, t.account_number))
            for t, amount in zip(self.taxes, amounts, strict=True)
        ]
        return new(Amount, (before_r, after_r, tuple(taxes)))

    def as_ocpi_221(self) -> dict[str, Decimal]:
        """OCPI 2.2.1 `Price`: excl_vat, and incl_vat only when it is known (types, Price class)."""
        if self.before_taxes is None:
            raise TariffError("amount excl. VAT is unknown: a tax-inclusive price has no VAT rate")
        shape = {"excl_vat": self.before_taxes}
        if self.after_taxes is not None:
            shape["incl_vat"] = self.after_taxes
        return shape

    def as_ocpi_230(
        self, *, tax_name: str | None = None, account_number: str | None = None
    ) -> dict[str, object]:
        """OCPI 2.3.0 `Price`: before_taxes and one TaxAmount per rate (types, Price class)."""
        if self.before_taxes is None:
            raise TariffError("amount before taxes is unknown: a tax-inclusive price has no tax rate")
        taxes: list[dict[str, object]] = []
        for tax in self.taxes:
            entry: dict[str, object] = {"name": tax_name or tax.name}
            if (account_number or tax.account_number) is not None:
                entry["account_number"] = account_number or tax.account_number
            if tax.percentage is not None:
                entry["percentage"] = tax.percentage
            entry["amount"] = tax.amount
            taxes.append(entry)
        return {"before_taxes": self.before_taxes, "taxes": taxes}


def _apportion(target: Decimal, exact: list[Decimal], quantum: Decimal) -> list[Decimal]:
    """Round `exact` to `quantum` so that the parts sum to `target` (largest remainder method)."""
    floors = [value.quantize(quantum, ROUND_FLOOR) for value in exact]
    shortfall = int((target - sum(floors, ZERO)) / quantum)
    # Hand out (or take back) whole quanta, largest remainder first; ties keep the given order.
    order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=shortfall >= 0)
    step = quantum if shortfall >= 0 else -quantum
    for turn in range(abs(shortfall)):
        floors[order[turn % len(order)]] += step
    return floors


def _tax_sort_key(item: tuple[tuple[str, Decimal | None, str | None], Decimal]) -> tuple[str, Decimal, str]:
    (name, percentage, account), _ = item
    return (name, Decimal(-1) if percentage is None else percentage, account or "")


ZERO_AMOUNT = Amount(ZERO, ZERO, ())
