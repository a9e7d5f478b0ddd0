"""The one source of "now" for the whole product.

The store holds a clock and every connection it opens carries it (`conn.clock`), so a service,
a helper that is handed only a connection, the demo generator and the dashboard all read the same
time. Production uses `SystemClock`; tests pass a `FixedClock` and say which day it is. This is
the only module that reads the calendar.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class Clock:
    """Naive UTC times to the second; subclasses say where the current moment comes from."""

    def current(self) -> datetime:
        raise NotImplementedError

    def stamp(self, after: timedelta = timedelta(0)) -> str:
        """The current moment (moved by `after`) as stored text 'YYYY-MM-DD HH:MM:SS'."""
        return (self.current() + after).strftime(TIME_FORMAT)

    def utc_day(self) -> date:
        """The current UTC day."""
        return self.current().date()

    def midnight(self) -> datetime:
        """The start of the current UTC day."""
        return datetime.combine(self.utc_day(), datetime.min.time())


class SystemClock(Clock):
    """The real clock."""

    def current(self) -> datetime:
        return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


class FixedClock(Clock):
    """A clock that stands still at a given moment until it is moved: tests say which day it is."""

    def __init__(self, moment: datetime | str):
        self.set(moment)

    def set(self, moment: datetime | str) -> None:
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        self.moment = moment.replace(microsecond=0)

    def advance(self, **delta) -> None:
        """Move the clock forward, e.g. `advance(minutes=16)`."""
        self.moment += timedelta(**delta)

    def current(self) -> datetime:
        return self.moment

    def __repr__(self) -> str:
        return f"FixedClock({self.moment.isoformat(sep=' ')!r})"
