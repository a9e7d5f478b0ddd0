"""Date ranges and periods: what a range is, how days and presets become one, which grain a trend
takes, and every period of a trend filled in, zeros included.

A range is `[from, to)`, times as stored text (UTC), None for an open side. A day is the shop's
day (its time zone, crpm/shoplocale.py): the dashboard takes days, both included, and
`day_range` and `preset_range` turn them into the UTC instants of the shop's midnights; a bare
date given to `DateRange.parse` (the API, the CLI) is likewise the shop's day, a time without an
offset is UTC. A trend's periods are the shop's days, weeks and months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from crpm import shoplocale
from crpm.errors import ValidationError
from crpm.models import MIN_YEAR, TIME_FORMAT, parse_time
from crpm.shoplocale import UTC

GRAINS = ("day", "week", "month")
PRESETS = ["Last 7 days", "Last 30 days", "This year", "All time", "Custom"]
EARLIEST = datetime(1, 1, 1)
LATEST = datetime(9999, 12, 31, 23, 59, 59)
# A trend is filled with every period of its range, zeros included: this bounds what one call
# builds (bench/NOTES.md, "Trend periods"). ~2.7 years by day, 19 by week, 83 by month. One home
# for the dashboard, the API and the CLI.
MAX_PERIODS = 1_000
PERIOD_FREQ = {"day": "D", "week": "W-MON", "month": "MS"}


DATE_ONLY = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")


@dataclass(frozen=True)
class DateRange:
    """A validated [from, to) range; None means open on that side. `zone` is the shop's time
    zone: its days are the trend's periods."""

    date_from: str | None
    date_to: str | None
    zone: str = UTC

    @classmethod
    def parse(cls, date_from=None, date_to=None, zone: str = UTC) -> DateRange:
        """Bare dates are the shop's days (from its midnight); times are as parse_time reads
        them (without an offset, UTC)."""
        start, end = _moment(date_from, "from", zone), _moment(date_to, "to", zone)
        if start and end and end <= start:
            raise ValidationError("to", "must be later than from")
        return cls(start, end, zone)

    @property
    def params(self) -> dict:
        return {
            "date_from": moment(self.date_from, EARLIEST),
            "date_to": moment(self.date_to, LATEST),
        }


def _moment(value, field_name: str, zone: str) -> str | None:
    if value in (None, ""):
        return None
    is_day = type(value) is date or isinstance(value, str) and DATE_ONLY.fullmatch(value)
    return day_start(value, field_name, zone) if is_day else parse_time(value, field_name)


def moment(text: str | None, default: datetime) -> datetime:
    """A stored time as a datetime, `default` when there is none."""
    return datetime.strptime(text, TIME_FORMAT) if text else default


def check_grain(grain) -> str:
    if grain not in GRAINS:
        raise ValidationError("grain", f"must be one of {', '.join(GRAINS)}")
    return grain


# --- days, both included, and presets ----------------------------------------------------------


def day_start(value, field_name: str, zone: str = UTC) -> str | None:
    """A date box as the first moment of the shop's day (UTC text), or None when empty."""
    if value in (None, ""):
        return None
    return _shop_midnight(_day(value, field_name), field_name, zone)


def day_after(value, field_name: str, zone: str = UTC) -> str | None:
    """A 'to' date box includes its whole day: the range ends at the shop's next midnight."""
    if value in (None, ""):
        return None
    day = _day(value, field_name)
    if day == date.max:
        raise ValidationError(field_name, f"must be {date.max - timedelta(days=1)} or earlier")
    return _shop_midnight(day + timedelta(days=1), field_name, zone)


def _day(value, field_name: str) -> date:
    """The day a date box names (checked like any time: a four-digit year)."""
    return date.fromisoformat(parse_time(_date_text(value, field_name), field_name)[:10])


def _shop_midnight(day: date, field_name: str, zone: str) -> str:
    start = shoplocale.day_start(day, zone)
    if int(start[:4]) < MIN_YEAR:
        raise ValidationError(field_name, f"must be in {MIN_YEAR} or later")
    return start


def _date_text(value, field_name: str) -> str:
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")
        except (OverflowError, OSError, ValueError):
            raise ValidationError(field_name, f"{value!r} is not a date") from None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value).strip()


def day_range(date_from, date_to, zone: str = UTC) -> tuple[str | None, str | None]:
    """The shop's days `from` and `to`, both included (either may be empty), as a [from, to)
    pair of UTC texts; a `to` day before the `from` day is refused."""
    start, end = day_start(date_from, "from", zone), day_after(date_to, "to", zone)
    if start and end and start >= end:
        raise ValidationError("to", "must not be before from")
    return start, end


def preset_range(preset, today: date, date_from=None, date_to=None, zone: str = UTC):
    """A preset (or the custom days) as a [from, to) pair of UTC texts; None is open-ended.
    `today` is the shop's day by the store's clock (shoplocale.shop_day)."""
    first = {
        "Last 7 days": today - timedelta(days=6),
        "Last 30 days": today - timedelta(days=29),
        "This year": date(today.year, 1, 1),
    }.get(preset)
    if first is not None:
        return day_start(first, "from", zone), day_after(today, "to", zone)
    if preset == "All time":
        return None, None
    return day_range(date_from, date_to, zone)


