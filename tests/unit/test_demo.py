"""Demo data: fills an empty store, reproducibly, keeping every invariant of the services."""

from __future__ import annotations

from datetime import datetime

import pytest

from crpm import demo
from crpm.errors import Conflict, ValidationError
from crpm.services import open_services
from tests.support import SQLITE_ONLY, STAFF, store_snapshot

END = datetime(2026, 6, 1)


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


def test_generate_fills_an_empty_store_with_consistent_history(services):
    counts = demo.generate(
        services.store, customers=50, products=20, purchases=2000, seed=4, end=END
    )
    store = services.store
    assert (
        counts["purchase_line"] == 2000 == store.query_one("SELECT count(*) FROM purchase_lines")[0]
    )
    assert counts["customer"] == 50 and counts["product"] == 20
    sizes = [
        row[0] for row in store.query("SELECT count(*) FROM purchase_lines GROUP BY purchase_id")
    ]
    assert min(sizes) >= 1 and max(sizes) <= 5
    first, last = store.query_one("SELECT min(purchased_at), max(purchased_at) FROM purchases")
    assert "2024-06-01" <= first < "2024-08-01" and "2026-05-01" <= last < "2026-06-01"
    cancelled = store.query_one("SELECT count(*) FROM purchases WHERE cancelled_at IS NOT NULL")[0]
    assert 0 < cancelled < counts["purchase"] * 0.06
    assert counts["purchase_return"] > 0
    # each sale, cancel and return has its movement; stock_after runs per product in id order
    kinds = dict(store.query("SELECT kind, count(*) FROM stock_movements GROUP BY kind"))
    assert kinds["sale"] == 2000 and kinds["return"] == counts["purchase_return"]
    running = {}
    for product_id, quantity, after in store.query(
        "SELECT product_id, quantity, stock_after FROM stock_movements ORDER BY id"
    ):
        running[product_id] = running.get(product_id, 0) + quantity
        assert running[product_id] == after >= 0
    # long tail: the best product sells far more than the median one
    units = sorted(
        row[0]
        for row in store.query("SELECT sum(quantity) FROM purchase_lines GROUP BY product_id")
    )
    assert units[-1] > 4 * units[len(units) // 2]
    december = store.query_one(
        "SELECT count(*) FROM purchases WHERE substr(purchased_at, 6, 2) = '12'"
    )[0]
    february = store.query_one(
        "SELECT count(*) FROM purchases WHERE substr(purchased_at, 6, 2) = '02'"
    )[0]
    assert december > 1.5 * february
    audit = store.query("SELECT entity, after FROM audit_log WHERE action = 'demo-data'")
    assert {row["entity"] for row in audit} >= {"customer", "product", "purchase"}


def test_same_seed_same_data(tmp_path):
    def build(name, seed):
        services = open_services(tmp_path / name)
        demo.generate(services.store, 30, 10, 500, seed=seed, end=END)
        snapshot = store_snapshot(services.store)
        services.store.close()
        return {
            table: rows
            for table, rows in snapshot.items()
            if table not in ("audit_log", "schema_migrations")
        }

    assert build("a.db", 7) == build("b.db", 7)
    assert build("c.db", 8)["purchase_lines"] != build("d.db", 7)["purchase_lines"]


def test_service_desk_rows_when_the_tables_exist(services):
    counts = demo.generate(services.store, 40, 10, 2000, seed=1, end=END)
    assert counts["ticket"] == 10 and counts["quote"] == 4
    statuses = {row[0] for row in services.store.query("SELECT status FROM tickets")}
    assert statuses <= {"open", "in_progress", "resolved", "closed"}
    assert (
        services.store.query_one("SELECT count(*) FROM ticket_events WHERE kind = 'created'")[0]
        == 10
    )


def test_refuses_a_store_with_data(services, shop, refused):
    shop.customer()
    with refused(Conflict, match="empty store"):
        demo.generate(services.store, 5, 5, 10)


def test_refuses_bad_sizes(services):
    with pytest.raises(ValidationError, match="customers"):
        demo.generate(services.store, -1, 5, 10)
    with pytest.raises(ValidationError, match="purchases"):
        demo.generate(services.store, 0, 5, 10)


def test_records_added_after_demo_data_take_the_next_ids(services, shop):
    demo.generate(services.store, 40, 10, 2000, seed=1, end=END)
    assert shop.customer().id == 41 and shop.product().id == 11
    ticket = services.desk.raise_ticket(STAFF, "After the demo", customer_id=1)
    assert ticket.id == 11


@SQLITE_ONLY  # the FTS tables and the indexes the bulk load drops and builds again
def test_search_indexes_are_complete_after_the_bulk_load(services, actor):
    demo.generate(services.store, 300, 40, 600, seed=3, end=END)
    for fts in ("customers_fts", "products_fts"):
        services.store.conn.execute(f"INSERT INTO {fts} ({fts}) VALUES ('integrity-check')")
    someone = services.store.query_one("SELECT * FROM customers WHERE id = 123")
    found = services.customers.list(actor, search=someone["email"].split("@")[0], status=None)
    assert [customer.id for customer in found.items] == [123]
    product = services.store.query_one("SELECT * FROM products WHERE id = 7")
    assert 7 in [
        p.id for p in services.products.list(actor, search=product["sku"], status=None).items
    ]
    indexes = {
        row[0]
        for row in services.store.query("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    assert {
        "purchases_time",
        "purchase_lines_product",
        "stock_movements_product",
        "customers_status",
    } <= indexes


@pytest.mark.any_day
def test_without_an_end_the_history_ends_at_the_store_clocks_day(tmp_path, clock):
    def build(name, **end):
        services = open_services(tmp_path / name, clock)
        demo.generate(services.store, 20, 8, 300, seed=2, **end)
        snapshot = store_snapshot(services.store)
        last = services.store.query_one("SELECT max(purchased_at) FROM purchases")[0]
        services.store.close()
        kept = {
            table: rows
            for table, rows in snapshot.items()
            if not table.startswith(("audit_log", "schema_"))
        }
        return kept, last

    implicit, last = build("implicit.db")
    explicit, _ = build("explicit.db", end=clock.midnight())
    assert implicit == explicit
    assert last < clock.midnight().strftime("%Y-%m-%d %H:%M:%S")
    clock.set(f"{clock.utc_day()} 23:59:59")  # later the same day: the same data
    assert build("later.db")[0] == implicit


def test_the_apps_demo_flag_fills_an_empty_store_once(services, capsys):
    import app

    app.fill_demo_data(services)
    filled = store_snapshot(services.store)
    assert capsys.readouterr().out.startswith("CRPM: demo data added")
    app.fill_demo_data(services)
    assert "already has data" in capsys.readouterr().out
    assert store_snapshot(services.store) == filled
