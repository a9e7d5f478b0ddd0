"""The shop's days and numbers: one home for its time zone and its locale.

Times are stored in UTC (text 'YYYY-MM-DD HH:MM:SS'); people see them in the shop's time zone
(an IANA name such as "Australia/Sydney"), and a day they pick or a report counts is the shop's
day: it runs from local midnight to local midnight, turned into UTC instants here. Numbers and
money are written and read in the shop's locale ("de_DE": "1.234,50 €", "4,95" typed for 4.95)
by Babel, never by hand. Pure functions; the shop's choice is kept in its settings
(crpm/services/taxes.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError, numbers

from crpm.clock import TIME_FORMAT
from crpm.errors import ValidationError

UTC = "UTC"
DEFAULT_LOCALE = "en_US"
MONEY_PATTERN = "#,##0.00"  # grouped, two decimals: digits and separators are the locale's
SPACES = (" ", "\u00a0", "\u202f")  # what a person types for a locale that groups with a space


# --- checking the settings -------------------------------------------------------------------


def check_zone(name, field_name: str = "time_zone") -> str:
    """An IANA time zone name as the shop's setting, else a refusal naming the field."""
    text = str(name or "").strip()
    if text in _zone_names():
        return text
    raise ValidationError(
        field_name, f"{text!r} is not a time zone name (like Europe/Berlin or Australia/Sydney)"
    )


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) | {UTC}


def check_locale(name, field_name: str = "locale") -> str:
    """A locale such as "de_DE", "de-DE" or "fr" in Babel's spelling ("de_DE"), else refused."""
    text = str(name or "").strip()
    try:
        return str(_locale(text.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValidationError(
            field_name, f"{text!r} is not a locale (like en_US or de_DE)"
        ) from None


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    if not name:
        raise ValueError("empty locale")
    return Locale.parse(name)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("time_zone", f"{name!r} is not a time zone name") from None


# --- times -----------------------------------------------------------------------------------


def to_local(stored: str, zone_name: str) -> datetime:
    """A stored UTC time as the shop's wall-clock time (naive)."""
    moment = datetime.strptime(stored[:19], TIME_FORMAT).replace(tzinfo=timezone.utc)
    return moment.astimezone(zone(zone_name)).replace(tzinfo=None)


def show_time(stored: str | None, zone_name: str, seconds: bool = True) -> str:
    """A stored UTC time as people read it: the shop's wall clock, "" when there is none."""
    if not stored:
        return ""
    text = to_local(str(stored), zone_name).strftime(TIME_FORMAT)
    return text if seconds else text[:16]


def day_start(day: date, zone_name: str) -> str:
    """The first moment of the shop's `day` as a stored UTC time. In a zone that skips
    midnight for summer time the day starts when its clocks do (PEP 495: the gap's times are
    read with the offset before it)."""
    local = datetime(day.year, day.month, day.day, tzinfo=zone(zone_name))
    return local.astimezone(timezone.utc).replace(tzinfo=None).strftime(TIME_FORMAT)


def local_day(stored: str, zone_name: str) -> date:
    """The shop's day a stored UTC time falls on."""
    return to_local(stored, zone_name).date()


def shop_day(clock, zone_name: str) -> date:
    """The shop's current day by the store's clock."""
    return local_day(clock.stamp(), zone_name)


def utc_offsets(first: date, last: date, zone_name: str) -> list[tuple[date, int, str | None, int]]:
    """For each UTC day from `first` to `last`: the zone's offset (seconds) at its start, the UTC
    moment it changes within the day (or None) and the offset after. What the trend's SQL adds
    to a UTC time to find the shop's day (sql/analytics/shop_days.sql); zones change their
    offset at most once a day."""
    tz = zone(zone_name)

    def offset(moment: datetime) -> int:
        return int(moment.replace(tzinfo=timezone.utc).astimezone(tz).utcoffset().total_seconds())

    rows, day = [], first
    while day <= last:
        start = datetime(day.year, day.month, day.day)
        before, after = offset(start), offset(start + timedelta(days=1))
        change = None
        if before != after:
            low, high = start, start + timedelta(days=1)
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == before else (low, middle)
            change = high.replace(microsecond=0).strftime(TIME_FORMAT)
        rows.append((day, before, change, after))
        day += timedelta(days=1)
    return rows


# --- numbers and money -----------------------------------------------------------------------


def money_text(cents: int, symbol: str = "", locale: str = DEFAULT_LOCALE) -> str:
    """Integer cents written for people in the locale: "$1,234.50" (en_US), "1.234,50 €"
    (de_DE with "€"); without a symbol the grouped amount alone. `symbol` is what the shop
    shows ("$", "€", "CHF"; a code such as "EUR" is shown as the locale writes it), placed where
    the locale puts a currency."""
    amount = Decimal(int(cents)).scaleb(-2)
    where = _locale(locale)
    if not symbol:
        return _pattern(MONEY_PATTERN).apply(amount, where)
    pattern = _pattern(where.currency_formats["standard"].pattern)
    return pattern.apply(amount, where, currency=symbol, currency_digits=False)


@lru_cache(maxsize=64)
def _pattern(text: str) -> numbers.NumberPattern:
    return numbers.parse_pattern(text)


def number_text(value, locale: str = DEFAULT_LOCALE) -> str:
    """A count or figure with the locale's grouping: 12,345 (en_US), 12.345 (de_DE)."""
    return numbers.format_decimal(value, locale=_locale(locale))


def chart_number_locale(locale: str = DEFAULT_LOCALE, symbol: str = "") -> dict:
    """The locale as a chart formats numbers (Vega's `config.locale.number`, d3-format's
    locale): its decimal mark, its grouping, and the currency symbol where the locale puts it,
    so that a chart's "$,.2f" reads as the page's figures do ("1.234,50 €" in de_DE)."""
    where = _locale(locale)
    plain = money_text(123456, "", locale)
    before, _, after = money_text(123456, symbol, locale).partition(plain)
    return {
        "decimal": numbers.get_decimal_symbol(where),
        "thousands": numbers.get_group_symbol(where),
        "grouping": list(where.decimal_formats[None].grouping),
        "currency": [before, after],
    }


def read_amount(text: str, locale: str) -> Decimal | None:
    """An amount typed the locale's way ("4,95" or "1.234,50" in de_DE, "1,234.50" in en_US)
    as a Decimal; None when it is not one (the caller says why). Grouping must sit where the
    locale puts it, so "12.50" in de_DE is not read as 1250."""
    where = _locale(locale)
    if numbers.get_group_symbol(where) in SPACES:
        text = "".join(numbers.get_group_symbol(where) if ch in SPACES else ch for ch in text)
    try:
        return numbers.parse_decimal(text, where, strict=True)
    except (numbers.NumberFormatError, ValueError):
        return None


def example_amount(locale: str) -> str:
    """How the locale writes twelve fifty, for messages: "12.50", "12,50"."""
    return money_text(1250, "", locale)


@dataclass(frozen=True)
class ShopLocale:
    """The shop's zone, locale and currency symbol: what a page needs to show times and money."""

    zone: str = UTC
    locale: str = DEFAULT_LOCALE
    symbol: str = ""

    def time(self, stored: str | None, seconds: bool = True) -> str:
        return show_time(stored, self.zone, seconds)

    def money(self, cents) -> str:
        return money_text(int(cents or 0), self.symbol, self.locale)

    def day(self, clock) -> date:
        return shop_day(clock, self.zone)
