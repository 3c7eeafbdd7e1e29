"""What the flow writes, read back through our OCPI Sender endpoints, matches the 2.2.1 schemas."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import jsonschema
import pytest

from sessions.commands import command_receive
from sessions.lifecycle import MeterValue, session_charger_stopped, session_meter_values
from sessions.models import ChargingSession, CommandType
from tests.flow.conftest import ResultReceiver, Site, ocpi_client, post_json, start_body
from tests.spec_data import ocpi_json

pytestmark = pytest.mark.django_db


@cache
def schema(name: str) -> dict[str, Any]:
    return ocpi_json("jsonschema-2.2.1", f"ocpi.2_2_1.{name}.json")  # type: ignore[no-any-return]


def assert_valid(body: Any, name: str) -> None:
    # Format checks off: the schemas' date-time rejects timestamps OCPI allows (tests/data/ocpi/README.md).
    errors = list(jsonschema.Draft7Validator(schema(name)).iter_errors(body))
    assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_the_command_response_matches_the_schema(site: Site, result_receiver: ResultReceiver) -> None:
    response = post_json(
        ocpi_client(site.partner),
        "/ocpi/2.2.1/commands/START_SESSION",
        start_body(site, result_receiver.url("START_SESSION", "x1")),
    )

    assert_valid(response.json(), "commands.response")


def test_the_session_and_cdr_of_a_metered_session_match_the_schemas(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        command = command_receive(
            partner=site.partner,
            command=CommandType.START_SESSION,
            body=start_body(site, result_receiver.url("START_SESSION", "x1")),
            version="2.2.1",
        )
    session = ChargingSession.objects.get(pk=command.session_id)
    begin = session.start_date_time
    session_meter_values(
        session=session,
        values=[
            MeterValue(begin + timedelta(minutes=7), Decimal("1.2345"), Decimal("10.5"), Decimal("15.2"))
        ],
    )
    client = ocpi_client(site.partner)

    sessions = client.get("/ocpi/2.2.1/sessions", {"date_from": "2000-01-01T00:00:00Z"}).json()["data"]
    assert_valid(sessions[0], "session")
    assert sessions[0]["charging_periods"][0]["dimensions"][0] == {"type": "ENERGY", "volume": 1.2345}

    session_charger_stopped(
        session=session, timestamp=begin + timedelta(minutes=9), meter_stop_kwh=Decimal(2)
    )
    cdrs = client.get("/ocpi/2.2.1/cdrs").json()["data"]

    assert len(cdrs) == 1
    assert_valid(cdrs[0], "cdr")
    assert cdrs[0]["total_cost"] == {"excl_vat": 0.8, "incl_vat": 0.97}
    assert cdrs[0]["tariffs"][0]["elements"][0]["price_components"][0]["price"] == 0.4
