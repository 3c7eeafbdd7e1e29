"""Period summaries add up to the cent: credits cancel what they credit, a capture counts once per
authorisation, currencies never mix, and days are days of the chosen time zone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from finance.exports import ExportFilter
from finance.selectors import cdrs_with_reconciliation, reconciliation_totals
from finance.summaries import SummaryRow, period_summary, summary_totals
from sessions.credits import cdr_credit_and_correct
from sessions.models import Cdr
from tests.factories import CdrFactory, LocationFactory
from tests.finance.export_data import capture

pytestmark = pytest.mark.django_db

PAGE = "/admin/finance/cdrreconciliation/summary/"
MARCH_10 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def vat(percentage: str, amount: str, name: str = "VAT") -> list[dict[str, str]]:
    return [{"name": name, "percentage": percentage, "amount": amount}]


def cdr(
    location: Any, *, excl: str, incl: str, taxes: list[dict[str, str]], energy: str, **fields: Any
) -> Cdr:
    end = fields.pop("end", MARCH_10)
    return CdrFactory(
        session__connector__evse__location=location,
        total_cost_excl_vat=Decimal(excl),
        total_cost_incl_vat=Decimal(incl),
        total_cost_taxes=taxes,
        total_energy=Decimal(energy),
        start_date_time=end.replace(hour=end.hour - 1),
        end_date_time=end,
        **fields,
    )


@pytest.fixture
def dataset() -> dict[str, Any]:
    """One day at one location: a matched CDR, a corrected chain (20.33 captured, replaced by
    18.15), a failed capture at a reduced rate, a CDR paid otherwise, a CDR in CHF; and one CDR
    that ends on 11 March in UTC but on 12 March in Amsterdam."""
    here = LocationFactory(location_id="LOC-CENTRE", name="Centre")
    matched = cdr(here, excl="10.00", incl="12.10", taxes=vat("21", "2.10"), energy="20")
    capture(matched, "12.10")
    original = cdr(here, excl="16.80", incl="20.33", taxes=vat("21", "3.53"), energy="30")
    capture(original, "20.33")
    cdr_credit_and_correct(
        cdr=original,
        corrections={
            "total_cost_excl_vat": Decimal("15.00"),
            "total_cost_incl_vat": Decimal("18.15"),
            "total_cost_taxes": vat("21", "3.15"),
            "total_energy": Decimal("27"),
        },
        remark="Meter misread",
    )
    failed = cdr(here, excl="5.00", incl="5.45", taxes=vat("9", "0.45"), energy="5")
    capture(failed, "5.45", "FAILED")
    cdr(here, excl="1.00", incl="1.21", taxes=vat("21", "0.21"), energy="1", authorization_reference="")
    swiss = cdr(here, excl="8.00", incl="8.62", taxes=vat("7.7", "0.62", "MWST"), energy="10", currency="CHF")
    capture(swiss, "8.62")
    late = cdr(
        here,
        excl="2.00",
        incl="2.42",
        taxes=vat("21", "0.42"),
        energy="3",
        end=datetime(2026, 3, 11, 23, 30, tzinfo=UTC),
    )
    capture(late, "2.42")
    return {"location": here}


def rows_by_key(rows: list[SummaryRow]) -> dict[tuple[date, str], SummaryRow]:
    return {(row.day, row.currency): row for row in rows}


def test_a_day_reconciles_to_the_cent_with_the_credit_cancelling_the_original(
    dataset: dict[str, Any],
) -> None:
    rows = rows_by_key(
        period_summary(ExportFilter(date_from=date(2026, 3, 10), date_to=date(2026, 3, 10), time_zone="UTC"))
    )

    euro = rows[(date(2026, 3, 10), "EUR")]
    assert euro.location_id == "LOC-CENTRE"
    assert euro.location_name == "Centre"
    # matched + original + credit (-1) + replacement + failed + paid otherwise
    assert euro.sessions == 4
    assert euro.energy_kwh == Decimal("53.0000")  # 20 + 30 - 30 + 27 + 5 + 1
    assert euro.revenue_excl_vat == Decimal("31.00")
    assert euro.revenue_incl_vat == Decimal("36.91")
    assert euro.taxes == Decimal("5.91")
    assert euro.taxes_per_rate == {"VAT 21%": Decimal("5.46"), "VAT 9%": Decimal("0.45")}
    # 12.10 + the chain's 20.33 once + nothing of the failed capture
    assert euro.captured_incl_vat == Decimal("32.43")
    assert euro.card_billed_incl_vat == Decimal("35.70")  # 12.10 + (20.33 - 20.33 + 18.15) + 5.45
    assert euro.difference == Decimal("-3.27")


def test_the_second_currency_stays_apart(dataset: dict[str, Any]) -> None:
    rows = rows_by_key(
        period_summary(ExportFilter(date_from=date(2026, 3, 10), date_to=date(2026, 3, 10), time_zone="UTC"))
    )
    franc = rows[(date(2026, 3, 10), "CHF")]
    assert (franc.sessions, franc.revenue_excl_vat, franc.revenue_incl_vat) == (
        1,
        Decimal("8.00"),
        Decimal("8.62"),
    )
    assert franc.taxes_per_rate == {"MWST 7.7%": Decimal("0.62")}
    assert (franc.captured_incl_vat, franc.difference) == (Decimal("8.62"), Decimal("0.00"))
    totals = {total.currency: total for total in summary_totals(list(rows.values()))}
    assert set(totals) == {"CHF", "EUR"}
    assert totals["EUR"].revenue_incl_vat == Decimal("36.91")


def test_the_totals_agree_with_the_reconciliation_page(dataset: dict[str, Any]) -> None:
    rows = period_summary(ExportFilter())
    totals = {total.currency: total for total in summary_totals(rows)}
    reconciliation = reconciliation_totals(cdrs_with_reconciliation())
    for currency, figures in reconciliation.items():
        assert totals[currency].captured_incl_vat == figures["captured"]
        assert totals[currency].difference == figures["difference"]


def test_days_are_days_of_the_chosen_time_zone(dataset: dict[str, Any]) -> None:
    utc = rows_by_key(period_summary(ExportFilter(date_from=date(2026, 3, 11), time_zone="UTC")))
    amsterdam = rows_by_key(
        period_summary(ExportFilter(date_from=date(2026, 3, 11), time_zone="Europe/Amsterdam"))
    )

    assert list(utc) == [(date(2026, 3, 11), "EUR")]
    assert list(amsterdam) == [(date(2026, 3, 12), "EUR")]
    assert amsterdam[(date(2026, 3, 12), "EUR")].revenue_incl_vat == Decimal("2.42")


def test_filters_by_currency_and_location(dataset: dict[str, Any]) -> None:
    LocationFactory(location_id="LOC-ELSEWHERE")
    assert {row.currency for row in period_summary(ExportFilter(currency="CHF"))} == {"CHF"}
    assert period_summary(ExportFilter(location_id="LOC-ELSEWHERE")) == []
    assert len(period_summary(ExportFilter(location_id="LOC-CENTRE"))) == 3


def test_the_summary_takes_the_same_few_queries_whatever_the_number_of_cdrs(
    dataset: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(4):
        period_summary(ExportFilter())
    for _ in range(5):
        cdr(dataset["location"], excl="1.00", incl="1.21", taxes=vat("21", "0.21"), energy="1")
    with django_assert_max_num_queries(4):
        rows = period_summary(ExportFilter(date_from=date(2026, 3, 10), date_to=date(2026, 3, 10)))
    assert rows_by_key(rows)[(date(2026, 3, 10), "EUR")].revenue_incl_vat == Decimal("42.96")


# -- the page and the files --------------------------------------------------------------------------------


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31", "time_zone": "UTC"}


def test_finance_sees_the_chart_and_the_table(dataset: dict[str, Any], finance_client: Client) -> None:
    page = finance_client.get(PAGE, MARCH)

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<svg class="finance-chart"') == 2  # one chart per currency, drawn on the server
    assert "2026-03-10 Revenue incl. taxes: 36.91 EUR" in html  # the bar's title
    table = html.split('id="summary-rows"')[1]
    assert "36.91" in table
    assert "-3.27" in table
    assert "finance/summary.css" in html


def test_the_summary_downloads_as_csv_and_xlsx(dataset: dict[str, Any], finance_client: Client) -> None:
    as_csv = finance_client.get(PAGE, {**MARCH, "download": "csv"})
    as_xlsx = finance_client.get(PAGE, {**MARCH, "download": "xlsx"})

    assert 'filename="summary_2026-03-01_2026-03-31_utc.csv"' in as_csv["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body_of(as_csv).decode())))
    euro = next(row for row in rows if row["date"] == "2026-03-10" and row["currency"] == "EUR")
    assert euro["sessions"] == "4"
    assert euro["revenue_incl_vat"] == "36.91"
    assert euro["tax VAT 21%"] == "5.46"
    assert euro["difference"] == "-3.27"
    sheet = openpyxl.load_workbook(io.BytesIO(body_of(as_xlsx)), read_only=True)["Summary"]
    values = list(sheet.values)
    header = list(values[0])
    first = dict(zip(header, values[1], strict=True))
    assert first["date"] == datetime(2026, 3, 10)  # a date, not text
    assert first["currency"] == "CHF"
    assert first["revenue_incl_vat"] == pytest.approx(8.62)


def test_the_export_page_writes_the_summary_too(dataset: dict[str, Any], finance_client: Client) -> None:
    response = finance_client.post(
        "/admin/finance/cdrreconciliation/export-period/",
        {**MARCH, "credits": "all", "export_format": "csv", "contents": "summary"},
    )
    rows = list(csv.DictReader(io.StringIO(body_of(response).decode())))
    assert [row["date"] for row in rows] == ["2026-03-10", "2026-03-10", "2026-03-11"]


def _staff(*codenames: str) -> Client:
    user = get_user_model().objects.create_user("someone", "someone@example.com", "correct horse battery")
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_a_viewer_of_the_reconciliation_sees_the_page_but_may_not_download(dataset: dict[str, Any]) -> None:
    viewer = _staff("view_cdrreconciliation")
    assert viewer.get(PAGE, MARCH).status_code == 200
    assert viewer.get(PAGE, {**MARCH, "download": "csv"}).status_code == 403


def test_staff_without_finance_permissions_are_refused(dataset: dict[str, Any]) -> None:
    assert _staff("view_location").get(PAGE, MARCH).status_code == 403
