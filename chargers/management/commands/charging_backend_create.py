"""Create a charging backend allowed to report charger events, and print its token once."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chargers.services import charging_backend_create


class Command(BaseCommand):
    help = "Create a charging backend for the internal charger API and print its bearer token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A name for the backend, such as 'OCPP central system'.")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        try:
            backend, token = charging_backend_create(name=name)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"Created charging backend {backend.name!r}. Its token (shown only now):")
        self.stdout.write(token)
