"""Local wall-clock times of a location turned into UTC instants, cached.

Tariff restrictions speak local time (mod_tariffs, TariffRestrictions: start_time, start_date,
day_of_week "in local time"); sessions are metered in UTC. Rather than converting every sample,
the engine converts each restriction boundary of each local day once (and caches the result),
then compares integers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tariffs.engine.model import TariffError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTES_PER_DAY = 24 * 60


def to_us(moment: datetime) -> int:
    """Exact integer microseconds since the Unix epoch of an aware datetime."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    """The aware UTC datetime of `to_us`'s integer."""
    return EPOCH + timedelta(microseconds=us)


@lru_cache(maxsize=512)
def zone(key: str) -> ZoneInfo:
    """The IANA zone `key`, or a TariffError naming it."""
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise TariffError(f"unknown time zone {key!r}") from None


def local_date(us: int, tz: ZoneInfo) -> date:
    """The location's local calendar date at instant `us`."""
    return from_us(us).astimezone(tz).date()


@lru_cache(maxsize=65_536)
def local_to_us(tz: ZoneInfo, day: date, minute: int) -> int:
    """The UTC instant (µs) at which the local clock shows `minute` minutes into `day`.

    `minute` may be 1440 (midnight that ends the day). A wall time that does not exist (the hour
    skipped when DST starts) maps to the first existing time after it, i.e. the transition; a
    wall time that exists twice (DST ends) maps to its first occurrence.
    """
    if minute >= MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
    # A naive wall-clock time on purpose: it is what the tariff says, before any zone applies.
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    for shift in range(24 * 60 + 1):
        candidate = wall + timedelta(minutes=shift)
        moment = candidate.replace(tzinfo=tz, fold=0).astimezone(UTC)
        if moment.astimezone(tz).replace(tzinfo=None) == candidate:
            return to_us(moment)
    raise TariffError(f"cannot place local time {wall} in {tz}")  # pragma: no cover - no such zone
