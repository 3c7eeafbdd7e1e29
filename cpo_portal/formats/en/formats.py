"""One way to write a time in the back office: ISO order, 24 hours, and the zone (UTC, as stored
and as the admin shows it), so that "2026-12-01 17:05:12 UTC" reads the same in every list, page
and export, and sorts as text. Where a location's own time matters, pages show it beside."""

from __future__ import annotations

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
