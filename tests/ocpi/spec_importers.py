"""Load the specification's example Locations, Tariffs, Sessions and CDRs into our models.

Test support only (the portal imports no OCPI objects from another platform): the inverse of
the serializers, so that tests/ocpi/test_spec_examples_round_trip.py can check that what the
``*_import`` functions store, the ``serialize_*`` functions write back with the same meaning.
Every model is ``full_clean``-ed, so bad input raises ``ValidationError`` and, inside the
transaction, nothing is half-written. Timestamps (``last_updated``) are kept as given.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from locations.models import Connector, Evse, Location, RegularHours
from ocpi_api.formatting import dumps
from ocpi_api.versions import V2_2_1
from partners.models import Partner, Party
from sessions.models import Cdr, ChargingSession
from tariffs.models import DIMENSION_PREFIXES, Tariff, TariffAltText, TariffElement, TaxIncluded


def _datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _clean_save(instance: Any) -> Any:
    instance.full_clean()
    if hasattr(instance, "last_updated"):
        instance.save(touch=False)  # keep the partner's timestamps
    else:
        instance.save()
    return instance


@transaction.atomic
def location_import(data: dict[str, Any], *, party: Party) -> Location:
    """Create a Location with its EVSEs, connectors and opening times from an OCPI Location.

    Connector ``tariff_ids`` link the party's tariffs with those ids (import tariffs first).
    """
    hours = data.get("opening_times") or {}
    coordinates = data["coordinates"]
    location = Location(
        party=party,
        location_id=data["id"],
        publish=data["publish"],
        publish_allowed_to=data.get("publish_allowed_to") or [],
        name=data.get("name") or "",
        address=data["address"],
        city=data["city"],
        postal_code=data.get("postal_code") or "",
        state=data.get("state") or "",
        country=data["country"],
        latitude=Decimal(coordinates["latitude"]),
        longitude=Decimal(coordinates["longitude"]),
        related_locations=data.get("related_locations") or [],
        parking_type=data.get("parking_type") or "",
        parking_places=data.get("parking_places") or [],
        directions=data.get("directions") or [],
        operator=data.get("operator"),
        suboperator=data.get("suboperator"),
        owner=data.get("owner"),
        facilities=data.get("facilities") or [],
        time_zone=data["time_zone"],
        twentyfourseven=hours.get("twentyfourseven") if hours else None,
        exceptional_openings=hours.get("exceptional_openings") or [],
        exceptional_closings=hours.get("exceptional_closings") or [],
        charging_when_closed=data.get("charging_when_closed"),
        images=data.get("images") or [],
        energy_mix=data.get("energy_mix"),
        help_phone=data.get("help_phone") or "",
        last_updated=_datetime(data.get("last_updated")) or datetime.now(tz=UTC),
    )
    _clean_save(location)
    for entry in hours.get("regular_hours") or []:
        _clean_save(RegularHours(location=location, **entry))
    for evse_data in data.get("evses") or []:
        evse_coordinates = evse_data.get("coordinates") or {}
        evse = _clean_save(
            Evse(
                location=location,
                uid=evse_data["uid"],
                evse_id=evse_data.get("evse_id") or "",
                status=evse_data["status"],
                status_schedule=evse_data.get("status_schedule") or [],
                capabilities=evse_data.get("capabilities") or [],
                floor_level=evse_data.get("floor_level") or "",
                latitude=_decimal(evse_coordinates.get("latitude")),
                longitude=_decimal(evse_coordinates.get("longitude")),
                physical_reference=evse_data.get("physical_reference") or "",
                directions=evse_data.get("directions") or [],
                parking_restrictions=evse_data.get("parking_restrictions") or [],
                parking=evse_data.get("parking") or [],
                images=evse_data.get("images") or [],
                accepted_service_providers=evse_data.get("accepted_service_providers") or [],
                last_updated=_datetime(evse_data.get("last_updated")) or location.last_updated,
            )
        )
        for connector_data in evse_data.get("connectors") or []:
            connector = _clean_save(
                Connector(
                    evse=evse,
                    connector_id=connector_data["id"],
                    standard=connector_data["standard"],
                    format=connector_data["format"],
                    power_type=connector_data["power_type"],
                    max_voltage=connector_data["max_voltage"],
                    max_amperage=connector_data["max_amperage"],
                    max_electric_power=connector_data.get("max_electric_power"),
                    terms_and_conditions=connector_data.get("terms_and_conditions") or "",
                    capabilities=connector_data.get("capabilities") or [],
                    last_updated=_datetime(connector_data.get("last_updated")) or evse.last_updated,
                )
            )
            tariff_ids = connector_data.get("tariff_ids") or []
            connector.tariffs.set(Tariff.objects.filter(party=party, tariff_id__in=tariff_ids))
    return location


def _price_limit(limit: dict[str, Any] | None) -> tuple[Decimal | None, Decimal | None]:
    """(excl, incl) from a 2.2.1 Price or a 2.3.0 PriceLimit: both shapes are accepted."""
    if not limit:
        return None, None
    return (
        _decimal(limit.get("before_taxes", limit.get("excl_vat"))),
        _decimal(limit.get("after_taxes", limit.get("incl_vat"))),
    )


_PLAIN_RESTRICTIONS = ("start_time", "end_time", "min_duration", "max_duration", "day_of_week", "reservation")
_NUMBER_RESTRICTIONS = ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power")


@transaction.atomic
def tariff_import(data: dict[str, Any], *, party: Party, version: str) -> Tariff:
    """Create a Tariff from an OCPI Tariff of ``version``.

    2.2.1 component prices exclude VAT, so they are stored with ``tax_included = NO``. A 2.3.0
    tariff without ``tax_included`` (the spec's own cdr example) is read as NO.
    """
    min_excl, min_incl = _price_limit(data.get("min_price"))
    max_excl, max_incl = _price_limit(data.get("max_price"))
    tax_included = TaxIncluded.NO if version == V2_2_1 else data.get("tax_included") or TaxIncluded.NO
    tariff = _clean_save(
        Tariff(
            party=party,
            tariff_id=data["id"],
            currency=data["currency"],
            type=data.get("type") or "",
            tariff_alt_url=data.get("tariff_alt_url") or "",
            tax_included=tax_included,
            min_price_excl_vat=min_excl,
            min_price_incl_vat=min_incl,
            max_price_excl_vat=max_excl,
            max_price_incl_vat=max_incl,
            preauthorize_amount=_decimal(data.get("preauthorize_amount")),
            start_date_time=_datetime(data.get("start_date_time")),
            end_date_time=_datetime(data.get("end_date_time")),
            energy_mix=data.get("energy_mix"),
            last_updated=_datetime(data.get("last_updated")) or datetime.now(tz=UTC),
        )
    )
    for text in data.get("tariff_alt_text") or []:
        _clean_save(TariffAltText(tariff=tariff, language=text["language"], text=text["text"]))
    for position, element_data in enumerate(data["elements"]):
        restrictions = element_data.get("restrictions") or {}
        element = TariffElement(tariff=tariff, position=position)
        for name in _PLAIN_RESTRICTIONS:
            if restrictions.get(name) is not None:
                setattr(element, name, restrictions[name])
        for name in _NUMBER_RESTRICTIONS:
            setattr(element, name, _decimal(restrictions.get(name)))
        for name in ("start_date", "end_date"):
            if restrictions.get(name):
                setattr(element, name, date.fromisoformat(restrictions[name]))
        for component in element_data["price_components"]:
            prefix = DIMENSION_PREFIXES[component["type"]]
            # mod_tariffs: one price component per dimension is active in an element; the first wins.
            if getattr(element, f"{prefix}_price") is not None:
                continue
            setattr(element, f"{prefix}_price", _decimal(component["price"]))
            setattr(element, f"{prefix}_vat", _decimal(component.get("vat")))
            setattr(element, f"{prefix}_step_size", component["step_size"])
        _clean_save(element)
    return tariff


def _price(value: dict[str, Any] | None) -> tuple[Decimal | None, Decimal | None, list[dict[str, str]]]:
    """(excl, incl, tax lines) from a 2.2.1 Price {excl_vat, incl_vat} or a 2.3.0 Price {before_taxes, taxes}.

    Tax lines are kept as JSON with amounts as strings (exact decimals).
    """
    if not value:
        return None, None, []
    if "before_taxes" in value:
        excl = Decimal(str(value["before_taxes"]))
        lines = []
        for line in value.get("taxes") or []:
            kept = {"name": str(line["name"]), "amount": str(Decimal(str(line["amount"])))}
            if line.get("account_number"):
                kept["account_number"] = str(line["account_number"])
            if line.get("percentage") is not None:
                kept["percentage"] = str(Decimal(str(line["percentage"])))
            lines.append(kept)
        return excl, excl + sum((Decimal(line["amount"]) for line in lines), Decimal(0)), lines
    return _decimal(value.get("excl_vat")), _decimal(value.get("incl_vat")), []


def tariff_snapshot(data: dict[str, Any], version: str) -> dict[str, Any]:
    """A tariff as a CDR keeps it: our 2.3.0 shape (2.2.1 prices exclude VAT: tax_included NO)."""
    snapshot = dict(data)
    for key in ("min_price", "max_price"):
        if snapshot.get(key):
            excl, incl = _price_limit(snapshot[key])
            snapshot[key] = {"before_taxes": excl} | ({"after_taxes": incl} if incl is not None else {})
    if version == V2_2_1 or not snapshot.get("tax_included"):
        snapshot["tax_included"] = TaxIncluded.NO
    return json.loads(dumps(snapshot))


def _token_fields(data: dict[str, Any]) -> dict[str, Any]:
    token = data["cdr_token"]
    return {
        "token_country_code": token["country_code"],
        "token_party_id": token["party_id"],
        "token_uid": token["uid"],
        "token_type": token["type"],
        "token_contract_id": token["contract_id"],
        "auth_method": data["auth_method"],
        "authorization_reference": data.get("authorization_reference") or "",
        "meter_id": data.get("meter_id") or "",
        "currency": data["currency"],
    }


@transaction.atomic
def session_import(data: dict[str, Any], *, party: Party, partner: Partner | None) -> ChargingSession:
    """Create a Session from an OCPI Session (either version); its location, EVSE and connector must exist."""
    location = Location.objects.get(party=party, location_id=data["location_id"])
    evse = location.evses.get(uid=data["evse_uid"])
    connector = evse.connectors.get(connector_id=data["connector_id"])
    excl, incl, taxes = _price(data.get("total_cost"))
    return _clean_save(
        ChargingSession(
            party=party,
            partner=partner,
            session_id=data["id"],
            location=location,
            evse=evse,
            connector=connector,
            start_date_time=_datetime(data["start_date_time"]),
            end_date_time=_datetime(data.get("end_date_time")),
            kwh=Decimal(str(data["kwh"])),
            charging_periods=json.loads(dumps(data.get("charging_periods") or [])),
            total_cost_excl_vat=excl,
            total_cost_incl_vat=incl,
            total_cost_taxes=taxes,
            status=data["status"],
            last_updated=_datetime(data.get("last_updated")) or datetime.now(tz=UTC),
            **_token_fields(data),
        )
    )


@transaction.atomic
def cdr_import(data: dict[str, Any], *, party: Party, partner: Partner | None, version: str) -> Cdr:
    """Create a CDR from an OCPI CDR of ``version`` (its session is linked when we know it)."""
    session = None
    if data.get("session_id"):
        session = ChargingSession.objects.filter(party=party, session_id=data["session_id"]).first()
    costs: dict[str, Any] = {}
    for kind in ("", "fixed_", "energy_", "time_", "parking_", "reservation_"):
        excl, incl, taxes = _price(data.get(f"total_{kind}cost"))
        costs |= {
            f"total_{kind}cost_excl_vat": excl,
            f"total_{kind}cost_incl_vat": incl,
            f"total_{kind}cost_taxes": taxes,
        }
    cdr = Cdr(
        party=party,
        partner=partner,
        cdr_id=data["id"],
        session=session,
        start_date_time=_datetime(data["start_date_time"]),
        end_date_time=_datetime(data["end_date_time"]),
        cdr_location=data["cdr_location"],
        tariffs=[tariff_snapshot(tariff, version) for tariff in data.get("tariffs") or []],
        charging_periods=json.loads(dumps(data["charging_periods"])),
        signed_data=data.get("signed_data"),
        total_energy=Decimal(str(data["total_energy"])),
        total_time=Decimal(str(data["total_time"])),
        total_parking_time=_decimal(data.get("total_parking_time")),
        remark=data.get("remark") or "",
        invoice_reference_id=data.get("invoice_reference_id") or "",
        credit=data.get("credit"),
        credit_reference_id=data.get("credit_reference_id") or "",
        home_charging_compensation=data.get("home_charging_compensation"),
        last_updated=_datetime(data.get("last_updated")) or datetime.now(tz=UTC),
        **costs,
        **_token_fields(data),
    )
    cdr.full_clean()
    cdr.save(touch=False)
    return cdr
