"""Periodic pulls from the PTP: its terminals and financial advice confirmations, by date_from.

The PTP owns both (mod_payments.asciidoc); we GET its Sender interface page by page (following
``Link: rel="next"``) from the newest ``last_updated`` we saw, so each run fetches only changes.
Data stored from a pull is marked as the partner's, so saving it pushes nothing back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from locations.models import Evse, Location
from partners.models import Partner
from payments.models import FinancialAdviceConfirmation, PaymentTerminal
from pushes import selectors
from pushes.models import PullCursor
from pushes.payloads import ocpi_datetime
from pushes.transport import send
from sessions.models import Cdr, ChargingSession

logger = logging.getLogger(__name__)

MAX_PAGES = 200
NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class PullError(RuntimeError):
    """The partner did not answer a page properly; the cursor stays where it was."""


def pull_all() -> int:
    """Pull terminals and FACs from every partner that lists a payments Sender endpoint."""
    total = 0
    for partner in selectors.partners_with_endpoint("payments"):
        for name, store in (("terminals", terminal_store), ("financial-advice-confirmations", fac_store)):
            try:
                total += pull(partner, name, store)
            except PullError as exc:
                PullCursor.objects.filter(partner=partner, name=name).update(last_error=str(exc)[:500])
                logger.warning("Pull of %s from %s failed: %s", name, partner, exc)
    return total


def pull(partner: Partner, name: str, store: Any) -> int:
    """Fetch objects changed since the cursor and store each; move the cursor past them."""
    cursor, _ = PullCursor.objects.get_or_create(partner=partner, name=name)
    base = selectors.endpoint_url(partner, "payments")
    if base is None:
        return 0
    params = {"date_from": ocpi_datetime(cursor.date_from)} if cursor.date_from else {}
    url = f"{base}/{name}" + (f"?{urlencode(params)}" if params else "")
    newest = cursor.date_from
    count = 0
    for item in _pages(partner, url):
        stamp = parse_datetime(str(item.get("last_updated") or "")) if item.get("last_updated") else None
        with transaction.atomic():
            store(partner, item)
        count += 1
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
    cursor.date_from = newest
    cursor.last_run_at = timezone.now()
    cursor.last_error = ""
    cursor.save(update_fields=["date_from", "last_run_at", "last_error"])
    return count


def _pages(partner: Partner, url: str) -> Iterator[dict[str, Any]]:
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if next_url is None:
            return
        reply = send(partner, "GET", next_url, None)
        if not reply.ok or not isinstance(reply.data, list):
            raise PullError(f"GET {next_url}: HTTP {reply.http_status} {reply.error}")
        yield from (item for item in reply.data if isinstance(item, dict))
        match = NEXT_LINK.search(reply.headers.get("link", ""))
        next_url = match.group(1) if match else None


def terminal_store(partner: Partner, item: dict[str, Any]) -> PaymentTerminal:
    """Create or update our copy of one of the PTP's terminals, with its assignments."""
    terminal = PaymentTerminal.objects.filter(partner=partner, terminal_id=item["terminal_id"]).first()
    terminal = terminal or PaymentTerminal(partner=partner, terminal_id=str(item["terminal_id"]))
    terminal._push_from_partner = True  # type: ignore[attr-defined]
    for field in (
        "customer_reference",
        "party_id",
        "country_code",
        "address",
        "city",
        "postal_code",
        "state",
        "country",
        "invoice_base_url",
        "invoice_creator",
        "reference",
    ):
        if field in item:
            setattr(
                terminal, field, str(item[field] or "")[: PaymentTerminal._meta.get_field(field).max_length]
            )
    coordinates = item.get("coordinates") or {}
    if coordinates.get("latitude") and coordinates.get("longitude"):
        terminal.latitude = Decimal(str(coordinates["latitude"]))
        terminal.longitude = Decimal(str(coordinates["longitude"]))
    terminal.save()
    terminal.locations.set(Location.objects.filter(location_id__in=item.get("location_ids") or []))
    terminal.evses.set(Evse.objects.filter(uid__in=item.get("evse_uids") or []))
    return terminal


def _amounts(price: Any) -> tuple[Decimal | None, Decimal | None, list[Any]]:
    """Both Price shapes (2.2.1 excl_vat/incl_vat, 2.3.0 before_taxes/taxes): the PTP may send either."""
    if not isinstance(price, dict):
        return None, None, []
    try:
        if "before_taxes" in price:
            taxes = price.get("taxes") or []
            excl = Decimal(str(price["before_taxes"]))
            incl = excl + sum((Decimal(str(t.get("amount", 0))) for t in taxes), Decimal(0))
            return excl, incl if taxes else None, taxes
        excl = Decimal(str(price["excl_vat"])) if price.get("excl_vat") is not None else None
        incl = Decimal(str(price["incl_vat"])) if price.get("incl_vat") is not None else None
        return excl, incl, []
    except (InvalidOperation, TypeError, ValueError):
        return None, None, []


def fac_store(partner: Partner, item: dict[str, Any]) -> FinancialAdviceConfirmation:
    """Create or update a financial advice confirmation and link it to its session and CDR."""
    excl, incl, taxes = _amounts(item.get("total_costs"))
    reference = str(item.get("authorization_reference") or "")
    eft_data = item.get("eft_data") or []
    fac, _ = FinancialAdviceConfirmation.objects.update_or_create(
        partner=partner,
        fac_id=str(item["id"]),
        defaults={
            "authorization_reference": reference,
            "total_costs_excl_vat": excl,
            "total_costs_incl_vat": incl,
            "total_costs_taxes": taxes,
            "currency": str(item.get("currency") or "EUR"),
            "eft_data": eft_data if isinstance(eft_data, list) else [str(eft_data)],
            "capture_status_code": str(item.get("capture_status_code") or ""),
            "capture_status_message": str(item.get("capture_status_message") or "")[:255],
            "session": ChargingSession.objects.filter(authorization_reference=reference).first()
            if reference
            else None,
            "cdr": Cdr.objects.filter(authorization_reference=reference).first() if reference else None,
        },
    )
    return fac
