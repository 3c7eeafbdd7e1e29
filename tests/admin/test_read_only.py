"""Sessions, CDRs, captures and charger records are read-only in the admin; CDRs show their captures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from payments.models import FinancialAdviceConfirmation
from sessions.models import Cdr, ChargingSession, MeterReading
from tests.factories import CdrFactory

READ_ONLY = [ChargingSession, Cdr, FinancialAdviceConfirmation, MeterReading]


def _url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model.__name__)
def test_a_read_only_record_cannot_be_changed_or_deleted_through_the_admin(
    demo_data: str, staff_client: Client, model: type[Model]
) -> None:
    record = model._default_manager.order_by("pk").first()
    assert record is not None
    view_page = staff_client.get(_url(model, "change", record.pk))

    change = staff_client.post(_url(model, "change", record.pk), {"remark": "edited"})
    delete = staff_client.post(_url(model, "delete", record.pk), {"post": "yes"})

    assert view_page.status_code == 200
    assert "Save" not in view_page.content.decode()
    assert (change.status_code, delete.status_code) == (403, 403)
    assert model._default_manager.filter(pk=record.pk).exists()


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model.__name__)
def test_a_read_only_record_cannot_be_added_through_the_admin(
    demo_data: str, staff_client: Client, model: type[Model]
) -> None:
    count = model._default_manager.count()

    response = staff_client.post(_url(model, "add"), {})

    assert response.status_code == 403
    assert model._default_manager.count() == count


def test_the_cdr_page_shows_what_the_ptp_captured(demo_data: str, staff_client: Client) -> None:
    fac = FinancialAdviceConfirmation.objects.exclude(cdr=None).select_related("cdr").first()
    assert fac is not None

    response = staff_client.get(_url(Cdr, "change", fac.cdr.pk))

    page = response.content.decode()
    assert fac.fac_id in page
    assert fac.authorization_reference in page


def test_the_capture_list_filters_unmatched_captures(demo_data: str, staff_client: Client) -> None:
    response = staff_client.get(_url(FinancialAdviceConfirmation, "changelist"), {"matched": "no"})

    shown = {fac.fac_id for fac in response.context["cl"].result_list}
    assert shown == set(
        FinancialAdviceConfirmation.objects.filter(session=None, cdr=None).values_list("fac_id", flat=True)
    )
    assert shown == {"DEMO-FAC-9999"}


def test_the_cdr_list_filters_cdrs_without_a_capture(demo_data: str, staff_client: Client) -> None:
    response = staff_client.get(_url(Cdr, "changelist"), {"captured": "no"})

    shown = {cdr.cdr_id for cdr in response.context["cl"].result_list}
    assert shown == set(Cdr.objects.filter(financial_advice=None).values_list("cdr_id", flat=True))
    assert shown


def test_the_cdr_list_leaves_the_snapshots_unloaded(
    demo_data: str, staff_client: Client, django_assert_max_num_queries: object
) -> None:
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        response = staff_client.get(_url(Cdr, "changelist"))

    deferred = response.context["cl"].result_list[0].get_deferred_fields()
    assert {"cdr_location", "tariffs", "charging_periods", "signed_data"} <= deferred


def test_a_session_and_its_cdr_show_times_in_utc_with_the_locations_local_time_beside(
    staff_client: Client,
) -> None:
    start = datetime(2026, 7, 1, 16, 5, tzinfo=UTC)  # summer: Amsterdam is UTC+2
    cdr = CdrFactory(session__start_date_time=start, end_date_time=start + timedelta(minutes=35))
    session = cdr.session
    session.end_date_time = start + timedelta(minutes=35)
    session.save()

    for url in (
        f"/admin/charging_sessions/chargingsession/{session.pk}/change/",
        f"/admin/charging_sessions/cdr/{cdr.pk}/change/",
    ):
        html = staff_client.get(url).content.decode()
        assert "2026-07-01 16:05:00 UTC" in html, url
        assert "2026-07-01 18:05 to 18:40 Europe/Amsterdam" in html, url
