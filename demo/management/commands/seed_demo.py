"""manage.py seed_demo: realistic demo data and a demo admin login.

Two parties (NL and DE), locations in NL, DE and BE with CCS2, Type 2 and CHAdeMO connectors,
card-payment tariffs with texts in en, nl, de and fr, Payter terminals, and a few finished
sessions with their CDRs. Idempotent: rows are found by their natural keys and only changed where
they differ from the demo values, so a second run changes nothing (not even last_updated).
Sessions, CDRs and captures are history: they are created once and never rewritten.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.utils import timezone

from chargers.models import SimulatedCharger
from locations.models import (
    Connector,
    ConnectorFormat,
    ConnectorType,
    Evse,
    EvseStatus,
    Location,
    PowerType,
    RegularHours,
)
from partners.models import Partner, PartnerRole, Party
from payments.models import CaptureStatusCode, FinancialAdviceConfirmation, PaymentTerminal
from sessions.models import AuthMethod, Cdr, ChargingSession, MeterReading, ReceivedCommand, SessionStatus
from sessions.services import cdr_create_from_session, command_idempotency_key
from tariffs.models import Tariff, TariffAltText, TariffElement, TariffType
from tariffs.pricing import amount_columns, charging_periods_json, price_readings

ModelT = TypeVar("ModelT", bound=models.Model)

ADMIN_USERNAME = "admin"
PAYTER_PARTNER = "Payter (demo)"
CARD_CAPABILITIES = [
    "CONTACTLESS_CARD_SUPPORT",
    "CREDIT_CARD_PAYABLE",
    "DEBIT_CARD_PAYABLE",
    "REMOTE_START_STOP_CAPABLE",
    "UNLOCK_CAPABLE",
]


def upsert(model: type[ModelT], lookup: dict[str, Any], values: dict[str, Any]) -> ModelT:
    """Find the row by its natural key; create it, or save only the fields that differ.

    Every row passes the model's field validation and clean(), so the demo data is data staff could
    enter; the database checks the constraints itself (validating them here costs a query each).
    """
    row = model._default_manager.filter(**lookup).first()
    if row is None:
        row = model(**lookup, **values)
        row.full_clean(validate_constraints=False)
        row.save()
        return row
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    if changed:
        for name in changed:
            setattr(row, name, values[name])
        row.full_clean(validate_constraints=False)
        row.save(update_fields=changed)
    return row


# -- parties, partner --------------------------------------------------------------------------


PARTIES = {
    "NL": {"party_id": "VWY", "name": "Voltway Nederland B.V.", "website": "https://nl.voltway.example.com"},
    "DE": {
        "party_id": "VWY",
        "name": "Voltway Deutschland GmbH",
        "website": "https://de.voltway.example.com",
    },
}


def seed_parties() -> dict[str, Party]:
    return {
        country: upsert(
            Party,
            {"country_code": country, "party_id": data["party_id"]},
            {"name": data["name"], "website": data["website"], "invoice_creator": Party.InvoiceCreator.PTP},
        )
        for country, data in PARTIES.items()
    }


def seed_payter() -> Partner:
    # PLANNED: no handshake has happened, so nothing is ever pushed to this demo partner.
    partner = upsert(
        Partner,
        {"name": PAYTER_PARTNER},
        {"status": Partner.Status.PLANNED, "version": "2.3.0", "customer_reference": "VOLTWAY-DEMO"},
    )
    upsert(
        PartnerRole,
        {"partner": partner, "role": PartnerRole.Role.PTP, "country_code": "NL", "party_id": "PTR"},
        {"business_details": {"name": "Payter", "website": "https://www.payter.com"}},
    )
    return partner


# -- tariffs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TariffPlan:
    """A card-payment tariff: prices per kWh in and out of one time window, and an idle fee.

    Prices are given including VAT, as drivers read them; the stored component prices exclude it.
    """

    tariff_id: str
    country: str
    vat: Decimal
    energy: Decimal
    window_energy: Decimal
    window: tuple[str, str]
    idle_per_minute: Decimal
    idle_window: tuple[str, str] | None
    reserve: Decimal


TARIFF_PLANS = (
    # DC: dearer in the evening peak, idle fee around the clock.
    TariffPlan("DC-NL", "NL", Decimal(21), Decimal("0.59"), Decimal("0.69"), ("17:00", "21:00"),
               Decimal("0.20"), None, Decimal("60.00")),
    TariffPlan("DC-DE", "DE", Decimal(19), Decimal("0.69"), Decimal("0.79"), ("17:00", "21:00"),
               Decimal("0.20"), None, Decimal("60.00")),
    # AC: cheaper at night, and no idle fee at night (cars stay plugged in overnight).
    TariffPlan("AC-NL", "NL", Decimal(21), Decimal("0.39"), Decimal("0.29"), ("23:00", "07:00"),
               Decimal("0.05"), ("07:00", "23:00"), Decimal("30.00")),
    TariffPlan("AC-DE", "DE", Decimal(19), Decimal("0.49"), Decimal("0.39"), ("23:00", "07:00"),
               Decimal("0.05"), ("07:00", "23:00"), Decimal("30.00")),
)  # fmt: skip


def excl_vat(price_incl: Decimal, vat: Decimal) -> Decimal:
    """The price before VAT, to 4 decimals, that gives back ``price_incl`` when VAT is added and rounded."""
    return (price_incl / (1 + vat / 100)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _euro(amount: Decimal, language: str) -> str:
    text = f"{amount:.2f}"
    if language == "en":
        return f"€{text}"
    text = text.replace(".", ",")
    return f"€ {text}" if language == "nl" else f"{text} €"


def alt_texts(plan: TariffPlan) -> dict[str, str]:
    """The tariff in the four languages the demo terminals offer."""
    begin, end = plan.window
    vat = f"{plan.vat:g}"
    night = plan.window_energy < plan.energy

    def e(amount: Decimal, language: str) -> str:
        return _euro(amount, language)

    idle_en = "from 07:00 to 23:00 only" if plan.idle_window else "at any time"
    idle_nl = "alleen van 07:00 tot 23:00" if plan.idle_window else "op elk moment"
    idle_de = "nur von 07:00 bis 23:00 Uhr" if plan.idle_window else "rund um die Uhr"
    idle_fr = "de 07h00 à 23h00 uniquement" if plan.idle_window else "à toute heure"
    when = {
        "en": f"at night ({begin} to {end})" if night else f"from {begin} to {end}",
        "nl": f"'s nachts ({begin} tot {end})" if night else f"van {begin} tot {end}",
        "de": f"nachts ({begin} bis {end} Uhr)" if night else f"von {begin} bis {end} Uhr",
        "fr": f"la nuit ({begin.replace(':', 'h')} à {end.replace(':', 'h')})"
        if night
        else f"de {begin.replace(':', 'h')} à {end.replace(':', 'h')}",
    }
    return {
        "en": f"{e(plan.energy, 'en')} per kWh; {e(plan.window_energy, 'en')} per kWh {when['en']}. "
        f"Idle fee after charging: {e(plan.idle_per_minute, 'en')} per minute, {idle_en}. "
        f"Prices include {vat}% VAT. Up to {e(plan.reserve, 'en')} is reserved on your card.",
        "nl": f"{e(plan.energy, 'nl')} per kWh; {e(plan.window_energy, 'nl')} per kWh {when['nl']}. "
        f"Stilstandtarief na het laden: {e(plan.idle_per_minute, 'nl')} per minuut, {idle_nl}. "
        f"Prijzen inclusief {vat}% btw. Er wordt tot {e(plan.reserve, 'nl')} op uw kaart gereserveerd.",
        "de": f"{e(plan.energy, 'de')} pro kWh; {e(plan.window_energy, 'de')} pro kWh {when['de']}. "
        f"Blockiergebühr nach Ladeende: {e(plan.idle_per_minute, 'de')} pro Minute, {idle_de}. "
        f"Preise inkl. {vat} % MwSt. Bis zu {e(plan.reserve, 'de')} werden auf Ihrer Karte reserviert.",
        "fr": f"{e(plan.energy, 'fr')} par kWh ; {e(plan.window_energy, 'fr')} par kWh {when['fr']}. "
        f"Frais d'occupation après la charge : {e(plan.idle_per_minute, 'fr')} par minute, {idle_fr}. "
        f"Prix TTC (TVA {vat} %). Jusqu'à {e(plan.reserve, 'fr')} sont réservés sur votre carte.",
    }


def seed_tariff(plan: TariffPlan, party: Party) -> Tariff:
    tariff = upsert(
        Tariff,
        {"party": party, "tariff_id": plan.tariff_id},
        {
            "currency": "EUR",
            "type": TariffType.AD_HOC_PAYMENT,
            "tax_included": "NO",
            "max_price_excl_vat": excl_vat(plan.reserve, plan.vat),
            "max_price_incl_vat": plan.reserve,
            "preauthorize_amount": plan.reserve,
        },
    )
    window_begin, window_end = plan.window
    idle_begin, idle_end = plan.idle_window or ("", "")
    elements = [
        # The windowed price first: for each dimension the first element that applies is used.
        {
            "energy_price": excl_vat(plan.window_energy, plan.vat),
            "start_time": window_begin,
            "end_time": window_end,
        },
        {"energy_price": excl_vat(plan.energy, plan.vat)},
        {
            "parking_price": excl_vat(plan.idle_per_minute * 60, plan.vat),
            "parking_step_size": 60,
            "start_time": idle_begin,
            "end_time": idle_end,
        },
    ]  # fmt: skip
    for position, values in enumerate(elements):
        vat_values = {
            f"{prefix}_vat": plan.vat for prefix in ("energy", "parking") if f"{prefix}_price" in values
        }
        upsert(TariffElement, {"tariff": tariff, "position": position}, {**values, **vat_values})
    for language, text in alt_texts(plan).items():
        upsert(TariffAltText, {"tariff": tariff, "language": language}, {"text": text})
    return tariff


# -- locations -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    location_id: str
    party: str
    name: str
    address: str
    postal_code: str
    city: str
    country: str
    latitude: str
    longitude: str
    time_zone: str
    parking_type: str
    facilities: tuple[str, ...]
    evses: tuple[str, ...]  # "DC" (CCS2 + CHAdeMO), "HPC" (CCS2 only) or "AC" (Type 2 socket)
    directions: tuple[tuple[str, str], ...] = ()
    open_24_7: bool = True


SITES = (
    Site("UTR01", "NL", "Jaarbeurs P+R", "Jaarbeursplein 6", "3521 AL", "Utrecht", "NLD", "52.0884000",
         "5.1065000", "Europe/Amsterdam", "PARKING_LOT", ("TRAIN_STATION", "CAFE"), ("DC", "HPC", "AC", "AC"),
         (("en", "Row A, next to the exit barrier."), ("nl", "Rij A, naast de uitrijslagboom."))),
    Site("AMS01", "NL", "Sloterdijk Poort garage", "Radarweg 60", "1043 NT", "Amsterdam", "NLD", "52.3875000",
         "4.8380000", "Europe/Amsterdam", "UNDERGROUND_GARAGE", ("TRAIN_STATION",), ("AC", "AC"),
         (("en", "Level -1, bays 12 to 14."), ("nl", "Niveau -1, vakken 12 tot 14.")), open_24_7=False),
    Site("RTD01", "NL", "Kop van Zuid", "Wilhelminakade 137", "3072 AP", "Rotterdam", "NLD", "51.9069000",
         "4.4888000", "Europe/Amsterdam", "ON_STREET", ("TRAM_STOP",), ("DC", "HPC")),
    Site("ANT01", "NL", "Eilandje", "Londenstraat 20", "2000", "Antwerpen", "BEL", "51.2302000", "4.4063000",
         "Europe/Brussels", "PARKING_LOT", ("MUSEUM", "RESTAURANT"), ("DC", "AC"),
         (("nl", "Naast het MAS, ingang Londenstraat."), ("fr", "À côté du MAS, entrée Londenstraat."))),
    Site("BRU01", "NL", "Gare du Midi / Zuidstation", "Avenue Fonsny 47", "1060", "Saint-Gilles", "BEL",
         "50.8357000", "4.3358000", "Europe/Brussels", "PARKING_GARAGE", ("TRAIN_STATION",), ("AC", "AC")),
    Site("KOE01", "DE", "Deutz Messe", "Deutz-Mülheimer Straße 51", "50679", "Köln", "DEU", "50.9413000",
         "6.9737000", "Europe/Berlin", "PARKING_LOT", ("TRAIN_STATION", "MALL"), ("DC", "HPC", "AC"),
         (("de", "Parkplatz P3, Reihe B."), ("en", "Car park P3, row B."))),
    Site("DUS01", "DE", "Medienhafen", "Speditionstraße 15", "40221", "Düsseldorf", "DEU", "51.2137000",
         "6.7486000", "Europe/Berlin", "ON_STREET", ("RESTAURANT",), ("AC", "AC")),
)  # fmt: skip

# (connector id, standard, format, power type, volt, ampere, watt)
CONNECTORS: dict[str, tuple[tuple[str, str, str, str, int, int, int], ...]] = {
    "DC": (
        ("1", ConnectorType.IEC_62196_T2_COMBO, ConnectorFormat.CABLE, PowerType.DC, 1000, 200, 150_000),
        ("2", ConnectorType.CHADEMO, ConnectorFormat.CABLE, PowerType.DC, 500, 125, 50_000),
    ),
    "HPC": (
        ("1", ConnectorType.IEC_62196_T2_COMBO, ConnectorFormat.CABLE, PowerType.DC, 1000, 400, 300_000),
    ),
    "AC": (("1", ConnectorType.IEC_62196_T2, ConnectorFormat.SOCKET, PowerType.AC_3_PHASE, 230, 32, 22_000),),
}
# Opening hours of the one site that is not open around the clock: (weekday, begin, end).
GARAGE_HOURS = (
    *((day, "06:00", "23:00") for day in range(1, 6)),
    (6, "08:00", "22:00"),
    (7, "08:00", "22:00"),
)


def seed_site(site: Site, party: Party, tariffs: dict[str, Tariff]) -> Location:
    location = upsert(
        Location,
        {"party": party, "location_id": site.location_id},
        {
            "name": site.name,
            "address": site.address,
            "postal_code": site.postal_code,
            "city": site.city,
            "country": site.country,
            "latitude": Decimal(site.latitude),
            "longitude": Decimal(site.longitude),
            "time_zone": site.time_zone,
            "parking_type": site.parking_type,
            "facilities": list(site.facilities),
            "directions": [{"language": language, "text": text} for language, text in site.directions],
            "twentyfourseven": site.open_24_7,
            "help_phone": "+31301234567" if party.country_code == "NL" else "+492211234567",
            "publish": True,
        },
    )
    if not site.open_24_7:
        for weekday, begin, end in GARAGE_HOURS:
            upsert(
                RegularHours,
                {"location": location, "weekday": weekday, "period_begin": begin},
                {"period_end": end},
            )
    for number, kind in enumerate(site.evses, start=1):
        evse = upsert(
            Evse,
            {"location": location, "uid": f"{site.location_id}-{number:02d}"},
            {
                "evse_id": f"{party.country_code}*{party.party_id}*E{site.location_id}{number:02d}",
                "status": EvseStatus.AVAILABLE,
                "capabilities": CARD_CAPABILITIES,
                "physical_reference": f"{number:02d}",
            },
        )
        # The demo's chargers are simulated: AC cars draw 11 kW, DC cars 50 kW.
        upsert(
            SimulatedCharger, {"evse": evse}, {"power_kw": Decimal("11.000" if kind == "AC" else "50.000")}
        )
        tariff = tariffs[f"{'AC' if kind == 'AC' else 'DC'}-{party.country_code}"]
        for connector_id, standard, format_, power_type, volt, ampere, watt in CONNECTORS[kind]:
            connector = upsert(
                Connector,
                {"evse": evse, "connector_id": connector_id},
                {
                    "standard": standard,
                    "format": format_,
                    "power_type": power_type,
                    "max_voltage": volt,
                    "max_amperage": ampere,
                    "max_electric_power": watt,
                    "terms_and_conditions": "https://voltway.example.com/terms",
                },
            )
            if list(connector.tariffs.all()) != [tariff]:
                connector.tariffs.set([tariff])
    return location


def seed_terminals(partner: Partner, locations: dict[str, Location]) -> None:
    plans = (
        ("PAYTER-T-0001", "APOLLO-100001", "Utrecht", ["UTR01"], []),
        ("PAYTER-T-0002", "APOLLO-100002", "Köln", ["KOE01"], []),
        # Built into a charger: assigned to its EVSE rather than the whole location.
        ("PAYTER-T-0003", "POLAR-200003", "Antwerpen", ["ANT01"], ["ANT01-01"]),
    )
    for terminal_id, reference, city, location_ids, evse_uids in plans:
        terminal = upsert(
            PaymentTerminal,
            {"partner": partner, "terminal_id": terminal_id},
            {
                "reference": reference,
                "customer_reference": "VOLTWAY-DEMO",
                "city": city,
                "invoice_creator": "PTP",
            },
        )
        wanted_locations = {locations[location_id].pk for location_id in location_ids}
        if set(terminal.locations.values_list("pk", flat=True)) != wanted_locations:
            terminal.locations.set(wanted_locations)
        wanted_evses = set(Evse.objects.filter(uid__in=evse_uids).values_list("pk", flat=True))
        if set(terminal.evses.values_list("pk", flat=True)) != wanted_evses:
            terminal.evses.set(wanted_evses)


# -- sessions, CDRs, captures --------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """A finished card-payment session: where, when (local time) and what it used."""

    number: int
    evse_uid: str
    days_ago: int
    local_start: time
    charging_minutes: int
    kwh: Decimal
    idle_minutes: int
    captured: bool


VISITS = (
    Visit(1, "UTR01-01", 2, time(10, 12), 35, Decimal("32.418"), 6, captured=True),
    Visit(2, "KOE01-01", 1, time(18, 5), 35, Decimal("28.500"), 0, captured=True),  # evening peak
    Visit(3, "AMS01-01", 1, time(13, 0), 150, Decimal("21.300"), 30, captured=True),
    Visit(4, "ANT01-02", 3, time(23, 30), 360, Decimal("40.120"), 75, captured=False),  # night, no idle fee
)


def demo_card(number: int, partner: Partner) -> dict[str, Any]:
    """The ad hoc token Payter reports for a card payment (mod_cdrs, CdrToken)."""
    return {
        "partner": partner,
        "token_country_code": "NL",
        "token_party_id": "PTR",
        "token_uid": f"DEMO-CARD-{number:04d}",
        "token_type": "AD_HOC_USER",
        "token_contract_id": f"DEMO-CARD-{number:04d}",
        "auth_method": AuthMethod.COMMAND,
    }


def seed_start_command(session: ChargingSession, partner: Partner) -> None:
    """The START_SESSION that Payter sent for the session, answered and its result delivered."""
    response_url = (
        f"https://ptp.example.com/ocpi/2.3.0/commands/START_SESSION/{session.authorization_reference}"
    )
    key = command_idempotency_key("START_SESSION", response_url)
    if ReceivedCommand.objects.filter(partner=partner, idempotency_key=key).exists():
        return
    started = session.start_date_time
    ReceivedCommand.objects.create(
        partner=partner,
        command="START_SESSION",
        version="2.3.0",
        idempotency_key=key,
        request_body={
            "response_url": response_url,
            "token": session.cdr_token,
            "location_id": session.location.location_id,
            "evse_uid": session.evse.uid,
            "connector_id": session.connector.connector_id,
            "authorization_reference": session.authorization_reference,
        },
        response_url=response_url,
        response_result="ACCEPTED",
        response_timeout=180,
        session=session,
        result="ACCEPTED",
        result_at=started,
        delivered_at=started,
        delivery_attempts=1,
        created_at=started,
    )


def seed_visit(visit: Visit, partner: Partner) -> None:
    """A finished session with its meter readings, priced and billed as the portal prices real ones."""
    evse = Evse.objects.select_related("location__party").get(uid=visit.evse_uid)
    location = evse.location
    party = location.party
    connector = evse.connectors.get(connector_id="1")
    tariff = Tariff.objects.select_related("party").prefetch_related("elements").get(connectors=connector)
    session_id = f"DEMO-{party.country_code}-{visit.number:04d}"
    reference = f"DEMO-AUTH-{visit.number:04d}"

    session = ChargingSession.objects.filter(party=party, session_id=session_id).first()
    if session is None:
        zone = ZoneInfo(location.time_zone)
        local_day: date = timezone.now().astimezone(zone).date() - timedelta(days=visit.days_ago)
        start = datetime.combine(local_day, visit.local_start, tzinfo=zone).astimezone(UTC)
        charged_until = start + timedelta(minutes=visit.charging_minutes)
        end = charged_until + timedelta(minutes=visit.idle_minutes)
        average_kw = (visit.kwh * 60 / visit.charging_minutes).quantize(Decimal("0.001"))
        session = ChargingSession(
            party=party,
            session_id=session_id,
            location=location,
            evse=evse,
            connector=connector,
            start_date_time=start,
            end_date_time=end,
            status=SessionStatus.COMPLETED,
            tariff=tariff,
            preauthorized_amount=tariff.preauthorization,
            authorization_reference=reference,
            currency=tariff.currency,
            **demo_card(visit.number, partner),
            created_at=start,
        )
        session.full_clean(validate_constraints=False)
        session.save()
        readings = [
            MeterReading(session=session, timestamp=start, energy_kwh=Decimal(0), power_kw=average_kw),
            MeterReading(
                session=session,
                timestamp=start + (charged_until - start) / 2,
                energy_kwh=visit.kwh / 2,
                power_kw=average_kw,
            ),
            MeterReading(
                session=session,
                timestamp=charged_until,
                energy_kwh=visit.kwh,
                power_kw=Decimal(0),
                charging=False,
            ),
        ]
        MeterReading.objects.bulk_create(readings)
        # The same engine and the same renderings as a live session, so the figures agree to the cent.
        price = price_readings(tariff, readings, time_zone=location.time_zone, end=end)
        session.kwh = price.total_energy
        session.charging_periods = charging_periods_json(price, readings)
        for name, value in amount_columns(price.total_cost, "total_cost").items():
            setattr(session, name, value)
        session.save()
    seed_start_command(session, partner)
    cdr = cdr_create_from_session(session=session)

    fac_id = f"DEMO-FAC-{visit.number:04d}"
    if (
        visit.captured
        and not FinancialAdviceConfirmation.objects.filter(partner=partner, fac_id=fac_id).exists()
    ):
        fac = FinancialAdviceConfirmation(
            partner=partner,
            fac_id=fac_id,
            authorization_reference=reference,
            total_costs_excl_vat=cdr.total_cost_excl_vat,
            total_costs_incl_vat=cdr.total_cost_incl_vat,
            total_costs_taxes=cdr.total_cost_taxes,
            currency=cdr.currency,
            eft_data=["VISA", f"**** **** **** {4000 + visit.number}", f"AUTH CODE {700000 + visit.number}"],
            capture_status_code=CaptureStatusCode.SUCCESS,
            session=session,
            cdr=cdr,
        )
        fac.full_clean(validate_constraints=False)
        fac.save()


def seed_unmatched_capture(partner: Partner) -> None:
    """A capture whose reference matches no session: what finance sees when something went wrong."""
    if FinancialAdviceConfirmation.objects.filter(partner=partner, fac_id="DEMO-FAC-9999").exists():
        return
    fac = FinancialAdviceConfirmation(
        partner=partner,
        fac_id="DEMO-FAC-9999",
        authorization_reference="DEMO-AUTH-UNKNOWN",
        total_costs_excl_vat=Decimal("4.13"),
        total_costs_incl_vat=Decimal("5.00"),
        total_costs_taxes=[{"name": "VAT", "percentage": "21", "amount": "0.87"}],
        currency="EUR",
        eft_data=["MASTERCARD", "**** **** **** 5100"],
        capture_status_code=CaptureStatusCode.SUCCESS,
    )
    fac.full_clean(validate_constraints=False)
    fac.save()


# -- the command -------------------------------------------------------------------------------


@transaction.atomic
def seed() -> dict[str, int]:
    """Load or restore the demo data; returns row counts for the summary."""
    parties = seed_parties()
    partner = seed_payter()
    tariffs = {plan.tariff_id: seed_tariff(plan, parties[plan.country]) for plan in TARIFF_PLANS}
    locations = {site.location_id: seed_site(site, parties[site.party], tariffs) for site in SITES}
    seed_terminals(partner, locations)
    for visit in VISITS:
        seed_visit(visit, partner)
    seed_unmatched_capture(partner)
    return {
        "parties": Party.objects.count(),
        "locations": Location.objects.count(),
        "EVSEs": Evse.objects.count(),
        "connectors": Connector.objects.count(),
        "simulated chargers": SimulatedCharger.objects.count(),
        "tariffs": Tariff.objects.count(),
        "terminals": PaymentTerminal.objects.count(),
        "sessions": ChargingSession.objects.count(),
        "CDRs": Cdr.objects.count(),
    }


class Command(BaseCommand):
    help = "Load realistic demo data (idempotent) and create the demo admin login."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load the demo data only into an empty database (make run: staff edits survive a restart).",
        )
        parser.add_argument(
            "--admin-url",
            default="http://127.0.0.1:8000/admin/",
            help="The admin address printed with the login.",
        )

    def handle(self, *args: Any, if_empty: bool, admin_url: str, **options: Any) -> None:
        if if_empty and Party.objects.exists():
            self.stdout.write(
                "The database holds data already; demo data not loaded "
                "(run seed_demo without --if-empty to restore it)."
            )
        else:
            counts = seed()
            summary = ", ".join(f"{count} {name}" for name, count in counts.items())
            self.stdout.write(self.style.SUCCESS(f"Demo data in place: {summary}."))
        self.ensure_admin(admin_url)

    def ensure_admin(self, admin_url: str) -> None:
        """Create the demo superuser once; its password is shown only then, never stored in clear."""
        user_model = get_user_model()
        if user_model.objects.filter(username=ADMIN_USERNAME).exists():
            self.stdout.write(
                f"Demo admin: {admin_url} user {ADMIN_USERNAME} exists already "
                f"(set a new password with: manage.py changepassword {ADMIN_USERNAME})"
            )
            return
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", password)
        self.stdout.write(
            self.style.SUCCESS(f"Demo admin: {admin_url} user {ADMIN_USERNAME} password {password}")
        )
