"""Moving a shop to another store: `migrate-store` copies every table and proves the copy."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial

import pytest

from crpm import demo
from crpm.__main__ import main
from crpm.db import open_store
from crpm.errors import PermissionDenied, StoreBusy, ValidationError
from crpm.permissions import SYSTEM
from crpm.services import open_services, store_copy
from crpm.services.store_copy import LEFT_BEHIND, TABLES, copy_store, differences
from crpm.services.taxes import TaxService
from tests.support import STAFF, TABLES_SQL, store_snapshot

END = datetime(2026, 6, 1)
pytestmark = pytest.mark.usefixtures("cheap_passwords")


@pytest.fixture
def shop_file(tmp_path, clock):
    """A SQLite shop with two years of demo history, taxes, invoices, a credit note and a
    portal login: a row in every table that moves."""
    services = open_services(tmp_path / "shop.db", clock)
    demo.generate(services.store, customers=40, products=15, purchases=600, seed=3, end=END)
    taxes = TaxService(services.store)
    rate = taxes.add_rate(STAFF, "Standard", "20")
    taxes.update_settings(SYSTEM, name="Corner Shop", default_tax_rate_id=rate.id)
    sale = services.purchases.record(STAFF, 1, [(1, 1), (2, 2)])
    services.purchases.return_items(STAFF, sale.lines[1].id, 1, "dented")
    services.invitations.invite(STAFF, 2)
    services.accounts.register_customer("Portal Person", "portal@example.com", "portal-Secret-12")
    services.store.close()
    return tmp_path / "shop.db"


def opened(location, clock):
    return open_store(location, clock)


def test_a_copy_has_every_row_the_ledger_and_every_report(shop_file, tmp_path, clock):
    source, target = opened(shop_file, clock), opened(tmp_path / "copy.db", clock)
    report = copy_store(SYSTEM, source, target)
    assert report.ok, report.problems
    assert [table for table in TABLES if not report.rows[table]] == []
    first, copy = store_snapshot(source), store_snapshot(target)
    assert all(first[table] == copy[table] for table in TABLES)
    source.close(), target.close()


def test_the_check_finds_a_copy_that_differs(shop_file, tmp_path, clock):
    source, target = opened(shop_file, clock), opened(tmp_path / "copy.db", clock)
    copy_store(SYSTEM, source, target)
    with target.write() as conn:
        conn.execute(
            "UPDATE purchase_lines SET net_cents = net_cents - 1, tax_cents = 1 WHERE id = 1"
        )
    problems = differences(source, target)
    assert any(problem.startswith("report summary differs") for problem in problems), problems
    source.close(), target.close()


@pytest.mark.parametrize(
    ("change", "found"),
    [
        (
            "UPDATE tickets SET subject = 'Changed' WHERE id = 1",
            "tickets: row 1 differs in subject",
        ),
        ("UPDATE users SET active = 0 WHERE id = 1", "users: row 1 differs in active"),
        ("UPDATE shop_settings SET value = 'Other' WHERE key = 'name'", "shop_settings: row name"),
        ("DELETE FROM ticket_events WHERE id = 6", "ticket_events: the source's row 6 against"),
    ],
)
def test_the_check_reads_every_value_of_tables_no_report_reads(
    shop_file, store_location, clock, change, found
):
    """Users, tickets, settings: no report reads them, so each of their values is compared."""
    source, target = opened(shop_file, clock), opened(store_location, clock)
    assert copy_store(SYSTEM, source, target).ok
    with target.write() as conn:
        conn.execute(change)
    problems = differences(source, target)
    assert [problem for problem in problems if problem.startswith(found)] == problems, problems
    assert len(problems) == 1
    source.close(), target.close()


def shop_on(engine, shop_file, request):
    """The demo shop on `engine`: its SQLite file, or moved into a fresh PostgreSQL schema."""
    if engine == "sqlite":
        return shop_file
    url = request.getfixturevalue("pg_url")
    assert main(["migrate-store", "--from", str(shop_file), "--to", url]) == 0
    return url


def impatient(store) -> None:
    """This thread's writes on `store` give up at once rather than wait for the write lock."""
    waiting = "PRAGMA busy_timeout=0" if store.dialect == "sqlite" else "SET lock_timeout = '50ms'"
    store.conn.execute(waiting)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_no_write_lands_on_the_source_while_it_is_copied(
    engine, shop_file, tmp_path, clock, monkeypatch, request
):
    """Another app process writing mid-copy meets the source's write lock: it waits (here it
    gives up at once, to be seen) and its write comes after the copy, which agrees throughout."""
    location = shop_on(engine, shop_file, request)
    source, target = opened(location, clock), opened(tmp_path / "copy.db", clock)
    other_app = open_services(location, clock)
    impatient(other_app.store)
    copy_table, refused = store_copy.copy_table, []

    def copy_then_write(reading, into, conn, table):
        copied = copy_table(reading, into, conn, table)
        if table == "customers":
            with pytest.raises(StoreBusy):
                other_app.customers.add(STAFF, name="Mid Copy", email="mid@example.com")
            refused.append(table)
        return copied

    monkeypatch.setattr(store_copy, "copy_table", copy_then_write)
    monkeypatch.setattr(store_copy, "BATCH", 100)  # the copy and the check read in batches
    report = copy_store(SYSTEM, source, target)
    assert refused == ["customers"]
    assert report.ok, report.problems
    added = other_app.customers.add(STAFF, name="After Copy", email="after@example.com")
    assert target.query_one("SELECT max(id) FROM customers")[0] == added.id - 1
    source.close(), target.close(), other_app.store.close()


