"""Locations, Tariffs, Sessions and CDRs Sender endpoints over HTTP, in both versions.

2.2.1 answers are validated against tests/data/ocpi/jsonschema-2.2.1; 2.3.0 answers against the
object tables of the 2.3.0 specification (tests/ocpi/spec_230.py).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from locations.models import RegularHours
from partners.models import Partner
from sessions.models import SessionStatus
from tariffs.models import TaxIncluded
from tests.factories import (
    CdrFactory,
    ChargingSessionFactory,
    ConnectorFactory,
    EvseFactory,
    LocationFactory,
    TariffAltTextFactory,
    TariffElementFactory,
    TariffFactory,
    TokenFactory,
)
from tests.ocpi.conftest import assert_valid_221
from tests.ocpi.spec_230 import assert_valid_230

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(party: Any, partner: Partner, other_partner: Partner) -> dict[str, Any]:
    """Two locations with EVSEs, connectors and a tariff; a session and CDR for each partner."""
    tariff = TariffFactory(
        party=party,
        tax_included=TaxIncluded.YES,
        min_price_excl_vat=Decimal("1.00"),
        min_price_incl_vat=Decimal("1.21"),
        preauthorize_amount=Decimal("75.00"),
    )
    TariffElementFactory(tariff=tariff, energy_price=Decimal("0.4840"), energy_vat=Decimal("21.00"))
    TariffElementFactory(
        tariff=tariff,
        energy_price=None,
        energy_vat=None,
        time_price=Decimal("2.4200"),
        time_vat=Decimal("21.00"),
        time_step_size=60,
        start_time="18:00",
        end_time="08:00",
        day_of_week=["MONDAY", "FRIDAY"],
        min_kwh=Decimal("5.5"),
    )
    TariffAltTextFactory(tariff=tariff, language="en", text="EUR 0.48 per kWh incl. VAT")
    TariffAltTextFactory(tariff=tariff, language="nl", text="EUR 0,48 per kWh incl. btw")
    open_all_day = LocationFactory(party=party, location_id="LOC-A", facilities=["CAFE"])
    office_hours = LocationFactory(
        party=party, location_id="LOC-B", twentyfourseven=False, parking_places=[], help_phone="+31201234567"
    )
    RegularHours.objects.create(location=office_hours, weekday=1, period_begin="08:00", period_end="18:00")
    connectors = []
    for location in (open_all_day, office_hours):
        for number in (1, 2):
            evse = EvseFactory(location=location, latitude=Decimal("52.1"), longitude=Decimal("5.1"))
            connector = ConnectorFactory(
                evse=evse, connector_id=str(number), capabilities=["ISO_15118_2_PLUG_AND_CHARGE"]
            )
            connector.tariffs.add(tariff)
            connectors.append(connector)
    own_session = ChargingSessionFactory(
        connector=connectors[0],
        partner=partner,
        total_cost_excl_vat=Decimal("4.00"),
        total_cost_incl_vat=Decimal("4.84"),
        charging_periods=[
            {"start_date_time": "2024-01-01T10:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 10}]}
        ],
    )
    foreign_session = ChargingSessionFactory(connector=connectors[1], partner=other_partner)
    own_cdr = CdrFactory(
        session=ChargingSessionFactory(
            connector=connectors[2], partner=partner, status=SessionStatus.COMPLETED
        ),
        total_energy_cost_excl_vat=Decimal("4.88"),
        total_energy_cost_incl_vat=Decimal("5.90"),
        total_energy_cost_taxes=[{"name": "VAT", "percentage": "21", "amount": "1.02"}],
        tariffs=[_cdr_tariff_snapshot()],
    )
    foreign_cdr = CdrFactory(session=ChargingSessionFactory(connector=connectors[3], partner=other_partner))
    return {
        "tariff": tariff,
        "locations": [open_all_day, office_hours],
        "connectors": connectors,
        "own_session": own_session,
        "foreign_session": foreign_session,
        "own_cdr": own_cdr,
        "foreign_cdr": foreign_cdr,
    }


def _cdr_tariff_snapshot() -> dict[str, Any]:
    return {
        "country_code": "NL",
        "party_id": "CPO",
        "id": "SNAP1",
        "currency": "EUR",
        "min_price": {"before_taxes": 1, "after_taxes": 1.21},
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.484, "vat": 21, "step_size": 1}]}],
        "tax_included": "YES",
        "last_updated": "2024-01-01T00:00:00Z",
    }


def _get(client: Any, url: str, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status_code"] == 1000
    assert body["timestamp"].endswith("Z")
    return response, body


def test_the_locations_list_validates_against_the_221_schema(ocpi_client_for, partner, network):
    _response, body = _get(ocpi_client_for(partner), "/ocpi/2.2.1/locations")
    assert_valid_221(body, "locations.response")
    assert [location["id"] for location in body["data"]] == ["LOC-A", "LOC-B"]
    office = body["data"][1]
    assert office["opening_times"] == {
        "twentyfourseven": False,
        "regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "18:00"}],
    }
    # 2.2.1 has no help_phone nor connector capabilities.
    assert "help_phone" not in office
    assert "capabilities" not in office["evses"][0]["connectors"][0]
    assert office["evses"][0]["connectors"][0]["tariff_ids"] == [network["tariff"].tariff_id]


def test_the_locations_list_matches_the_230_definitions(ocpi_client_for, partner, network):
    _response, body = _get(ocpi_client_for(partner), "/ocpi/2.3.0/locations")
    for location in body["data"]:
        assert_valid_230(location, "mod_locations", "mod_locations_location_object")
    assert body["data"][1]["help_phone"] == "+31201234567"
    assert body["data"][0]["evses"][0]["connectors"][0]["capabilities"] == ["ISO_15118_2_PLUG_AND_CHARGE"]


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_one_location_evse_and_connector_are_served(ocpi_client_for, partner, network, version):
    connector = network["connectors"][2]
    evse = connector.evse
    client = ocpi_client_for(partner)
    base = f"/ocpi/{version}/locations/{evse.location.location_id}"
    _r, location = _get(client, base)
    _r, evse_body = _get(client, f"{base}/{evse.uid}")
    _r, connector_body = _get(client, f"{base}/{evse.uid}/{connector.connector_id}")
    assert location["data"]["id"] == "LOC-B"
    assert evse_body["data"]["uid"] == evse.uid
    assert connector_body["data"]["id"] == connector.connector_id
    if version == "2.2.1":
        assert_valid_221(location, "location.response")
        assert_valid_221(evse_body, "evse.response")
        assert_valid_221(connector_body, "connector.response")
    else:
        assert_valid_230(evse_body["data"], "mod_locations", "mod_locations_evse_object")
        assert_valid_230(connector_body["data"], "mod_locations", "mod_locations_connector_object")


@pytest.mark.parametrize(
    "path",
    ["locations/NOPE", "locations/LOC-A/NOPE", "locations/LOC-A/{evse}/9"],
)
def test_an_unknown_location_evse_or_connector_is_a_404_in_the_envelope(
    ocpi_client_for, partner, network, path
):
    evse = network["connectors"][0].evse
    response = ocpi_client_for(partner).get(f"/ocpi/2.2.1/{path.format(evse=evse.uid)}")
    assert response.status_code == 404
    body = response.json()
    assert body["status_code"] == 2003
    assert "Unknown" in body["status_message"]


def test_tariffs_in_221_are_priced_excluding_vat_and_lack_230_fields(ocpi_client_for, partner, network):
    _r, body = _get(ocpi_client_for(partner), "/ocpi/2.2.1/tariffs")
    assert_valid_221(body, "tariffs.response")
    tariff = body["data"][0]
    # Stored including 21% VAT: 0.4840 incl. is 0.40 excl. (mod_tariffs 2.2.1, PriceComponent.price).
    assert tariff["elements"][0]["price_components"] == [
        {"type": "ENERGY", "price": 0.4, "vat": 21, "step_size": 1}
    ]
    assert tariff["elements"][1]["price_components"][0]["price"] == 2
    assert tariff["elements"][1]["restrictions"] == {
        "start_time": "18:00",
        "end_time": "08:00",
        "min_kwh": 5.5,
        "day_of_week": ["MONDAY", "FRIDAY"],
    }
    assert tariff["min_price"] == {"excl_vat": 1, "incl_vat": 1.21}
    assert "tax_included" not in tariff
    assert "preauthorize_amount" not in tariff
    assert [text["language"] for text in tariff["tariff_alt_text"]] == ["en", "nl"]


def test_tariffs_in_230_keep_stored_prices_with_tax_included_and_price_limits(
    ocpi_client_for, partner, network
):
    _r, body = _get(ocpi_client_for(partner), "/ocpi/2.3.0/tariffs")
    tariff = body["data"][0]
    assert_valid_230(tariff, "mod_tariffs", "mod_tariffs_tariff_object")
    assert tariff["elements"][0]["price_components"][0]["price"] == 0.484
    assert tariff["tax_included"] == "YES"
    assert tariff["min_price"] == {"before_taxes": 1, "after_taxes": 1.21}
    assert tariff["max_price"] == {"before_taxes": 50, "after_taxes": 60.5}
    assert tariff["preauthorize_amount"] == 75


def test_sessions_require_date_from(ocpi_client_for, partner, network):
    response = ocpi_client_for(partner).get("/ocpi/2.2.1/sessions")
    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert "date_from" in response.json()["status_message"]


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_a_partner_sees_only_its_own_sessions(ocpi_client_for, partner, network, version):
    _r, body = _get(ocpi_client_for(partner), f"/ocpi/{version}/sessions", date_from="2000-01-01T00:00:00Z")
    ids = {session["id"] for session in body["data"]}
    assert network["own_session"].session_id in ids
    assert network["foreign_session"].session_id not in ids
    own = next(s for s in body["data"] if s["id"] == network["own_session"].session_id)
    if version == "2.2.1":
        assert_valid_221(body, "sessions.response")
        assert own["total_cost"] == {"excl_vat": 4, "incl_vat": 4.84}
    else:
        for session in body["data"]:
            assert_valid_230(session, "mod_sessions", "mod_sessions_session_object")
        assert own["total_cost"] == {"before_taxes": 4, "taxes": [{"name": "VAT", "amount": 0.84}]}


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_a_partner_sees_only_its_own_cdrs(ocpi_client_for, partner, other_partner, network, version):
    _r, body = _get(ocpi_client_for(partner), f"/ocpi/{version}/cdrs")
    assert [cdr["id"] for cdr in body["data"]] == [network["own_cdr"].cdr_id]
    cdr = body["data"][0]
    if version == "2.2.1":
        assert_valid_221(body, "cdrs.response")
        assert cdr["total_energy_cost"] == {"excl_vat": 4.88, "incl_vat": 5.9}
        assert cdr["tariffs"][0]["elements"][0]["price_components"][0]["price"] == 0.4
        assert "tax_included" not in cdr["tariffs"][0]
    else:
        assert_valid_230(cdr, "mod_cdrs", "mod_cdrs_cdr_object")
        assert cdr["total_energy_cost"] == {
            "before_taxes": 4.88,
            "taxes": [{"name": "VAT", "percentage": 21, "amount": 1.02}],
        }
        assert cdr["tariffs"][0]["tax_included"] == "YES"
    _r, theirs = _get(ocpi_client_for(other_partner), f"/ocpi/{version}/cdrs")
    assert [cdr["id"] for cdr in theirs["data"]] == [network["foreign_cdr"].cdr_id]


def test_unpublished_locations_are_listed_with_the_flag_for_the_receiver_to_honour(
    ocpi_client_for, partner, other_partner, party
):
    """publish = false tells the receiver whom it may show the location to (mod_locations, Location
    object); it does not hide the location from the partner, which the pushes send it to as well."""
    LocationFactory(party=party, location_id="PUBLIC")
    LocationFactory(party=party, location_id="HIDDEN", publish=False)
    LocationFactory(
        party=party,
        location_id="FLEET",
        publish=False,
        publish_allowed_to=[{"uid": "FLEET-CARD-1", "type": "RFID"}],
    )
    TokenFactory(partner=partner, uid="FLEET-CARD-1", type="RFID")
    for client in (ocpi_client_for(partner), ocpi_client_for(other_partner)):
        _r, body = _get(client, "/ocpi/2.2.1/locations")
        assert_valid_221(body, "locations.response")
        shown = {location["id"]: location for location in body["data"]}
        assert set(shown) == {"PUBLIC", "HIDDEN", "FLEET"}
        assert shown["PUBLIC"]["publish"] is True
        assert shown["HIDDEN"]["publish"] is False
        assert "publish_allowed_to" not in shown["HIDDEN"]
        assert shown["FLEET"]["publish"] is False
        assert shown["FLEET"]["publish_allowed_to"] == [{"uid": "FLEET-CARD-1", "type": "RFID"}]
        single = client.get("/ocpi/2.2.1/locations/FLEET")
        assert single.status_code == 200
        assert single.json()["data"]["publish"] is False


def test_get_and_the_pushes_give_a_partner_the_same_locations(ocpi_client_for, partner, other_partner, party):
    """One rule for both: the parties the partner may see, published or not (README, "Visibility")."""
    from partners.models import PartnerEndpoint
    from pushes.routing import recipients
    from tests.factories import PartyFactory

    other_party = PartyFactory(country_code="BE", party_id="BEO")
    other_partner.parties.add(other_party)
    for each in (partner, other_partner):
        PartnerEndpoint.objects.create(
            partner=each,
            module="locations",
            interface_role=PartnerEndpoint.InterfaceRole.RECEIVER,
            url=f"https://partner{each.pk}.example.com/ocpi/2.2.1/locations",
        )
    locations = [
        LocationFactory(party=party, location_id="NL-PUBLIC"),
        LocationFactory(party=party, location_id="NL-HIDDEN", publish=False),
        LocationFactory(party=other_party, location_id="BE-PUBLIC"),
        LocationFactory(
            party=other_party, location_id="BE-FLEET", publish=False, publish_allowed_to=[{"uid": "CARD-9"}]
        ),
    ]
    for each, expected in ((partner, 4), (other_partner, 2)):
        pushed = {
            location.location_id
            for location in locations
            if recipients("location", location).filter(pk=each.pk)
        }
        _r, body = _get(ocpi_client_for(each), "/ocpi/2.2.1/locations")
        assert {location["id"] for location in body["data"]} == pushed
        assert len(pushed) == expected


def test_a_partner_limited_to_some_parties_sees_only_their_locations(ocpi_client_for, partner, party):
    from tests.factories import PartyFactory

    other_party = PartyFactory(country_code="BE", party_id="BEO")
    LocationFactory(party=party, location_id="NL-1")
    LocationFactory(party=other_party, location_id="BE-1")
    partner.parties.add(other_party)
    response, body = _get(ocpi_client_for(partner), "/ocpi/2.3.0/locations")
    assert [location["id"] for location in body["data"]] == ["BE-1"]
    assert response["OCPI-from-party-id"] == "BEO"
    assert response["OCPI-to-party-id"] == "PTR"


def test_pages_follow_last_updated_and_keep_every_filter_in_the_next_link(
    ocpi_client_for, partner, party, settings
):
    settings.OCPI_PAGE_MAX_LIMIT = 3
    start = timezone.now() - timedelta(days=1)
    for index in range(7):
        location = LocationFactory(party=party, location_id=f"P{index}")
        type(location).objects.filter(pk=location.pk).update(last_updated=start + timedelta(minutes=index))
    client = ocpi_client_for(partner)
    date_from = (start + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    date_to = (start + timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response, body = _get(client, "/ocpi/2.2.1/locations", date_from=date_from, date_to=date_to, limit=50)
    # date_from inclusive, date_to exclusive: P1..P5.
    assert response["X-Total-Count"] == "5"
    assert response["X-Limit"] == "3"
    assert [location["id"] for location in body["data"]] == ["P1", "P2", "P3"]
    link = response["Link"]
    assert link.endswith('>; rel="next"')
    next_url = link[1 : link.index(">")]
    assert next_url.startswith("http://testserver/ocpi/2.2.1/locations?")  # under OCPI_BASE_URL
    assert "offset=3" in next_url
    assert "limit=3" in next_url
    assert "date_from=" in next_url
    assert "date_to=" in next_url
    response, body = _get(client, next_url)
    assert [location["id"] for location in body["data"]] == ["P4", "P5"]
    assert "Link" not in response


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("offset=-1", "offset"),
        ("offset=abc", "offset"),
        ("limit=0", "limit"),
        ("date_from=yesterday", "date_from"),
        ("date_to=2024-13-01T00:00:00Z", "date_to"),
    ],
)
def test_invalid_paging_parameters_get_2001_naming_the_parameter(ocpi_client_for, partner, query, named):
    response = ocpi_client_for(partner).get(f"/ocpi/2.2.1/locations?{query}")
    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == 2001
    assert named in body["status_message"]


def test_list_queries_do_not_grow_with_the_page_size(
    ocpi_client_for, partner, party, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tariff = TariffFactory(party=party)
    TariffElementFactory(tariff=tariff)

    def seed(count: int) -> None:
        for _ in range(count):
            evse = EvseFactory(location=LocationFactory(party=party))
            for number in ("1", "2"):
                ConnectorFactory(evse=evse, connector_id=number).tariffs.add(tariff)

    client = ocpi_client_for(partner)
    seed(2)
    with CaptureQueriesContext(connection) as small:
        _get(client, "/ocpi/2.3.0/locations")
    seed(25)
    with django_assert_max_num_queries(len(small)), CaptureQueriesContext(connection) as large:
        _r, body = _get(client, "/ocpi/2.3.0/locations")
    assert len(body["data"]) == 27
    assert len(large) == len(small)


def test_request_ids_are_echoed_or_generated(ocpi_client_for, partner):
    client = ocpi_client_for(partner)
    echoed = client.get("/ocpi/2.2.1/tariffs", headers={"X-Request-ID": "req-1", "X-Correlation-ID": "cor-1"})
    assert echoed["X-Request-ID"] == "req-1"
    assert echoed["X-Correlation-ID"] == "cor-1"
    generated = client.get("/ocpi/2.2.1/tariffs")
    assert len(generated["X-Request-ID"]) == 36
    assert len(generated["X-Correlation-ID"]) == 36


def test_every_inbound_request_is_logged_with_bounded_bodies(ocpi_client_for, partner, settings):
    from ocpi_api.models import InboundRequestLog

    settings.OCPI_REQUEST_LOG_BODY_LIMIT = 50
    ocpi_client_for(partner).get("/ocpi/2.2.1/tariffs", headers={"X-Request-ID": "logged-1"})
    ocpi_client_for(token="wrong").get("/ocpi/2.2.1/tariffs")
    entry = InboundRequestLog.objects.get(request_id="logged-1")
    assert entry.partner == partner
    assert (entry.method, entry.http_status, entry.ocpi_status) == ("GET", 200, 1000)
    assert entry.response_body.startswith('{"data":[]')
    assert len(entry.response_body) < 100
    rejected = InboundRequestLog.objects.exclude(pk=entry.pk).get()
    assert (rejected.partner, rejected.http_status, rejected.ocpi_status) == (None, 401, 2000)


@pytest.mark.parametrize("module", ["tariffs", "sessions", "cdrs"])
def test_other_list_queries_do_not_grow_with_the_page_size(ocpi_client_for, partner, party, module):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def seed(count: int) -> None:
        for _ in range(count):
            tariff = TariffFactory(party=party)
            TariffElementFactory(tariff=tariff)
            TariffAltTextFactory(tariff=tariff)
            connector = ConnectorFactory(evse=EvseFactory(location=LocationFactory(party=party)))
            CdrFactory(session=ChargingSessionFactory(connector=connector, partner=partner))

    client = ocpi_client_for(partner)
    url = f"/ocpi/2.3.0/{module}?date_from=2000-01-01T00:00:00Z"
    seed(2)
    with CaptureQueriesContext(connection) as small:
        _get(client, url)
    seed(20)
    with CaptureQueriesContext(connection) as large:
        _r, body = _get(client, url)
    assert len(body["data"]) >= 22
    assert len(large) == len(small)
