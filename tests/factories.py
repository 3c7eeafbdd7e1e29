"""factory_boy factories for the data model, shared by every test package."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from locations.models import Connector, ConnectorFormat, ConnectorType, Evse, EvseStatus, Location, PowerType
from partners.models import Partner, PartnerRole, Party, Token, hash_token
from payments.models import CaptureStatusCode, FinancialAdviceConfirmation, PaymentTerminal
from sessions.models import AuthMethod, Cdr, ChargingSession, SessionStatus
from tariffs.models import Tariff, TariffAltText, TariffElement, TariffType


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party
        django_get_or_create = ("country_code", "party_id")

    country_code = "NL"
    party_id = factory.Sequence(lambda n: f"C{n:02d}"[:3])
    name = factory.LazyAttribute(lambda o: f"Operator {o.party_id}")


class PartnerFactory(factory.django.DjangoModelFactory):
    """A registered partner. ``partner.plain_token_c`` holds the token it presents to us."""

    class Meta:
        model = Partner
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Partner {n}")
    status = Partner.Status.REGISTERED
    version = "2.2.1"
    versions_url = factory.Sequence(lambda n: f"https://partner{n}.example.com/ocpi/versions")
    token_b = factory.LazyFunction(lambda: secrets.token_urlsafe(24))

    @factory.post_generation
    def token_c(obj: Partner, create: bool, extracted: str | None, **kwargs: object) -> None:
        obj.plain_token_c = extracted or secrets.token_urlsafe(24)
        obj.token_c_hash = hash_token(obj.plain_token_c)
        if create:
            obj.save(update_fields=["token_c_hash"])


class PartnerRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerRole

    partner = factory.SubFactory(PartnerFactory)
    role = PartnerRole.Role.PTP
    country_code = "NL"
    party_id = factory.Sequence(lambda n: f"P{n:02d}"[:3])
    business_details = factory.LazyAttribute(lambda o: {"name": o.partner.name})


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    party = factory.SubFactory(PartyFactory)
    location_id = factory.Sequence(lambda n: f"LOC{n:05d}")
    name = factory.Sequence(lambda n: f"Charging plaza {n}")
    address = "Stationsplein 1"
    city = "Utrecht"
    postal_code = "3511 ED"
    country = "NLD"
    latitude = Decimal("52.0893190")
    longitude = Decimal("5.1101700")
    time_zone = "Europe/Amsterdam"
    twentyfourseven = True


class EvseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evse

    location = factory.SubFactory(LocationFactory)
    uid = factory.Sequence(lambda n: f"EVSE{n:05d}")
    evse_id = factory.Sequence(lambda n: f"NL*CPO*E{n:05d}")
    status = EvseStatus.AVAILABLE
    capabilities = factory.LazyFunction(lambda: ["CREDIT_CARD_PAYABLE", "REMOTE_START_STOP_CAPABLE"])
    physical_reference = factory.Sequence(lambda n: f"{n % 100:02d}")


class ConnectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connector

    evse = factory.SubFactory(EvseFactory)
    connector_id = "1"
    standard = ConnectorType.IEC_62196_T2_COMBO
    format = ConnectorFormat.CABLE
    power_type = PowerType.DC
    max_voltage = 920
    max_amperage = 200
    max_electric_power = 150_000


class TariffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tariff

    party = factory.SubFactory(PartyFactory)
    tariff_id = factory.Sequence(lambda n: f"TARIFF{n:04d}")
    currency = "EUR"
    type = TariffType.AD_HOC_PAYMENT
    max_price_excl_vat = Decimal("50.00")
    max_price_incl_vat = Decimal("60.50")


class TariffElementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TariffElement

    tariff = factory.SubFactory(TariffFactory)
    position = factory.Sequence(lambda n: n)
    energy_price = Decimal("0.3900")
    energy_vat = Decimal("21.00")


class TariffAltTextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TariffAltText

    tariff = factory.SubFactory(TariffFactory)
    language = "en"
    text = "EUR 0.39 per kWh"


class TokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Token

    partner = factory.SubFactory(PartnerFactory)
    country_code = "NL"
    party_id = "PTR"
    uid = factory.Sequence(lambda n: f"ADHOC{n:06d}")
    type = Token.TokenType.AD_HOC_USER
    contract_id = factory.LazyAttribute(lambda o: o.uid)
    issuer = "Payter"
    valid = True
    whitelist = Token.Whitelist.NEVER


class ChargingSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargingSession

    connector = factory.SubFactory(ConnectorFactory)
    evse = factory.LazyAttribute(lambda o: o.connector.evse)
    location = factory.LazyAttribute(lambda o: o.connector.evse.location)
    party = factory.LazyAttribute(lambda o: o.connector.evse.location.party)
    partner = factory.SubFactory(PartnerFactory)
    session_id = factory.Sequence(lambda n: f"SES{n:06d}")
    start_date_time = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    kwh = Decimal("12.5000")
    token_country_code = "NL"
    token_party_id = "PTR"
    token_uid = factory.Sequence(lambda n: f"ADHOC{n:06d}")
    token_type = Token.TokenType.AD_HOC_USER
    token_contract_id = factory.LazyAttribute(lambda o: o.token_uid)
    auth_method = AuthMethod.COMMAND
    authorization_reference = factory.Sequence(lambda n: f"AUTH{n:06d}")
    currency = "EUR"
    status = SessionStatus.ACTIVE


class CdrFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cdr

    session = factory.SubFactory(ChargingSessionFactory, status=SessionStatus.COMPLETED)
    party = factory.LazyAttribute(lambda o: o.session.party)
    partner = factory.LazyAttribute(lambda o: o.session.partner)
    cdr_id = factory.Sequence(lambda n: f"CDR{n:06d}")
    start_date_time = factory.LazyAttribute(lambda o: o.session.start_date_time)
    end_date_time = factory.LazyAttribute(lambda o: o.session.start_date_time + timedelta(hours=1))
    token_country_code = factory.LazyAttribute(lambda o: o.session.token_country_code)
    token_party_id = factory.LazyAttribute(lambda o: o.session.token_party_id)
    token_uid = factory.LazyAttribute(lambda o: o.session.token_uid)
    token_type = factory.LazyAttribute(lambda o: o.session.token_type)
    token_contract_id = factory.LazyAttribute(lambda o: o.session.token_contract_id)
    auth_method = AuthMethod.COMMAND
    authorization_reference = factory.LazyAttribute(lambda o: o.session.authorization_reference)
    currency = "EUR"
    cdr_location = factory.LazyAttribute(
        lambda o: {
            "id": o.session.location.location_id,
            "address": o.session.location.address,
            "city": o.session.location.city,
            "country": o.session.location.country,
            "coordinates": {"latitude": "52.089319", "longitude": "5.110170"},
            "evse_uid": o.session.evse.uid,
            "evse_id": o.session.evse.evse_id,
            "connector_id": o.session.connector.connector_id,
            "connector_standard": o.session.connector.standard,
            "connector_format": o.session.connector.format,
            "connector_power_type": o.session.connector.power_type,
        }
    )
    charging_periods = factory.LazyAttribute(
        lambda o: [
            {
                "start_date_time": o.start_date_time.isoformat(),
                "dimensions": [{"type": "ENERGY", "volume": "12.5"}],
            }
        ]
    )
    total_cost_excl_vat = Decimal("4.88")
    total_cost_incl_vat = Decimal("5.90")
    total_energy = Decimal("12.5000")
    total_time = Decimal("1.000000")


class PaymentTerminalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentTerminal

    partner = factory.SubFactory(PartnerFactory)
    terminal_id = factory.Sequence(lambda n: f"TERM{n:05d}")
    reference = factory.Sequence(lambda n: f"APOLLO-{n:06d}")


class FinancialAdviceConfirmationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FinancialAdviceConfirmation

    partner = factory.SubFactory(PartnerFactory)
    fac_id = factory.Sequence(lambda n: f"FAC{n:06d}")
    authorization_reference = factory.Sequence(lambda n: f"AUTH{n:06d}")
    total_costs_excl_vat = Decimal("4.88")
    total_costs_incl_vat = Decimal("5.90")
    currency = "EUR"
    eft_data = factory.LazyFunction(lambda: ["VISA ****1234", "AUTH 0042"])
    capture_status_code = CaptureStatusCode.SUCCESS
