"""The OpenAPI description at /api/schema/ and a bounded schemathesis run against the OCPI endpoints.

Every GET is fuzzed, and the writes of the Receiver modules that call nobody back (tokens,
payments). Credentials and commands writes are not: a generated one would make the portal call
whatever URL the fuzzer wrote (and DELETE credentials would end the registration the run depends
on); their own tests cover them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from ocpi_api.models import InboundRequestLog
from ocpi_api.transport.tokens import authorization_header
from tests.factories import ConnectorFactory, EvseFactory, LocationFactory, TariffElementFactory
from tests.ocpi.conftest import assert_valid_221

pytestmark = pytest.mark.django_db


def test_the_schema_describes_the_ocpi_endpoints_with_token_security(client: Any) -> None:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in (
        "/ocpi/versions",
        "/ocpi/{version}/details",
        "/ocpi/{version}/credentials",
        "/ocpi/{version}/locations",
        "/ocpi/{version}/locations/{location_id}/{evse_uid}/{connector_id}",
        "/ocpi/{version}/tariffs",
        "/ocpi/{version}/sessions",
        "/ocpi/{version}/cdrs",
    ):
        assert path in paths
    sessions = paths["/ocpi/{version}/sessions"]["get"]
    date_from = next(p for p in sessions["parameters"] if p["name"] == "date_from")
    assert date_from["required"] is True
    assert schema["components"]["securitySchemes"]["ocpiToken"]["name"] == "Authorization"


@pytest.fixture
def ocpi_schema(settings: Any) -> Iterator[Any]:
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    # As Django's test client does: a WSGI request must not close the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield (
            # One include() with both criteria: chained include() calls widen the selection.
            schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application()).include(
                path_regex="^/ocpi/", method="GET"
            )
        )
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def ocpi_write_schema(ocpi_schema: Any) -> Any:
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application()).include(
        path_regex=r"^/ocpi/\{version\}/(tokens|payments)/", method=["POST", "PUT", "PATCH"]
    )


@pytest.fixture
def fuzz_data(party: Any) -> None:
    for number in range(3):
        evse = EvseFactory(
            location=LocationFactory(party=party, location_id=f"LOC{number}"), uid=f"EVSE{number}"
        )
        ConnectorFactory(evse=evse)
    TariffElementFactory()


def fuzz(operations: list[Any], authorization: str) -> None:
    """Call each operation with generated input: never a 5xx, every answer an OCPI envelope."""
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_in_the_envelope(case: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": authorization}
            response = case.call()
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
            body = response.json()
            assert isinstance(body.get("status_code"), int), response.text
            assert body["timestamp"].endswith("Z")
            if response.status_code >= 400:
                assert_valid_221(body, "error")
                assert "data" not in body
                assert body["status_message"]
                assert body["status_code"] >= 2000

        answers_in_the_envelope()


def test_no_ocpi_endpoint_answers_5xx_and_every_answer_is_an_envelope(
    ocpi_schema: Any, partner: Any, fuzz_data: None
) -> None:
    operations = [result.ok() for result in ocpi_schema.get_all_operations()]
    assert len(operations) >= 9
    assert {operation.method.upper() for operation in operations} == {"GET"}

    fuzz(operations, authorization_header(partner.plain_token_c))

    # Every operation was really called, several times, through the whole stack.
    assert InboundRequestLog.objects.count() >= 3 * len(operations)


def test_no_token_or_payments_write_answers_5xx(
    ocpi_write_schema: Any, partner: Any, fuzz_data: None
) -> None:
    operations = [result.ok() for result in ocpi_write_schema.get_all_operations()]
    assert {(operation.method.upper(), operation.path.split("/")[3]) for operation in operations} == {
        ("PUT", "tokens"),
        ("PATCH", "tokens"),
        ("POST", "payments"),
        ("PUT", "payments"),
        ("PATCH", "payments"),
    }

    fuzz(operations, authorization_header(partner.plain_token_c))
