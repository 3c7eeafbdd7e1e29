"""Writes about partners: planned partners, the tokens we issue, and what a registration stores.

Naming follows the OCPI credentials module: token A is what one side hands out of band to start,
token B what the registering side offers, token C what the other side answers with. On our side:
- we store only hashes of the tokens we issue (``token_a_hash`` for registration, ``token_c_hash``
  for everything after it);
- ``Partner.token_b`` is always the token *we* present when calling the partner.

The handshake itself (the calls to the partner, the Credentials object) is the OCPI layer's:
``ocpi_api.handshake``; staff reach it through ``partners.registration``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from partners.callback_urls import callback_hosts_parse, validate_callback_hosts
from partners.models import Partner, PartnerEndpoint, PartnerRole, hash_token


class CredentialsReplaced(Exception):
    """The token that authorised a POST/PUT was replaced by a concurrent registration."""


def token_new() -> str:
    """A fresh credentials token: 32 random bytes, URL-safe (printable ASCII, within the 64 of CiString)."""
    return secrets.token_urlsafe(32)


def our_versions_url() -> str:
    return settings.OCPI_BASE_URL.rstrip("/") + "/versions"


@transaction.atomic
def partner_registration_store(
    *,
    partner: Partner,
    versions_url: str,
    token_b: str,
    version: str,
    endpoints: list[dict[str, str]],
    roles: list[dict[str, Any]],
    token_c: str | None,
    presented_token: str | None = None,
) -> None:
    """Save what a credentials handshake learned (the partner's version, endpoints and roles).

    ``token_c`` (ours) replaces any token A and old token C.

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
    partner.version = version
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
        for e in {(e["identifier"], e["role"]): e for e in endpoints}.values()
        if e["role"] in PartnerEndpoint.InterfaceRole.values
    )
    partner.roles.all().delete()
    PartnerRole.objects.bulk_create(PartnerRole(partner=partner, **role) for role in roles)


def partner_offered_token_set(*, partner: Partner, token: str) -> tuple[str, str]:
    """Our new token C, offered to a partner in a POST or PUT of our credentials, works from now on.

    Saved before the call: the partner calls our versions with it meanwhile. Returns what it
    replaced (token hash, status) for ``partner_offered_token_restore`` should the call fail.
    """
    previous = (partner.token_c_hash, partner.status)
    partner.token_c_hash = hash_token(token)
    if partner.status == Partner.Status.UNREGISTERED:
        # Our new token must work for the partner's calls back to us during its answer.
        partner.status = Partner.Status.PLANNED
    partner.save(update_fields=["token_c_hash", "status", "updated_at"])
    return previous


def partner_offered_token_restore(*, partner: Partner, previous: tuple[str, str]) -> None:
    """The partner did not take our offered token: the one before it stands again."""
    partner.token_c_hash, partner.status = previous
    partner.save(update_fields=["token_c_hash", "status", "updated_at"])


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


@transaction.atomic
def credentials_unregister_inbound(*, partner: Partner) -> None:
    """A partner DELETEs its credentials: both tokens stop working (credentials.asciidoc, "DELETE")."""
    partner.token_c_hash = ""
    partner.token_a_hash = ""
    partner.status = Partner.Status.UNREGISTERED
    partner.save(update_fields=["token_c_hash", "token_a_hash", "status", "updated_at"])
