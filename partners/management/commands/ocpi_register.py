"""Register with a partner from its versions URL and the token A it gave us."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from partners.models import Partner
from partners.registration import HandshakeError, partner_register


class Command(BaseCommand):
    help = "Register with a partner platform (credentials handshake started by us)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The partner; created when it does not exist.")
        parser.add_argument("--versions-url", required=True)
        parser.add_argument("--token-a", required=True)
        parser.add_argument("--raw-token", action="store_true", help="Send tokens without base64.")

    def handle(self, *args: Any, **options: Any) -> None:
        partner, _created = Partner.objects.get_or_create(name=options["name"])
        if options["raw_token"] and not partner.send_raw_token:
            partner.send_raw_token = True
            partner.save(update_fields=["send_raw_token"])
        try:
            partner_register(
                partner=partner, versions_url=options["versions_url"], token_a=options["token_a"]
            )
        except HandshakeError as error:
            raise CommandError(f"Registration failed (OCPI {error.status_code}): {error}") from error
        self.stdout.write(f"Registered with {partner.name} on OCPI {partner.version}.")
        for endpoint in partner.endpoints.all():
            self.stdout.write(f"  {endpoint.module:<12} {endpoint.interface_role:<8} {endpoint.url}")
