"""Who is who: the CPO parties this portal operates, and the remote OCPI platforms it talks to.

A ``Party`` is one of ours (a CPO identity: country_code + party_id). A ``Partner`` is a remote
platform (Payter as PTP, an eMSP, a hub) with its roles, endpoints and the credentials tokens.
Tokens we issue are stored only as SHA-256 hashes; the token a partner gave us is stored as is,
because we present it on every call to that partner.
"""

from __future__ import annotations

import hashlib

from django.db import models
from django.db.models import Q

from cpo_portal.fields import (
    BUSINESS_DETAILS_SCHEMA,
    EnumListField,
    JSONSchemaValidator,
    LastUpdatedModel,
    country_code_validator,
    language_validator,
    party_id_validator,
    printable_ascii,
)
from cpo_portal.history import tracked_history
from partners.callback_urls import callback_hosts_parse, validate_callback_hosts


def hash_token(token: str) -> str:
    """The stored form of a token we issued. Tokens are random and long, so a plain hash suffices."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# Languages a Payter terminal can show (shared/payter: the terminal offers the tariff_alt_text
# languages); the tariff engine writes price lines in the first four.
TERMINAL_LANGUAGES = (
    ("en", "English"),
    ("nl", "Dutch"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("it", "Italian"),
)


def default_terminal_languages() -> list[str]:
    return ["en"]


class Party(models.Model):
    """A CPO identity that this installation operates (possibly one of several sub-operators)."""

    class InvoiceCreator(models.TextChoices):
        CPO = "CPO", "CPO issues the invoice"
        PTP = "PTP", "Payment terminal provider issues the invoice"

    country_code = models.CharField(max_length=2, validators=[country_code_validator])
    party_id = models.CharField(max_length=3, validators=[party_id_validator])
    name = models.CharField(max_length=100, help_text="Business name, shown as the operator by default.")
    website = models.URLField(max_length=255, blank=True)
    logo_url = models.URLField(max_length=255, blank=True)
    invoice_creator = models.CharField(
        max_length=3,
        choices=InvoiceCreator.choices,
        default=InvoiceCreator.PTP,
        help_text="Who invoices card payments. With CPO, CDRs carry an invoice_reference_id.",
    )
    invoice_base_url = models.URLField(max_length=255, blank=True)
    terminal_languages = EnumListField(
        enum=TERMINAL_LANGUAGES,
        default=default_terminal_languages,
        help_text="The languages the terminal offers: every card-payment tariff needs a text in each.",
    )

    class Meta:
        verbose_name_plural = "parties"
        ordering = ("country_code", "party_id")
        constraints = (
            models.UniqueConstraint(fields=("country_code", "party_id"), name="party_unique_ocpi_identity"),
        )

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} {self.name}"

    @property
    def business_details(self) -> dict[str, object]:
        details: dict[str, object] = {"name": self.name}
        if self.website:
            details["website"] = self.website
        if self.logo_url:
            details["logo"] = {"url": self.logo_url, "category": "OPERATOR", "type": self.logo_url[-3:]}
        return details


class Partner(models.Model):
    """A remote OCPI platform with which we exchange data."""

    class Status(models.TextChoices):
        PLANNED = "PLANNED", "Planned (token A issued, no handshake yet)"
        REGISTERED = "REGISTERED", "Registered"
        SUSPENDED = "SUSPENDED", "Suspended (calls paused)"
        UNREGISTERED = "UNREGISTERED", "Unregistered"

    name = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    versions_url = models.URLField(
        max_length=255, blank=True, help_text="The partner's OCPI versions endpoint."
    )
    version = models.CharField(
        max_length=10, blank=True, help_text="The OCPI version agreed in the handshake, such as 2.3.0."
    )
    callback_hosts = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_callback_hosts],
        help_text=(
            "Hosts the partner may have us call during the handshake (its versions URL, version details "
            "and endpoints), separated by commas; *.partner.com allows its subdomains. Empty: the host of "
            "its versions URL only."
        ),
    )
    parties = models.ManyToManyField(
        Party,
        blank=True,
        related_name="partners",
        help_text="Our parties whose data this partner receives. None selected: all of them.",
    )
    # Tokens we issued, as hashes: A for registration only, C for everything after it.
    token_a_hash = models.CharField(max_length=64, blank=True, editable=False)
    token_c_hash = models.CharField(max_length=64, blank=True, editable=False)
    # The token the partner gave us; we send it with every call we make to the partner.
    token_b = models.CharField(max_length=255, blank=True, validators=[printable_ascii])
    send_raw_token = models.BooleanField(
        default=False,
        help_text="Send the token without base64 encoding (for partners still on the OCPI 2.1 habit).",
    )
    customer_reference = models.CharField(
        max_length=36,
        blank=True,
        validators=[printable_ascii],
        help_text="Payter's reference for this CPO (sent in terminal data).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Tokens (ours as hashes, the partner's in clear) never go into the history tables.
    history = tracked_history(
        excluded_fields=("token_a_hash", "token_c_hash", "token_b", "updated_at"), m2m_fields=("parties",)
    )

    class Meta:
        ordering = ("name",)
        permissions = (
            # Above "change partner": whoever holds it can act as the partner or replace its tokens.
            ("manage_partner_credentials", "Can issue, register, rotate and unregister partner credentials"),
        )
        indexes = (
            # Authentication looks partners up by the hash of the presented token.
            models.Index(fields=("token_c_hash",), name="partner_token_c_hash_idx"),
            models.Index(fields=("token_a_hash",), name="partner_token_a_hash_idx"),
        )

    def __str__(self) -> str:
        return self.name

    @property
    def callback_host_list(self) -> list[str]:
        return callback_hosts_parse(self.callback_hosts)


class PartnerRole(models.Model):
    """One role a partner platform plays (credentials.asciidoc, CredentialsRole)."""

    class Role(models.TextChoices):
        CPO = "CPO", "Charge Point Operator"
        EMSP = "EMSP", "eMobility Service Provider"
        HUB = "HUB", "Hub"
        NAP = "NAP", "National Access Point"
        NSP = "NSP", "Navigation Service Provider"
        # The 2.3.0 Role enum lacks PTP although the Payments module uses it (shared/payter/README.md).
        PTP = "PTP", "Payment Terminal Provider"
        SCSP = "SCSP", "Smart Charging Service Provider"
        OTHER = "OTHER", "Other"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=5, choices=Role.choices)
    country_code = models.CharField(max_length=2, validators=[country_code_validator])
    party_id = models.CharField(max_length=3, validators=[party_id_validator])
    business_details = models.JSONField(
        default=dict, validators=[JSONSchemaValidator(BUSINESS_DETAILS_SCHEMA, "business_details")]
    )

    class Meta:
        ordering = ("partner", "role")
        constraints = (
            models.UniqueConstraint(
                fields=("partner", "role", "country_code", "party_id"), name="partner_role_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.role} {self.country_code}*{self.party_id}"


class PartnerEndpoint(models.Model):
    """An endpoint from the partner's version details, for the version we agreed."""

    class InterfaceRole(models.TextChoices):
        SENDER = "SENDER", "Sender"
        RECEIVER = "RECEIVER", "Receiver"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="endpoints")
    module = models.CharField(max_length=40, help_text="OCPI module identifier, such as locations.")
    interface_role = models.CharField(max_length=8, choices=InterfaceRole.choices)
    url = models.URLField(max_length=255)

    class Meta:
        ordering = ("partner", "module", "interface_role")
        constraints = (
            models.UniqueConstraint(
                fields=("partner", "module", "interface_role"), name="partner_endpoint_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.module} ({self.interface_role})"


class Token(LastUpdatedModel):
    """A token received from an eMSP or PTP (mod_tokens, Token object)."""

    class TokenType(models.TextChoices):
        AD_HOC_USER = "AD_HOC_USER", "Ad hoc user (card payment)"
        APP_USER = "APP_USER", "App user"
        EMAID = "EMAID", "eMAID (Plug & Charge)"
        OTHER = "OTHER", "Other"
        RFID = "RFID", "RFID card"

    class Whitelist(models.TextChoices):
        ALWAYS = "ALWAYS", "Always"
        ALLOWED = "ALLOWED", "Allowed"
        ALLOWED_OFFLINE = "ALLOWED_OFFLINE", "Allowed offline"
        NEVER = "NEVER", "Never"

    class ProfileType(models.TextChoices):
        CHEAP = "CHEAP", "Cheap"
        FAST = "FAST", "Fast"
        GREEN = "GREEN", "Green"
        REGULAR = "REGULAR", "Regular"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="tokens")
    country_code = models.CharField(max_length=2, validators=[country_code_validator])
    party_id = models.CharField(max_length=3, validators=[party_id_validator])
    uid = models.CharField(max_length=36, validators=[printable_ascii])
    type = models.CharField(max_length=11, choices=TokenType.choices)
    contract_id = models.CharField(max_length=36, validators=[printable_ascii])
    visual_number = models.CharField(max_length=64, blank=True)
    issuer = models.CharField(max_length=64)
    group_id = models.CharField(max_length=36, blank=True, validators=[printable_ascii])
    valid = models.BooleanField()
    whitelist = models.CharField(max_length=15, choices=Whitelist.choices)
    language = models.CharField(max_length=2, blank=True, validators=[language_validator])
    default_profile_type = models.CharField(max_length=7, choices=ProfileType.choices, blank=True)
    energy_contract = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ("country_code", "party_id", "uid")
        constraints = (
            # mod_tokens: a token is identified by uid and type within its owner.
            models.UniqueConstraint(
                fields=("country_code", "party_id", "uid", "type"), name="token_unique_ocpi_identity"
            ),
            models.CheckConstraint(
                condition=~Q(uid=""),
                name="token_uid_not_empty",
                violation_error_message="A token needs a uid.",
            ),
        )

    def __str__(self) -> str:
        return f"{self.type} {self.uid}"
