"""Create a charging backend allowed to report charger events, and print its token once."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chargers.services import charging_backend_create
from locations.models import Evse


class Command(BaseCommand):
    help = "Create a charging backend for the internal charger API and print its bearer token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A name for the backend, such as 'OCPP central system'.")
        parser.add_argument(
            "--location",
            action="append",
            default=[],
            dest="locations",
            metavar="LOCATION_ID",
            help="Serve every EVSE of this location (repeatable); the backend reports only on those.",
        )

    def handle(self, *args: Any, name: str, locations: list[str], **options: Any) -> None:
        evses = list(Evse.objects.filter(location__location_id__in=locations).select_related("location"))
        unknown = set(locations) - {evse.location.location_id for evse in evses}
        if unknown:
            raise CommandError(f"No EVSEs at location(s): {', '.join(sorted(unknown))}.")
        try:
            backend, token = charging_backend_create(name=name, evses=evses)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        served = f"serving {len(evses)} EVSE(s)" if evses else "serving no EVSE yet: assign them in the admin"
        self.stdout.write(f"Created charging backend {backend.name!r}, {served}. Its token (shown only now):")
        self.stdout.write(token)
