"""Local wall-clock time of a location against UTC instants: the zone's offsets, cached per day.

Tariff restrictions speak local time (mod_tariffs, TariffRestrictions: start_time, start_date,
day_of_week "in local time"); sessions are metered in UTC. Rather than converting every sample,
the engine takes the stretches of UTC time in which the zone's offset is constant and maps local
windows onto them, then compares integers. A local time that happens twice (the hour repeated
when DST ends) is thereby inside a window both times; one that never happens (the hour skipped
when DST starts) never is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tariffs.engine.model import TariffError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTES_PER_DAY = 24 * 60
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


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


def _offset_us(tz: ZoneInfo, us: int) -> int:
    offset = from_us(us).astimezone(tz).utcoffset()
    assert offset is not None  # noqa: S101 - a ZoneInfo always has an offset
    return (offset.days * 86_400 + offset.seconds) * 1_000_000 + offset.microseconds


US_PER_DAY = 86_400_000_000


@lru_cache(maxsize=65_536)
def day_offsets(tz: ZoneInfo, utc_day: int) -> tuple[tuple[int, int], ...]:
    """The UTC day `utc_day` (days since 1970-01-01) as ((start µs, offset µs), ...) stretches.

    Usually one stretch; a day with a DST change has two, split at the change (found to the
    second by bisection: zones change offset on whole seconds).
    """
    begin = utc_day * US_PER_DAY
    first, last = _offset_us(tz, begin), _offset_us(tz, begin + US_PER_DAY)
    if first == last:
        return ((begin, first),)
    low, high = 0, 86_400  # seconds into the day: `low` has the first offset, `high` the next one
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_us(tz, begin + middle * 1_000_000) == first:
            low = middle
        else:
            high = middle
    return ((begin, first), (begin + high * 1_000_000, last))


def offset_stretches(tz: ZoneInfo, first_day: int, last_day: int) -> list[tuple[int, int, int]]:
    """(start µs, end µs, offset µs) stretches covering UTC days first_day..last_day, merged."""
    stretches: list[tuple[int, int, int]] = []
    for day in range(first_day, last_day + 1):
        for start, offset in day_offsets(tz, day):
            if stretches and stretches[-1][2] == offset:
                continue
            if stretches:
                stretches[-1] = (stretches[-1][0], start, stretches[-1][2])
            stretches.append((start, start, offset))
    if stretches:
        stretches[-1] = (stretches[-1][0], (last_day + 1) * US_PER_DAY, stretches[-1][2])
    return stretches
