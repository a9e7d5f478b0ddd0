"""Time is an input: one clock, held by the store, read by every part; nothing else reads the
calendar."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crpm.clock import FixedClock, SystemClock
from crpm.permissions import SYSTEM

ROOT = Path(__file__).resolve().parents[2]
CLOCK_MODULE = ROOT / "crpm" / "clock.py"
# Ways of reading the calendar or the wall clock, in Python and in SQL (SQLite and DuckDB).
# A browser's `performance.now()` is a stopwatch, like Python's time.perf_counter(): the
# browser benchmark times clicks with it.
CALENDAR_READS = re.compile(
    r"(?<!performance\.)\b(now|today|utcnow)\(|time\.time\(|localtime\(|gmtime\("
    r"|current_(timestamp|date|time)\b|'now'",
    re.IGNORECASE,
)


def project_sources() -> list[Path]:
    folders = ("crpm", "sql", "tests", "bench", "scripts")
    files = [ROOT / "app.py"]
    for folder in folders:
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".sql")]
    return files


def test_nothing_but_the_clock_reads_the_calendar():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in project_sources()
        if path != CLOCK_MODULE and path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CALENDAR_READS.search(line)
    ]
    assert found == [], "read the time from the store's clock instead:\n" + "\n".join(found)


def test_the_guard_would_see_a_calendar_read():
    for line in ("x = datetime.now()", "date.today()", "SELECT CURRENT_TIMESTAMP", "date('now')"):
        assert CALENDAR_READS.search(line), line
    assert CALENDAR_READS.search("const day = Date.now();")
    assert not CALENDAR_READS.search("clock.utc_day()")
    assert not CALENDAR_READS.search("performance.timeOrigin + performance.now()")


def test_a_fixed_clock_stands_still_until_moved():
    clock = FixedClock("2028-02-29 23:59:59.750+01:00")
    assert clock.stamp() == "2028-02-29 22:59:59" == clock.stamp()
    assert clock.stamp(after=timedelta(minutes=15)) == "2028-02-29 23:14:59"
    clock.advance(seconds=1)
    assert (clock.utc_day().isoformat(), clock.midnight()) == (
        "2028-02-29",
        datetime(2028, 2, 29),
    )
    clock.advance(hours=1)
    assert clock.utc_day().isoformat() == "2028-03-01"


def test_the_system_clock_is_utc_to_the_second():
    moment = SystemClock().current()
    assert moment.tzinfo is None and moment.microsecond == 0
    utc = datetime.now(timezone.utc).replace(tzinfo=None)  # the reference reading
    assert abs((utc - moment).total_seconds()) < 5


@pytest.mark.any_day
def test_every_time_the_services_write_is_the_store_clocks(services, shop, clock):
    assert services.store.connect().clock is clock is services.store.conn.clock
    customer = shop.customer("Ada")
    product = shop.product(stock=3)
    sale = shop.sale(customer, (product, 1))
    stamp = clock.stamp()
    assert (customer.created_at, product.created_at, sale.purchased_at) == (stamp,) * 3
    times = services.store.query(
        "SELECT at FROM audit_log UNION SELECT created_at FROM stock_movements"
    )
    assert {row[0] for row in times} == {stamp}
    clock.advance(days=1)
    services.customers.update(SYSTEM, customer.id, name="Ada Lovelace")
    assert services.customers.get(SYSTEM, customer.id).updated_at == clock.stamp()