def auto_grain(date_from: str | None, date_to: str | None, now: datetime, grain="auto") -> str:
    """Days for a month or so, weeks up to about a year, months beyond; an open end is `now`."""
    if grain in GRAINS:
        return grain
    if not date_from:
        return "month"
    end = datetime.fromisoformat(date_to) if date_to else now
    days = (end - datetime.fromisoformat(date_from)).days
    return "day" if days <= 45 else "week" if days <= 400 else "month"


def describe_range(date_from: str | None, date_to: str | None, zone: str = UTC) -> str:
    """The range's days as the shop reads them: "2026-01-02 to 2026-01-08 (Australia/Sydney
    days, both included)"."""
    days = _days(date_from, date_to, zone)
    return days if days == "All time" else f"{days} ({zone} days, both included)"


def _days(date_from: str | None, date_to: str | None, zone: str) -> str:
    if not date_from and not date_to:
        return "All time"
    first = shoplocale.local_day(date_from, zone).isoformat() if date_from else "the beginning"
    last = shoplocale.local_day(_second_before(date_to), zone).isoformat() if date_to else "now"
    return f"{first} to {last}"


def _second_before(text: str) -> str:
    return (datetime.fromisoformat(text) - timedelta(seconds=1)).strftime(TIME_FORMAT)


def range_label(preset: str, date_from: str | None, date_to: str | None, zone: str = UTC) -> str:
    """What a chart's subtitle says the range is: the preset's name with its days."""
    days = _days(date_from, date_to, zone)
    if preset in ("Custom", "All time") or not date_from:
        return days
    return f"{preset}: {days}"


# --- a trend's periods, every one of them --------------------------------------------------------


def fill_periods(frame: pd.DataFrame, span: DateRange, grain: str) -> pd.DataFrame:
    """The trend's rows (period, revenue_cents, units) with the periods without sales as zeros."""
    frame = frame.assign(period=pd.to_datetime(frame["period"]))
    index = _period_index(frame, span, grain)
    filled = frame.set_index("period").reindex(index, fill_value=0).reset_index()
    return filled.astype({"revenue_cents": "int64", "units": "int64"})[
        ["period", "revenue_cents", "units"]
    ]


def fill_product_periods(
    frame: pd.DataFrame, products: pd.DataFrame, span: DateRange, grain: str
) -> pd.DataFrame:
    """Likewise per product: every period for every one of `products` (product_id, sku, name)."""
    frame = frame.assign(period=pd.to_datetime(frame["period"]))
    index = _period_index(frame, span, grain)
    grid = pd.MultiIndex.from_product(
        [index, products["product_id"]], names=["period", "product_id"]
    )
    filled = (
        frame.set_index(["period", "product_id"])[["revenue_cents", "units"]]
        .reindex(grid, fill_value=0)
        .reset_index()
        .merge(products, on="product_id")
    )
    filled = filled.astype({"revenue_cents": "int64", "units": "int64"})
    return (
        filled[["period", "product_id", "sku", "name", "revenue_cents", "units"]]
        .sort_values(["period", "product_id"], kind="stable")
        .reset_index(drop=True)
    )


def _period_index(frame: pd.DataFrame, span: DateRange, grain: str) -> pd.DatetimeIndex:
    """Every period from the range's start (or the first activity) to its end (or the last),
    the shop's periods."""
    first = (
        _truncate(shoplocale.show_time(span.date_from, span.zone), grain)
        if span.date_from
        else None
    )
    last = (
        _truncate(shoplocale.show_time(_second_before(span.date_to), span.zone), grain)
        if span.date_to
        else None
    )
    if first is None:
        first = frame["period"].min() if len(frame) else None
    if last is None:
        last = frame["period"].max() if len(frame) else None
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return pd.DatetimeIndex([], name="period")
    periods = _period_count(pd.Timestamp(first), pd.Timestamp(last), grain)
    if periods > MAX_PERIODS:
        raise ValidationError(
            "grain",
            f"a trend by {grain} over this range has {periods:,} periods, more than"
            f" {MAX_PERIODS:,}; choose a longer grain or a shorter range",
        )
    return pd.date_range(
        pd.Timestamp(first), pd.Timestamp(last), freq=PERIOD_FREQ[grain], name="period"
    )


def _period_count(first: pd.Timestamp, last: pd.Timestamp, grain: str) -> int:
    """How many periods from `first` to `last` (both period starts), counted, not built."""
    if grain == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    days = (last - first).days
    return (days // 7 if grain == "week" else days) + 1


def _truncate(text: str, grain: str) -> pd.Timestamp:
    day = pd.Timestamp(text).normalize()
    if grain == "week":
        return day - pd.Timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day
