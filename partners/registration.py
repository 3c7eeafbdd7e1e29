"""Registration with a partner as the partner admin asks for it; the OCPI layer does the work.

The credentials handshake speaks OCPI (``ocpi_api.handshake``), a layer above this app, so the
admin's actions ("Register with the partner", "Rotate credentials", "Unregister") go through this
interface, which ``ocpi_api`` registers in its ``AppConfig.ready()``.
"""

from __future__ import annotations

from typing import Protocol

from partners.models import Partner


class HandshakeError(Exception):
    """The handshake failed; ``status_code`` is the OCPI code to report."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class Registration(Protocol):
    def register(self, *, partner: Partner, versions_url: str, token_a: str) -> Partner:
        """We register with a partner that gave us its versions URL and token A."""

    def credentials_update(self, *, partner: Partner) -> Partner:
        """We rotate our token with a registered partner."""

    def unregister(self, *, partner: Partner) -> Partner:
        """We end the registration with a partner."""


_registration: list[Registration] = []


def register(registration: Registration) -> None:
    _registration[:] = [registration]


def _implementation() -> Registration:
    if not _registration:
        raise HandshakeError("No OCPI layer is installed to talk to partners.", status_code=3001)
    return _registration[0]


def partner_register(*, partner: Partner, versions_url: str, token_a: str) -> Partner:
    return _implementation().register(partner=partner, versions_url=versions_url, token_a=token_a)


def partner_credentials_update(*, partner: Partner) -> Partner:
    return _implementation().credentials_update(partner=partner)


def partner_unregister(*, partner: Partner) -> Partner:
    return _implementation().unregister(partner=partner)
