"""Moving a shop to another store: `migrate-store` copies every table and proves the copy."""

from __future__ import annotations

from datetime import datetime

import pytest

from crpm import demo
from crpm.__main__ import main
from crpm.db import open_store
from crpm.errors import PermissionDenied, ValidationError
from crpm.permissions import SYSTEM
from crpm.services import open_services
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
