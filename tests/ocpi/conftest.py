"""Fixtures for the OCPI surface: HTTP clients presenting a partner's token, and schema checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import jsonschema
import pytest
from django.test import Client

from ocpi_api.transport.tokens import authorization_header
from partners.models import Partner, PartnerRole
from tests.factories import PartnerFactory, PartnerRoleFactory, PartyFactory
from tests.spec_data import ocpi_json


@cache
def schema_221(name: str) -> dict[str, Any]:
    """A 2.2.1 JSON Schema by short name, such as "locations.response" (or "error")."""
    file = "ocpi.error.json" if name == "error" else f"ocpi.2_2_1.{name}.json"
    return ocpi_json("jsonschema-2.2.1", file)  # type: ignore[no-any-return]


def assert_valid_221(body: Any, name: str) -> None:
    """Validate against the 2.2.1 schema; format checks are off (tests/data/ocpi/README.md)."""
    validator = jsonschema.Draft7Validator(schema_221(name))
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))
    assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


class OcpiTestClient(Client):
    """A Django test client that sends a token the OCPI way on every request."""

    def __init__(self, token: str | None, *, raw: bool = False) -> None:
        super().__init__()
        self.token = token
        self.raw = raw

    def request(self, **request: Any) -> Any:
        if self.token is not None:
            request.setdefault("HTTP_AUTHORIZATION", authorization_header(self.token, raw=self.raw))
        return super().request(**request)


@pytest.fixture(autouse=True)
def ocpi_base_url(settings: Any) -> None:
    """URLs we hand out (version details, Link next) point at the test client's host."""
    settings.OCPI_BASE_URL = "http://testserver/ocpi"


@pytest.fixture
def ocpi_client_for() -> Callable[..., OcpiTestClient]:
    """``ocpi_client_for(partner)`` presents the partner's token C; ``token=`` overrides it."""

    def make(
        partner: Partner | None = None, *, token: str | None = None, raw: bool = False
    ) -> OcpiTestClient:
        if token is None and partner is not None:
            token = partner.plain_token_c  # type: ignore[attr-defined]
        return OcpiTestClient(token, raw=raw)

    return make


@pytest.fixture
def party(db: None) -> Any:
    return PartyFactory(country_code="NL", party_id="CPO", name="Example CPO")


@pytest.fixture
def partner(db: None) -> Partner:
    partner = PartnerFactory(name="Payter")
    PartnerRoleFactory(partner=partner, role=PartnerRole.Role.PTP, country_code="NL", party_id="PTR")
    return partner


@pytest.fixture
def other_partner(db: None) -> Partner:
    partner = PartnerFactory(name="Other eMSP")
    PartnerRoleFactory(partner=partner, role=PartnerRole.Role.EMSP, country_code="DE", party_id="EMS")
    return partner
