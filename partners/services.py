"""The credentials handshake in both directions, and partner token management (credentials.asciidoc).

Naming follows the spec: token A is what one side hands out of band to start, token B what the
registering side offers in its POST, token C what the other side answers with. On our side:
- we store only hashes of the tokens we issue (``token_a_hash`` for registration, ``token_c_hash``
  for everything after it);
- ``Partner.token_b`` is always the token *we* present when calling the partner.

Errors raise ``HandshakeError`` with the OCPI status code the spec gives (3001 when the partner's
API cannot be used, 3002 without a mutual version, 3003 without the endpoints we need).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from cpo_portal.fields import BUSINESS_DETAILS_SCHEMA, validate_against_schema
from ocpi_api.client import OcpiClient, OcpiClientError
from ocpi_api.transport.envelope import CLIENT_API_UNUSABLE, NO_MATCHING_ENDPOINTS, UNSUPPORTED_VERSION
from ocpi_api.transport.tokens import token_new
from ocpi_api.versions import SUPPORTED_VERSIONS
from partners.callback_urls import (
    CallbackUrlRefused,
    callback_hosts_for,
    callback_hosts_parse,
    callback_url_check,
    validate_callback_hosts,
)
from partners.models import Partner, PartnerEndpoint, PartnerRole, Party, hash_token

# What we need from a partner's version details to work with it at all.
REQUIRED_PARTNER_MODULES = ("credentials",)


class HandshakeError(Exception):
    """The handshake failed; ``status_code`` is the OCPI code to report."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class CredentialsReplaced(Exception):
    """The token that authorised a POST/PUT was replaced by a concurrent registration."""


class CredentialsInvalid(Exception):
    """A credentials object from a partner is malformed; the message names the field."""


@dataclass(frozen=True)
class PartnerCredentials:
    """A partner's Credentials object, checked."""

    token: str
    url: str
    roles: list[dict[str, Any]]


def our_versions_url() -> str:
    return settings.OCPI_BASE_URL.rstrip("/") + "/versions"


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


@transaction.atomic
def _partner_store(
    *,
    partner: Partner,
    versions_url: str,
    token_b: str,
    discovery: Discovery,
    roles: list[dict[str, Any]],
    token_c: str | None,
    presented_token: str | None = None,
) -> None:
    """Save what the handshake learned; ``token_c`` (ours) replaces any token A and old token C.

    With ``presented_token`` (an inbound POST/PUT), the row is locked and the token that
    authorised the request must still be valid: two registrations racing each other (a partner
    retrying a POST that timed out) must not both hand out a token C.
    """
    if presented_token is not None:
        # Lock the partner row: the check and the write below happen as one step.
        locked = Partner.objects.select_for_update().get(pk=partner.pk)
        if hash_token(presented_token) not in (locked.token_a_hash, locked.token_c_hash):
            raise CredentialsReplaced("The token of this request was replaced meanwhile")
    partner.versions_url = versions_url
    partner.version = discovery.version
    partner.token_b = token_b
    partner.status = Partner.Status.REGISTERED
    update = ["versions_url", "version", "token_b", "status", "updated_at"]
    if token_c is not None:
        partner.token_c_hash = hash_token(token_c)
        # credentials.asciidoc: token A is only for registration; it is void once C exists.
        partner.token_a_hash = ""
        update += ["token_c_hash", "token_a_hash"]
    partner.save(update_fields=update)
    partner.endpoints.all().delete()
    PartnerEndpoint.objects.bulk_create(
        PartnerEndpoint(partner=partner, module=e["identifier"], interface_role=e["role"], url=e["url"])
        for e in {(e["identifier"], e["role"]): e for e in discovery.endpoints}.values()
        if e["role"] in PartnerEndpoint.InterfaceRole.values
    )
    partner.roles.all().delete()
    PartnerRole.objects.bulk_create(PartnerRole(partner=partner, **role) for role in roles)


@transaction.atomic
def partner_create(
    *, name: str, send_raw_token: bool = False, callback_hosts: Sequence[str] | None = None
) -> tuple[Partner, str]:
    """A planned partner and a fresh token A that it uses to register with us."""
    partner = Partner.objects.create(name=name, send_raw_token=send_raw_token)
    return partner, partner_issue_token_a(partner=partner, callback_hosts=callback_hosts)


def partner_issue_token_a(*, partner: Partner, callback_hosts: Sequence[str] | None = None) -> str:
    """A new token A for ``partner`` (the old one stops working). Returns the token once.

    ``callback_hosts``, when given, replaces the hosts the partner may have us call when it
    registers with this token (partners.callback_urls); an empty list means its versions URL's host.
    """
    update = ["token_a_hash", "status", "updated_at"]
    if callback_hosts is not None:
        text = ", ".join(callback_hosts_parse(" ".join(callback_hosts)))
        validate_callback_hosts(text)
        partner.callback_hosts = text
        update.append("callback_hosts")
    token = token_new()
    partner.token_a_hash = hash_token(token)
    if partner.status == Partner.Status.UNREGISTERED:
        # A new token A after unregistration lets the partner register again.
        partner.status = Partner.Status.PLANNED
    partner.save(update_fields=update)
    return token


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
    _partner_store(
        partner=partner,
        versions_url=credentials.url,
        token_b=credentials.token,
        discovery=discovery,
        roles=credentials.roles,
        token_c=token_c,
        presented_token=presented_token,
    )
    return our_credentials(partner, token_c)


@transaction.atomic
def credentials_unregister_inbound(*, partner: Partner) -> None:
    """A partner DELETEs its credentials: both tokens stop working (credentials.asciidoc, "DELETE")."""
    partner.token_c_hash = ""
    partner.token_a_hash = ""
    partner.status = Partner.Status.UNREGISTERED
    partner.save(update_fields=["token_c_hash", "token_a_hash", "status", "updated_at"])


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
    previous_hash, previous_status = partner.token_c_hash, partner.status
    partner.token_c_hash = hash_token(our_token)
    if partner.status == Partner.Status.UNREGISTERED:
        # Our new token must work for the partner's calls back to us during its answer.
        partner.status = Partner.Status.PLANNED
    partner.save(update_fields=["token_c_hash", "status", "updated_at"])
    client = OcpiClient(token=token, partner=partner, send_raw_token=partner.send_raw_token)
    try:
        answer = client.request(method, credentials_url, json_body=our_credentials(partner, our_token))
        theirs = credentials_parse(answer.data)
    except (OcpiClientError, CredentialsInvalid) as error:
        partner.token_c_hash, partner.status = previous_hash, previous_status
        partner.save(update_fields=["token_c_hash", "status", "updated_at"])
        raise HandshakeError(
            f"{method} {credentials_url} failed: {error}", status_code=CLIENT_API_UNUSABLE
        ) from error
    _partner_store(
        partner=partner,
        versions_url=versions_url,
        token_b=theirs.token,
        discovery=discovery,
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
