"""Create a partner and print our versions URL and a fresh token A for it to register with."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from partners.models import Partner
from partners.services import our_versions_url, partner_create


class Command(BaseCommand):
    help = "Create a partner platform and print our versions URL and its token A."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--raw-token", action="store_true", help="The partner sends tokens unencoded.")
        parser.add_argument(
            "--callback-host",
            action="append",
            default=[],
            dest="callback_hosts",
            help=(
                "A host the partner may have us call when it registers (repeat for more; *.example.com "
                "for subdomains). None: the host of the versions URL it sends."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if Partner.objects.filter(name=options["name"]).exists():
            raise CommandError(f"A partner named {options['name']!r} exists already.")
        try:
            partner, token_a = partner_create(
                name=options["name"],
                send_raw_token=options["raw_token"],
                callback_hosts=options["callback_hosts"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"Partner:      {partner.name} (id {partner.pk})")
        self.stdout.write(f"Versions URL: {our_versions_url()}")
        self.stdout.write(f"Token A:      {token_a}")
        hosts = ", ".join(partner.callback_host_list) or "the host of the versions URL it sends"
        self.stdout.write(f"Callbacks to: {hosts}")
