"""The OCPI credentials handshake in both directions (credentials.asciidoc).

We register with a partner (``partner_register``), rotate our token (``partner_credentials_update``)
and unregister (``partner_unregister``); a partner registers with us through our credentials
endpoint (``credentials_register_inbound``). What a registration learned is stored by
``partners.services.partner_registration_store``; tokens and their hashes are ``partners``' too.

Errors raise ``partners.registration.HandshakeError`` with the OCPI status code the spec gives (3001
when the partner's API cannot be used, 3002 without a mutual version, 3003 without the endpoints we
need). ``OcpiHandshake`` offers these to the partner admin (registered in ``OcpiApiConfig.ready``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from cpo_portal.fields import BUSINESS_DETAILS_SCHEMA, validate_against_schema
from ocpi_api.client import OcpiClient, OcpiClientError
from ocpi_api.transport.envelope import CLIENT_API_UNUSABLE, NO_MATCHING_ENDPOINTS, UNSUPPORTED_VERSION
from ocpi_api.versions import SUPPORTED_VERSIONS
from partners.callback_urls import CallbackUrlRefused, callback_hosts_for, callback_url_check
from partners.models import Partner, PartnerRole, Party
from partners.registration import HandshakeError
from partners.services import (
    credentials_unregister_inbound,
    our_versions_url,
    partner_offered_token_restore,
    partner_offered_token_set,
    partner_registration_store,
    token_new,
)

# What we need from a partner's version details to work with it at all.
REQUIRED_PARTNER_MODULES = ("credentials",)


class CredentialsInvalid(Exception):
    """A credentials object from a partner is malformed; the message names the field."""


@dataclass(frozen=True)
class PartnerCredentials:
    """A partner's Credentials object, checked."""

    token: str
    url: str
    roles: list[dict[str, Any]]


def our_credentials(partner: Partner, token: str) -> dict[str, Any]:
    """Our Credentials object for ``partner``: one CPO role per party it may see."""
    parties = list(partner.parties.all()) or list(Party.objects.all())
    return {
        "token": token,
        "url": our_versions_url(),
        "roles": [
            {
                "role": "CPO",
                "business_details": party.business_details,
                "party_id": party.party_id,
                "country_code": party.country_code,
            }
            for party in parties
        ],
    }


def credentials_parse(body: Any) -> PartnerCredentials:
    """Check a Credentials object (credentials.asciidoc, "Credentials object"), leniently.

    Roles may be PTP or OTHER (2.3.0's Role enum lacks PTP although Payments uses it).
    """
    if not isinstance(body, dict):
        raise CredentialsInvalid("The body must be a Credentials object")
    token, url, roles = body.get("token"), body.get("url"), body.get("roles")
    if not isinstance(token, str) or not token.strip() or len(token) > 64 or not token.isprintable():
        raise CredentialsInvalid("token must be a printable string of 1 to 64 characters")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise CredentialsInvalid("url must be the http(s) URL of your versions endpoint")
    if not isinstance(roles, list) or not roles:
        raise CredentialsInvalid("roles must be a non-empty list of CredentialsRole objects")
    checked = []
    known_roles = set(PartnerRole.Role.values)
    for index, role in enumerate(roles):
        where = f"roles[{index}]"
        if not isinstance(role, dict):
            raise CredentialsInvalid(f"{where} must be an object")
        if role.get("role") not in known_roles:
            raise CredentialsInvalid(f"{where}.role must be one of {', '.join(sorted(known_roles))}")
        country_code, party_id = role.get("country_code"), role.get("party_id")
        if not (isinstance(country_code, str) and len(country_code) == 2 and country_code.isalpha()):
            raise CredentialsInvalid(f"{where}.country_code must be two letters")
        if not (isinstance(party_id, str) and len(party_id) == 3 and party_id.isalnum()):
            raise CredentialsInvalid(f"{where}.party_id must be three letters or digits")
        details = role.get("business_details")
        try:
            validate_against_schema(details, BUSINESS_DETAILS_SCHEMA, f"{where}.business_details")
        except ValidationError as error:
            raise CredentialsInvalid(error.messages[0]) from None
        if not isinstance(details, dict):
            raise CredentialsInvalid(f"{where}.business_details must be an object with a name")
        checked.append(
            {
                "role": role["role"],
                "country_code": country_code.upper(),
                "party_id": party_id.upper(),
                "business_details": details,
            }
        )
    return PartnerCredentials(token=token, url=url, roles=checked)


