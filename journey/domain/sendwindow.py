"""Send windows: the earliest moment an automated touch may go out.

A playbook's `send_window` (local hours such as `09:00-17:00`), `send_days` and
`holidays` (company shutdowns), with the account's timezone and the public holidays of
its country, decide it: a touch that falls due on a Saturday, at night or on a public
holiday waits for the next window. Public holidays come from the maintained `holidays`
package, never from a list of our own. Pure: the same arguments give the same moment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUSINESS_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
ALL_DAY = "00:00-24:00"
DEFAULT_TIMEZONE = "UTC"
# However the days and holidays are set, a window opens within this many days (checked
# when a playbook is read, so the search below always ends).
MAX_WAIT_DAYS = 3660

_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_DAY_MINUTES = 24 * 60


def parse_window(text: str) -> tuple[int, int]:
    """`"09:00-17:00"` -> (540, 1020): the window's start and end in minutes after local
    midnight; `24:00` is the end of the day. ValueError naming what is wrong."""
    found = _WINDOW.fullmatch(text)
    if found is None:
        raise ValueError(f"must be HH:MM-HH:MM in the account's local time, such as '09:00-17:00' (got {text!r})")
    sh, sm, eh, em = (int(part) for part in found.groups())
    for hours, minutes, what in ((sh, sm, "start"), (eh, em, "end")):
        if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
            raise ValueError(f"the {what} {hours:02d}:{minutes:02d} is not a time of day (00:00 to 24:00) (got {text!r})")
    start, end = sh * 60 + sm, eh * 60 + em
    if start == _DAY_MINUTES:
        raise ValueError(f"the start 24:00 is the end of the day (got {text!r})")
    if end <= start:
        raise ValueError(f"the end must be after the start (got {text!r})")
    return start, end


def zone(name: str) -> ZoneInfo:
    """The IANA timezone `name`; ValueError when it is not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {name!r} (such as 'Europe/Berlin' or 'UTC')") from None


def check_timezone(name: str) -> str:
    zone(name)
    return name


def supported_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes of the countries whose public holidays are known."""
    return frozenset(code for code in holidays.list_supported_countries() if len(code) == 2)


def check_country(code: str) -> str:
    if code not in supported_countries():
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code with known public holidays (such as 'DE', 'JP', 'US')")
    return code


HolidaySource = Callable[[str, int], frozenset[date]]


def library_holidays(country: str, year: int) -> frozenset[date]:
    """The public holidays of `country` in `year`, from the `holidays` package."""
    return frozenset(holidays.country_holidays(country, years=year).keys())


_source: HolidaySource = library_holidays


def use_holiday_source(source: HolidaySource) -> None:
    """Where public holidays come from: `library_holidays` called the way the running
    code allows (the journeys' workflows read the package outside their sandbox: it reads
    its name catalogues from files). The dates are the same whoever asks."""
    global _source
    _source = source
    _public_holidays.cache_clear()


@lru_cache(maxsize=512)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    return _source(country, year)


def public_holiday(country: str | None, day: date) -> bool:
    return country is not None and day in _public_holidays(country, day.year)


def send_after(
    due: date,
    not_before: datetime,
    timezone: str,
    country: str | None,
    window: str,
    days: Sequence[str] = BUSINESS_DAYS,
    extra_holidays: Collection[date] = (),
) -> datetime:
    """The earliest moment (UTC) at or after both the start of `due` in `timezone` and
    `not_before` (timezone-aware) that lies in `window` on one of `days` that is neither a
    public holiday of `country` nor one of `extra_holidays` (local dates)."""
    tz = zone(timezone)
    start_minutes, end_minutes = parse_window(window)
    allowed = {WEEKDAYS.index(day) for day in days}
    if not allowed:
        raise ValueError("send days must name at least one day")
    earliest = max(datetime.combine(due, time(), tz).astimezone(UTC), not_before.astimezone(UTC))
    day = earliest.astimezone(tz).date()
    for _ in range(MAX_WAIT_DAYS):
        if day.weekday() in allowed and day not in extra_holidays and not public_holiday(country, day):
            midnight = datetime.combine(day, time())
            opens = (midnight + timedelta(minutes=start_minutes)).replace(tzinfo=tz).astimezone(UTC)
            closes = (midnight + timedelta(minutes=end_minutes)).replace(tzinfo=tz).astimezone(UTC)
            if earliest < closes:
                return max(earliest, opens)
        day += timedelta(days=1)
    raise ValueError(f"no send window within {MAX_WAIT_DAYS} days of {due.isoformat()}")


def week_bounds(moment: datetime, timezone: str) -> tuple[datetime, datetime]:
    """The week (Monday 00:00 to the next Monday 00:00, local time in `timezone`) that
    holds `moment`, in UTC: the span a weekly per-contact cap counts over."""
    tz = zone(timezone)
    local = moment.astimezone(tz).date()
    monday = local - timedelta(days=local.weekday())
    start = datetime.combine(monday, time(), tz)
    end = datetime.combine(monday + timedelta(days=7), time(), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


class SendRule(BaseModel):
    """When one delivery may go out: its account's timezone, and the playbook's send
    window, days and company holidays with the public holidays of the account's country
    (no window: at any moment). Kept with the delivery, so whoever moves it later (a
    weekly cap) places it in the same window."""

    model_config = ConfigDict(frozen=True)

    timezone: str = DEFAULT_TIMEZONE
    window: str | None = None
    days: tuple[Weekday, ...] = BUSINESS_DAYS
    holidays: tuple[date, ...] = ()
    country: str | None = None

    def earliest(self, moment: datetime) -> datetime:
        """The first moment at or after `moment` (timezone-aware) it may go out."""
        if self.window is None:
            return moment.astimezone(UTC)
        local_day = moment.astimezone(zone(self.timezone)).date()
        return send_after(local_day, moment, self.timezone, self.country, self.window, self.days, frozenset(self.holidays))
