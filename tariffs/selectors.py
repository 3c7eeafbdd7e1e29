"""Reads for tariffs: what the terminal will show, and where staff's texts disagree with the prices."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tariffs import engine
from tariffs.engine_adapter import engine_tariff
from tariffs.models import Tariff, TariffElement


def tariff_stale_text_warnings(
    *, tariff: Tariff, elements: Iterable[TariffElement], texts: Mapping[str, str]
) -> list[str]:
    """One warning per language whose text quotes a price the elements no longer compute.

    ``elements`` and ``texts`` may be unsaved (the admin's preview); a tariff the engine cannot
    price yet gets no warning here (the preview says why it cannot be priced).
    """
    try:
        priced = engine_tariff(tariff, list(elements))
    except engine.TariffError:
        return []
    warnings = []
    for language, text in texts.items():
        stale = engine.stale_numbers(text, priced, language)
        if stale:
            computed = "; ".join(engine.price_lines(priced, language, with_taxes=True))
            warnings.append(
                f"The {language} text for the terminal quotes {', '.join(stale)}, which is not among the "
                f"computed prices ({computed}): update the text."
            )
    return warnings
