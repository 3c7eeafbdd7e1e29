"""The currency a driver pays in, by the country a location stands in (ISO 3166-1 alpha-3 to ISO 4217).

Only what a warning needs: a tariff in another currency than the location's country is allowed
(a cross-border operator may price in euro), but it is rarely what staff meant.
"""

from __future__ import annotations

_EURO = (
    "AUT", "BEL", "CYP", "DEU", "ESP", "EST", "FIN", "FRA", "GRC", "HRV", "IRL", "ITA", "LTU",
    "LUX", "LVA", "MLT", "NLD", "PRT", "SVK", "SVN", "AND", "MCO", "SMR", "VAT", "MNE", "XKX",
)  # fmt: skip

COUNTRY_CURRENCIES: dict[str, str] = {
    **dict.fromkeys(_EURO, "EUR"),
    "BGR": "BGN",
    "CHE": "CHF",
    "LIE": "CHF",
    "CZE": "CZK",
    "DNK": "DKK",
    "GBR": "GBP",
    "HUN": "HUF",
    "ISL": "ISK",
    "NOR": "NOK",
    "POL": "PLN",
    "ROU": "RON",
    "SWE": "SEK",
    "USA": "USD",
    "CAN": "CAD",
    "AUS": "AUD",
}


def currency_of_country(country: str) -> str | None:
    """The country's currency, or None when we do not know it (no warning then)."""
    return COUNTRY_CURRENCIES.get(country.upper())