@dataclass(frozen=True)
class Discovery:
    version: str
    endpoints: list[dict[str, str]]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def partner_discover(
    *,
    partner: Partner,
    versions_url: str,
    token: str,
    version: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> Discovery:
    """GET the partner's versions and the details of ``version`` or else the highest one we share.

    Every URL the partner names is checked before it is requested or kept (partners.callback_urls):
    on ``allowed_hosts`` (by default the partner's allow-list, or the host of ``versions_url``) and
    on a public address. Raises HandshakeError 3001 when a URL is refused or a call fails, 3002
    without a mutual version, 3003 when the details lack what we need.
    """
    if allowed_hosts is None:
        allowed_hosts = callback_hosts_for(configured=partner.callback_host_list, versions_url=versions_url)
    _check_callback_url("Versions URL", versions_url, allowed_hosts)
    client = OcpiClient(token=token, partner=partner, send_raw_token=partner.send_raw_token)
    try:
        versions = client.get(versions_url).data
    except OcpiClientError as error:
        raise HandshakeError(
            f"GET {versions_url} failed: {error}", status_code=CLIENT_API_UNUSABLE
        ) from error
    offered = {
        str(entry.get("version")): str(entry.get("url"))
        for entry in versions or []
        if isinstance(entry, dict) and entry.get("url")
    }
    mutual = sorted(set(offered) & set(SUPPORTED_VERSIONS), key=_version_key)
    if not mutual:
        raise HandshakeError(
            f"No mutual OCPI version: you offer {sorted(offered) or 'none'}, we speak "
            f"{', '.join(SUPPORTED_VERSIONS)}",
            status_code=UNSUPPORTED_VERSION,
        )
    if version is not None and version not in mutual:
        raise HandshakeError(
            f"You do not offer OCPI {version} in {versions_url} (you offer {sorted(offered)})",
            status_code=UNSUPPORTED_VERSION,
        )
    version = version or mutual[-1]
    _check_callback_url(f"The version {version} details URL", offered[version], allowed_hosts)
    try:
        details = client.get(offered[version]).data
    except OcpiClientError as error:
        raise HandshakeError(
            f"GET {offered[version]} failed: {error}", status_code=CLIENT_API_UNUSABLE
        ) from error
    raw_endpoints = details.get("endpoints") if isinstance(details, dict) else None
    if not isinstance(raw_endpoints, list):
        raise HandshakeError("Your version details have no endpoints list", status_code=CLIENT_API_UNUSABLE)
    endpoints = [
        {
            "identifier": str(entry["identifier"]),
            "role": str(entry.get("role") or "RECEIVER").upper(),
            "url": str(entry["url"]),
        }
        for entry in raw_endpoints
        if isinstance(entry, dict) and entry.get("identifier") and entry.get("url")
    ]
    for endpoint in endpoints:
        # Pushes and pulls call these later: refused now, before we keep them.
        _check_callback_url(f"The {endpoint['identifier']} endpoint", endpoint["url"], allowed_hosts)
    missing = [
        module for module in REQUIRED_PARTNER_MODULES if module not in {e["identifier"] for e in endpoints}
    ]
    if missing:
        raise HandshakeError(
            f"Your version {version} details lack the {', '.join(missing)} endpoint",
            status_code=NO_MATCHING_ENDPOINTS,
        )
    return Discovery(version=version, endpoints=endpoints)


def _check_callback_url(what: str, url: str, allowed_hosts: Sequence[str]) -> None:
    try:
        callback_url_check(url=url, allowed_hosts=allowed_hosts)
    except CallbackUrlRefused as error:
        # status_codes.asciidoc 3001: we cannot use the partner's API as it describes it.
        raise HandshakeError(f"{what} {url} is refused: {error}", status_code=CLIENT_API_UNUSABLE) from None


def credentials_register_inbound(
    *, partner: Partner, body: Any, version: str, presented_token: str
) -> dict[str, Any]:
    """A partner POSTs or PUTs its credentials to our ``version`` credentials endpoint.

    We call back its versions and the details of that version with its token B, store them, and
    answer our credentials with a new token C (credentials.asciidoc, "POST Method", "PUT Method":
    the version of the endpoint called is the version agreed).
    """
    credentials = credentials_parse(body)
    allowed_hosts = callback_hosts_for(configured=partner.callback_host_list, versions_url=credentials.url)
    try:
        callback_url_check(url=credentials.url, allowed_hosts=allowed_hosts)
    except CallbackUrlRefused as error:
        # The body names a URL we do not call: a parameter of the request is wrong (2001).
        raise CredentialsInvalid(f"url: {error}") from None
    discovery = partner_discover(
        partner=partner,
        versions_url=credentials.url,
        token=credentials.token,
        version=version,
        allowed_hosts=allowed_hosts,
    )
    token_c = token_new()
    partner_registration_store(
        partner=partner,
        versions_url=credentials.url,
        token_b=credentials.token,
        version=discovery.version,
        endpoints=discovery.endpoints,
        roles=credentials.roles,
        token_c=token_c,
        presented_token=presented_token,
    )
    return our_credentials(partner, token_c)


def partner_register(*, partner: Partner, versions_url: str, token_a: str) -> Partner:
    """We register with a partner that gave us its versions URL and token A.

    GET its versions and details with token A, POST our credentials with a fresh token (its
    token B, our C) to its credentials endpoint, and keep the token it answers with.
    Our token is saved before the POST: the partner calls our versions with it meanwhile.
    """
    discovery = partner_discover(partner=partner, versions_url=versions_url, token=token_a)
    return _post_or_put_credentials(
        partner=partner, versions_url=versions_url, token=token_a, discovery=discovery, method="POST"
    )


def _post_or_put_credentials(
    *, partner: Partner, versions_url: str, token: str, discovery: Discovery, method: str
) -> Partner:
    credentials_url = next(e["url"] for e in discovery.endpoints if e["identifier"] == "credentials")
    our_token = token_new()
    previous = partner_offered_token_set(partner=partner, token=our_token)
    client = OcpiClient(token=token, partner=partner, send_raw_token=partner.send_raw_token)
    try:
        answer = client.request(method, credentials_url, json_body=our_credentials(partner, our_token))
        theirs = credentials_parse(answer.data)
    except (OcpiClientError, CredentialsInvalid) as error:
        partner_offered_token_restore(partner=partner, previous=previous)
        raise HandshakeError(
            f"{method} {credentials_url} failed: {error}", status_code=CLIENT_API_UNUSABLE
        ) from error
    partner_registration_store(
        partner=partner,
        versions_url=versions_url,
        token_b=theirs.token,
        version=discovery.version,
        endpoints=discovery.endpoints,
        roles=theirs.roles,
        token_c=None,
    )
    return partner


def partner_credentials_update(*, partner: Partner) -> Partner:
    """We rotate our token with a registered partner: PUT new credentials, keep its new token."""
    discovery = partner_discover(partner=partner, versions_url=partner.versions_url, token=partner.token_b)
    return _post_or_put_credentials(
        partner=partner,
        versions_url=partner.versions_url,
        token=partner.token_b,
        discovery=discovery,
        method="PUT",
    )


def partner_unregister(*, partner: Partner) -> Partner:
    """We end the registration: DELETE our credentials at the partner, then void our tokens."""
    endpoint = partner.endpoints.filter(module="credentials").order_by("interface_role").first()
    if endpoint is None:
        raise HandshakeError("The partner has no credentials endpoint", status_code=NO_MATCHING_ENDPOINTS)
    try:
        OcpiClient.for_partner(partner).delete(endpoint.url)
    except OcpiClientError as error:
        raise HandshakeError(
            f"DELETE {endpoint.url} failed: {error}", status_code=CLIENT_API_UNUSABLE
        ) from error
    credentials_unregister_inbound(partner=partner)
    return partner


class OcpiHandshake:
    """The handshake as the partner admin asks for it (``partners.registration.Registration``)."""

    def register(self, *, partner: Partner, versions_url: str, token_a: str) -> Partner:
        return partner_register(partner=partner, versions_url=versions_url, token_a=token_a)

    def credentials_update(self, *, partner: Partner) -> Partner:
        return partner_credentials_update(partner=partner)

    def unregister(self, *, partner: Partner) -> Partner:
        return partner_unregister(partner=partner)
