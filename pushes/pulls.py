"""Periodic pulls from the PTP: its terminals and financial advice confirmations, by date_from.

The PTP owns both (mod_payments.asciidoc); we GET its Sender interface page by page (following
``Link: rel="next"``) from the newest ``last_updated`` we saw, so each run fetches only changes.
Each object is stored through the same validation and services as one the PTP POSTs to us
(payments.services), which save it on the partner's behalf (partners.outbox.received_from), so
storing it pushes nothing back to the partner.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ocpi_api.modules.payments import FacSerializer, TerminalSerializer
from partners.callback_urls import url_host
from partners.models import Partner
from payments.models import FinancialAdviceConfirmation, PaymentTerminal
from payments.services import PaymentDataError, fac_upsert_from_ocpi, terminal_upsert
from pushes import selectors
from pushes.models import PullCursor
from pushes.payloads import ocpi_datetime
from pushes.transport import send

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
    skipped: list[str] = []
    for item in _pages(partner, url):
        stamp = parse_datetime(str(item.get("last_updated") or "")) if item.get("last_updated") else None
        try:
            with transaction.atomic():
                store(partner, item)
        except InvalidItem as error:
            # One malformed object must not hold back the rest, nor be fetched again forever.
            logger.warning("Pull of %s from %s skipped an object: %s", name, partner, error)
            skipped.append(str(error))
        else:
            count += 1
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
    cursor.date_from = newest
    cursor.last_run_at = timezone.now()
    cursor.last_error = "; ".join(skipped)[:500]
    cursor.save(update_fields=["date_from", "last_run_at", "last_error"])
    return count


def _pages(partner: Partner, url: str) -> Iterator[dict[str, Any]]:
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if next_url is None:
            return
        if url_host(next_url) != url_host(url):
            # The next link comes from the partner's answer: follow it only on the host its endpoint
            # is on (checked at the handshake, partners.callback_urls), never elsewhere.
            raise PullError(f"The next page {next_url} is not on the host of {url}: not followed")
        reply = send(partner, "GET", next_url, None)
        if not reply.ok or not isinstance(reply.data, list):
            raise PullError(f"GET {next_url}: HTTP {reply.http_status} {reply.error}")
        yield from (item for item in reply.data if isinstance(item, dict))
        match = NEXT_LINK.search(reply.headers.get("link", ""))
        next_url = match.group(1) if match else None


class InvalidItem(ValueError):
    """One object of a pulled page breaks the Payments module's rules; the others are still stored."""


def terminal_store(partner: Partner, item: dict[str, Any]) -> PaymentTerminal:
    """Store one of the PTP's terminals through the same rules as a terminal POSTed to us."""
    serializer = TerminalSerializer(data=item)
    if not serializer.is_valid():
        raise InvalidItem(f"terminal {item.get('terminal_id')!r}: {serializer.errors}")
    data = dict(serializer.validated_data)
    terminal_id = data.pop("terminal_id")
    if data.get("coordinates") is not None:
        data["coordinates"] = dict(data["coordinates"])
    try:
        terminal, _ = terminal_upsert(partner=partner, terminal_id=terminal_id, data=data, replace=True)
    except PaymentDataError as error:
        raise InvalidItem(f"terminal {terminal_id!r}: {error}") from error
    return terminal


def fac_store(partner: Partner, item: dict[str, Any]) -> FinancialAdviceConfirmation:
    """Store one of the PTP's confirmations through the same rules as one POSTed to us."""
    serializer = FacSerializer(data=item)
    if not serializer.is_valid():
        raise InvalidItem(f"financial advice confirmation {item.get('id')!r}: {serializer.errors}")
    fac, _ = fac_upsert_from_ocpi(partner=partner, data=serializer.validated_data)
    return fac
