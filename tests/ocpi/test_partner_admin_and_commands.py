"""Staff tools: the partner admin (token A, handshake actions) and the management commands."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from ocpi_api.models import InboundRequestLog
from partners.models import Partner, hash_token
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_ocpi_partner_create_prints_our_versions_url_and_a_token_a(capsys: Any, settings: Any) -> None:
    settings.OCPI_BASE_URL = "https://cpo.example.com/ocpi"
    call_command("ocpi_partner_create", "--name", "Payter")
    out = capsys.readouterr().out
    token_a = next(line.split()[-1] for line in out.splitlines() if line.startswith("Token A:"))
    assert "https://cpo.example.com/ocpi/versions" in out
    partner = Partner.objects.get(name="Payter")
    assert partner.status == Partner.Status.PLANNED
    assert partner.token_a_hash == hash_token(token_a)
    with pytest.raises(CommandError, match="exists already"):
        call_command("ocpi_partner_create", "--name", "Payter")


def test_ocpi_register_reports_why_a_registration_failed() -> None:
    with pytest.raises(CommandError, match="3001"):
        call_command(
            "ocpi_register",
            "--name",
            "Nowhere",
            "--versions-url",
            "http://127.0.0.1:9/ocpi/versions",
            "--token-a",
            "a",
        )
    assert Partner.objects.get(name="Nowhere").status == Partner.Status.PLANNED


def test_the_partner_admin_lists_partners_and_issues_a_token_a(staff_client: Any) -> None:
    partner = PartnerFactory(name="Payter")
    assert staff_client.get(reverse("admin:partners_partner_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:partners_partner_change", args=[partner.pk])).status_code == 200
    response = staff_client.post(
        reverse("admin:partners_partner_changelist"),
        {"action": "issue_token_a", "_selected_action": [partner.pk]},
        follow=True,
    )
    message = str(next(iter(response.context["messages"])))
    token_a = message.split("token A ")[1].split(" ")[0]
    partner.refresh_from_db()
    assert partner.token_a_hash == hash_token(token_a)


def test_the_register_action_reports_a_partner_it_cannot_reach(staff_client: Any) -> None:
    partner = PartnerFactory(
        name="Unreachable", status=Partner.Status.PLANNED, versions_url="http://127.0.0.1:9/ocpi/versions"
    )
    response = staff_client.post(
        reverse("admin:partners_partner_changelist"),
        {"action": "register_with_partner", "_selected_action": [partner.pk]},
        follow=True,
    )
    assert "OCPI 3001" in str(next(iter(response.context["messages"])))


def test_request_logs_are_read_only_in_the_admin(staff_client: Any) -> None:
    entry = InboundRequestLog.objects.create(method="GET", url="/ocpi/versions", http_status=200)
    assert staff_client.get(reverse("admin:ocpi_api_inboundrequestlog_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:ocpi_api_outboundrequestlog_changelist")).status_code == 200
    assert (
        staff_client.get(reverse("admin:ocpi_api_inboundrequestlog_change", args=[entry.pk])).status_code
        == 200
    )
    assert staff_client.get(reverse("admin:ocpi_api_inboundrequestlog_add")).status_code == 403
    assert (
        staff_client.post(reverse("admin:ocpi_api_inboundrequestlog_delete", args=[entry.pk])).status_code
        == 403
    )
