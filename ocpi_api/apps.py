from __future__ import annotations

from django.apps import AppConfig


class OcpiApiConfig(AppConfig):
    name = "ocpi_api"
    verbose_name = "OCPI API"

    def ready(self) -> None:
        # The partner admin's registration actions run the OCPI handshake (partners.registration).
        from ocpi_api.handshake import OcpiHandshake
        from partners import registration

        registration.register(OcpiHandshake())
