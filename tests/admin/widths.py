"""Measuring admin pages in a browser: what counts as a page's width, and the partner traffic
the demo data lacks (tests/admin/test_list_widths.py and benchmarks/admin_widths.py)."""

from __future__ import annotations

# How wide the page would have to be to show everything: the document's own scroll width, or
# wider where the admin scrolls a list's table inside its box (.results has overflow-x: auto,
# so the document never grows and columns such as "last updated" are simply out of sight).
CONTENT_WIDTH_JS = """() => {
  let width = document.documentElement.scrollWidth;
  for (const box of document.querySelectorAll('.results, .tabular .module, fieldset')) {
    const hidden = box.scrollWidth - box.clientWidth;
    if (hidden > 0) width = Math.max(width, document.documentElement.clientWidth + hidden);
  }
  return width;
}"""


TRAFFIC_TOKEN_UID = "ADHOC-0123456789ABCDEF"


def partner_traffic() -> None:
    """What a day of partner traffic leaves (the demo data has none): request logs both ways,
    outbox messages with their attempts (one dead), a pull cursor, a token. Long values on
    purpose: the lists must fit with real URLs and errors in them."""
    from django.utils import timezone

    from locations.models import Evse
    from ocpi_api.models import InboundRequestLog, OutboundRequestLog
    from partners.models import Partner, Token
    from pushes.models import DeliveryAttempt, OutboxMessage, PartnerCopy, PullCursor

    partner = Partner.objects.order_by("pk").first()
    evse = Evse.objects.order_by("pk").first()
    if partner is None or evse is None or Token.objects.filter(uid=TRAFFIC_TOKEN_UID).exists():
        return  # no demo data, or the traffic is there already
    now = timezone.now()
    url = "https://ocpi.payter.example.com/ocpi/cpo/2.2.1/locations/NL/VWY/DEMO-NL-0001/NL-VWY-E0001"
    error = "HTTPSConnectionPool(host='ocpi.payter.example.com', port=443): Read timed out. (timeout=10)"
    for log in (InboundRequestLog, OutboundRequestLog):
        log.objects.create(
            partner=partner, method="PATCH", url=url, http_status=200, ocpi_status=1000,
            request_id="4f1e0b9c-5f57-4a52-8a8c-0f1d4c1e2a77", duration_ms=184, error=error,
        )  # fmt: skip
    copy, _ = PartnerCopy.objects.get_or_create(partner=partner, object_type="evse", object_id=str(evse.pk))
    for state in (OutboxMessage.State.PENDING, OutboxMessage.State.DEAD, OutboxMessage.State.DELIVERED):
        message = OutboxMessage.objects.create(
            copy=copy, partner=partner, module="locations", kind="STATE", action="UPSERT", state=state,
            attempts=7, coalesced=3, changed_at=now, next_attempt_at=now, last_http_status=503,
            last_error=error,
        )  # fmt: skip
        DeliveryAttempt.objects.create(message=message, partner=partner, started_at=now, duration_ms=10004,
                                       method="PATCH", url=url, http_status=503, ocpi_status=3000,
                                       outcome=DeliveryAttempt.Outcome.RETRY, error=error)  # fmt: skip
    PullCursor.objects.create(partner=partner, name="financial-advice-confirmations", date_from=now,
                              last_run_at=now, last_error=error)  # fmt: skip
    Token.objects.create(partner=partner, country_code="NL", party_id="PTR", uid=TRAFFIC_TOKEN_UID,
                         type="AD_HOC_USER", contract_id="NL-PTR-C12345678-X", issuer="Payter B.V.",
                         valid=True, whitelist="NEVER")  # fmt: skip