WAITING_FOR_THE_WRITE_LOCK = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND classid = ? AND objid = current_schema()::regnamespace::oid"
)


def waiting(watcher) -> bool:
    """Whether a writer of the watcher's store waits for the write lock."""
    from crpm.pgstore import WRITE_LOCK_KEY

    return watcher.execute(WAITING_FOR_THE_WRITE_LOCK, (WRITE_LOCK_KEY,)).fetchone()[0] > 0


def until(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came"
        time.sleep(0.05)


def test_postgresql_a_write_during_the_copy_waits_and_lands_after_it(
    shop_file, pg_url, tmp_path, clock, monkeypatch
):
    """An app writing mid-copy with no timeout of its own: its write waits for the end of the
    check, then lands on the old store, and the copy (taken before it) still agrees."""
    assert main(["migrate-store", "--from", str(shop_file), "--to", pg_url]) == 0
    source, target = opened(pg_url, clock), opened(tmp_path / "copy.db", clock)
    other_app, watcher = open_services(pg_url, clock), source.connect()
    copy_table, writes = store_copy.copy_table, ThreadPoolExecutor(1)
    add = partial(other_app.customers.add, STAFF, name="Mid Copy", email="mid@example.com")
    added = []

    def copy_then_write(reading, into, conn, table):
        copied = copy_table(reading, into, conn, table)
        if table == "customers":
            added.append(writes.submit(add))
            until(lambda: added[0].done() or waiting(watcher))
            assert not added[0].done()  # it waits: the source takes no write mid-copy
        return copied

    monkeypatch.setattr(store_copy, "copy_table", copy_then_write)
    report = copy_store(SYSTEM, source, target)
    assert report.ok, report.problems
    customer = added[0].result(timeout=120)
    assert target.query_one("SELECT max(id) FROM customers")[0] == customer.id - 1
    writes.shutdown(), watcher.close()
    source.close(), target.close(), other_app.store.close()


def test_it_refuses_a_target_that_is_not_empty_and_changes_nothing(shop_file, tmp_path, clock):
    target = open_services(tmp_path / "busy.db", clock)
    target.customers.add(STAFF, name="Already Here", email="here@example.com")
    before = store_snapshot(target.store)
    source = opened(shop_file, clock)
    with pytest.raises(ValidationError, match="not empty .customers has rows"):
        copy_store(SYSTEM, source, target.store)
    assert store_snapshot(target.store) == before
    source.close(), target.store.close()


def test_only_an_admin_moves_a_shop(shop_file, tmp_path, clock):
    source, target = opened(shop_file, clock), opened(tmp_path / "copy.db", clock)
    with pytest.raises(PermissionDenied):
        copy_store(STAFF, source, target)
    source.close(), target.close()


def test_every_table_is_either_moved_or_left_behind_on_purpose(store_location, clock):
    store = opened(store_location, clock)
    tables = {row[0] for row in store.query(TABLES_SQL[store.dialect]) if "_fts" not in row[0]}
    assert tables == set(TABLES) | set(LEFT_BEHIND)
    store.close()


def test_the_target_hands_out_ids_after_the_copied_ones(shop_file, pg_url, clock):
    copied = main(["migrate-store", "--from", str(shop_file), "--to", pg_url])
    assert copied == 0
    services = open_services(pg_url, clock)
    newest = services.store.query_one("SELECT max(id) FROM customers")[0]
    added = services.customers.add(STAFF, name="After The Move", email="after@example.com")
    assert added.id == newest + 1
    # ... and its pages are planned from statistics of the copied rows, not an empty table's
    analyzed = services.store.query(
        "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema()"
        " AND last_analyze IS NOT NULL"
    )
    assert {"customers", "purchases", "purchase_lines"} <= {row[0] for row in analyzed}
    services.store.close()


def test_sqlite_to_postgresql_and_back_every_report_equal(shop_file, pg_url, tmp_path, capsys):
    assert main(["migrate-store", "--from", str(shop_file), "--to", pg_url]) == 0
    back = tmp_path / "back.db"
    assert main(["migrate-store", "--from", pg_url, "--to", str(back)]) == 0
    assert "every table, the ledger and the reports agree" in capsys.readouterr().out
    first, last = open_store(shop_file), open_store(back)
    assert {table: store_snapshot(first)[table] for table in TABLES} == {
        table: store_snapshot(last)[table] for table in TABLES
    }
    first.close(), last.close()


def test_the_cli_refuses_a_busy_target_with_one_line(shop_file, capsys):
    assert main(["migrate-store", "--from", str(shop_file), "--to", str(shop_file)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_an_empty_store_is_not_moved_nor_copied_onto_itself(store_location, capsys):
    location = str(store_location)
    opened(location, None).close()
    assert main(["migrate-store", "--from", location, "--to", location]) == 2
    assert "nothing to move" in capsys.readouterr().err


def test_a_moved_shops_reports_catch_up_rather_than_load_everything_again(shop_file, pg_url):
    """The copied ids move the sequences as if drawn, so the analytics sync on the new store
    reads only what is new (it reloaded the whole store at every report before)."""
    from crpm.analytics import Analytics

    assert main(["migrate-store", "--from", str(shop_file), "--to", pg_url]) == 0
    services = open_services(pg_url)
    engine = Analytics(services.store, keep=False)
    try:
        before = engine.summary(SYSTEM).orders
        stocked = services.store.query_one("SELECT min(id) FROM products WHERE stock > 0")[0]
        services.purchases.record(STAFF, 1, [(stocked, 1)])
        assert engine.summary(SYSTEM).orders == before + 1
        assert engine._mirror.loads == 1
    finally:
        engine.close()
        services.store.close()
