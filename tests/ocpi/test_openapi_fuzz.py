"""The OpenAPI description at /api/schema/ and a bounded schemathesis run against our APIs.

Every OCPI GET is fuzzed, the writes of the Receiver modules that call nobody back (tokens,
payments) and every charger API event, each with valid and invalid input (schemathesis'
positive and negative modes): bodies, queries and path parameters, including NUL and non-ASCII
in path segments. Credentials and commands writes are not: a generated one would make the portal
call whatever URL the fuzzer wrote (and DELETE credentials would end the registration the run
depends on); their own tests cover them. Runs are derandomised (the same examples every run)
and bounded by ``max_examples`` per operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from chargers.models import ChargingBackend
from ocpi_api.models import InboundRequestLog
from ocpi_api.transport.tokens import authorization_header
from sessions.models import SessionStatus
from tests.factories import (
    ChargingSessionFactory,
    ConnectorFactory,
    EvseFactory,
    LocationFactory,
    TariffElementFactory,
)
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
def charger_schema(ocpi_schema: Any) -> Any:
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application()).include(
        path_regex=r"^/chargers/api/", method="POST"
    )


@pytest.fixture
def fuzz_data(party: Any) -> None:
    for number in range(3):
        evse = EvseFactory(
            location=LocationFactory(party=party, location_id=f"LOC{number}"), uid=f"EVSE{number}"
        )
        ConnectorFactory(evse=evse)
    TariffElementFactory()


def assert_an_ocpi_envelope(response: Any) -> None:
    body = response.json()
    assert isinstance(body.get("status_code"), int), response.text
    assert body["timestamp"].endswith("Z")
    if response.status_code >= 400:
        assert_valid_221(body, "error")
        assert "data" not in body
        assert body["status_message"]
        assert body["status_code"] >= 2000


def assert_a_json_error_or_state(response: Any) -> None:
    body = response.json()
    assert isinstance(body, dict), response.text
    if response.status_code < 400:
        assert "session_id" in body


def fuzz(
    operations: list[Any],
    authorization: str,
    *,
    check: Callable[[Any], None] = assert_an_ocpi_envelope,
    known_ids: Callable[[Any], st.SearchStrategy[dict[str, str]] | None] = lambda operation: None,
    max_examples: int = 25,
) -> None:
    """Call each operation with generated valid and invalid input: never a 5xx, every answer checked.

    ``known_ids(operation)`` may give path parameters naming real objects, drawn for some of the
    calls so that their bodies get past the lookup; the other calls generate path parameters.
    """
    for operation in operations:
        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
        hostile = hostile_path_parameters(operation, known_ids(operation))
        if hostile is not None:
            strategies += [
                hostile.flatmap(
                    lambda ids, operation=operation: operation.as_strategy(
                        generation_mode=GenerationMode.POSITIVE, path_parameters=ids
                    )
                )
            ]
        fixed_ids = known_ids(operation)
        if fixed_ids is not None:
            strategies += [
                fixed_ids.flatmap(
                    lambda ids, mode=mode, operation=operation: operation.as_strategy(
                        generation_mode=mode, path_parameters=ids
                    )
                )
                for mode in modes
            ]

        @given(case=st.one_of(strategies))
        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def answers_without_5xx(case: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": authorization}
            response = case.call()
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
            check(response)

        answers_without_5xx()


# Any text but lone surrogates (a URL cannot carry them): NUL, controls, non-ASCII, "/", "%".
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=24)


def hostile_path_parameters(
    operation: Any, known: st.SearchStrategy[dict[str, str]] | None
) -> st.SearchStrategy[dict[str, str]] | None:
    """Path parameters of arbitrary text, each one in turn, the others real ids when known.

    schemathesis itself draws path parameters mostly from the schema's words; this makes sure
    that NUL (%00), non-ASCII and separators reach every lookup.
    """
    names = [parameter.name for parameter in operation.path_parameters if parameter.name != "version"]
    if not names:
        return None
    base = known if known is not None else st.just({})
    return st.tuples(base, st.sampled_from(names), ANY_TEXT).map(
        lambda drawn: (
            {"version": "2.2.1", **drawn[0], drawn[1]: drawn[2]}
            if "{version}" in operation.path
            else {**drawn[0], drawn[1]: drawn[2]}
        )
    )


def own_token_ids(operation: Any) -> st.SearchStrategy[dict[str, str]] | None:
    """Tokens of the partner's own party (NL*PTR), so that the body is what decides."""
    if "{country_code}" not in operation.path:
        return None
    return st.builds(
        lambda uid, version: {"country_code": "NL", "party_id": "PTR", "uid": uid, "version": version},
        st.sampled_from(["RFID0001", "RFID0002"]),
        st.sampled_from(["2.2.1", "2.3.0"]),
    )


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

    fuzz(operations, authorization_header(partner.plain_token_c), known_ids=own_token_ids)


BACKEND_TOKEN = "fuzz-backend-token-0123456789"


def test_no_charger_api_event_answers_5xx(charger_schema: Any, fuzz_data: None) -> None:
    backend = ChargingBackend(name="OCPP central system")
    backend.set_token(BACKEND_TOKEN)
    backend.save()
    sessions = [
        ChargingSessionFactory(status=status).session_id
        for status in (SessionStatus.PENDING, SessionStatus.ACTIVE, SessionStatus.COMPLETED)
    ]
    operations = [result.ok() for result in charger_schema.get_all_operations()]
    assert {operation.path.rsplit("/", 1)[1] for operation in operations} == {
        "started",
        "meter-values",
        "stopped",
        "start-failed",
    }

    fuzz(
        operations,
        f"Bearer {BACKEND_TOKEN}",
        check=assert_a_json_error_or_state,
        known_ids=lambda operation: st.sampled_from(sessions).map(
            lambda session_id: {"session_id": session_id}
        ),
    )
