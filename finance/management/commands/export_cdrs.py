"""manage.py export_cdrs: the CDRs of a period as CSV, XLSX or OCPI JSON lines, to a file or stdout."""

from __future__ import annotations

import shutil
import sys
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from finance.exports import Credits, ExportFilter, Format, filename, filtered_cdrs, stream


class Command(BaseCommand):
    help = "Export the CDRs of a period (end of session within it) in the columns the README documents."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from", dest="date_from", type=date.fromisoformat, help="First day (YYYY-MM-DD)."
        )
        parser.add_argument("--to", dest="date_to", type=date.fromisoformat, help="Last day, included.")
        parser.add_argument("--time-zone", default="UTC", help="Time zone of the days (IANA name).")
        parser.add_argument("--party", default="", help="Our party as NL*CPO.")
        parser.add_argument("--partner", type=int, help="Partner id.")
        parser.add_argument("--location", default="", help="Location id.")
        parser.add_argument("--currency", default="")
        parser.add_argument("--credits", choices=[c for c, _ in Credits.choices], default=Credits.ALL)
        parser.add_argument(
            "--format", dest="export_format", choices=list(Format.content_types), default="csv"
        )
        parser.add_argument(
            "--output", help="File to write; a directory gets the descriptive file name; - stdout."
        )
        parser.add_argument("--unmask", action="store_true", help="Token uids in full (operators only).")

    def handle(self, *args: Any, **options: Any) -> None:
        export_filter = ExportFilter(
            date_from=options["date_from"],
            date_to=options["date_to"],
            time_zone=options["time_zone"],
            party=options["party"],
            partner_id=options["partner"],
            location_id=options["location"],
            currency=options["currency"],
            credits=options["credits"],
        )
        export_format = options["export_format"]
        output = options["output"] or filename(stem=export_filter.describe(), export_format=export_format)
        if output != "-" and output.endswith("/"):
            output += filename(stem=export_filter.describe(), export_format=export_format)
        if output == "-" and export_format == Format.XLSX:
            raise CommandError("XLSX needs a file: give --output.")
        body, _ = stream(
            export_format=export_format, queryset=filtered_cdrs(export_filter), unmask=options["unmask"]
        )
        target = sys.stdout.buffer if output == "-" else open(output, "wb")  # noqa: SIM115
        try:
            if hasattr(body, "read"):
                shutil.copyfileobj(body, target)  # type: ignore[arg-type]
            else:
                for chunk in body:  # type: ignore[union-attr]
                    target.write(chunk)
        finally:
            if output != "-":
                target.close()
        if output != "-":
            self.stderr.write(f"Wrote {output}")
