"""The store: migrations, PRAGMAs, schema constraints and the write transaction."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from crpm import db
from crpm.db import Store
from crpm.errors import Conflict, StoreError, ValidationError

NOW = "2024-01-01 00:00:00"
REAL_MIGRATIONS = db.migrations()


def recorded_versions(store: Store) -> list[int]:
    return [row[0] for row in store.query("SELECT version FROM schema_migrations ORDER BY 1")]


def table_names(store: Store) -> set[str]:
    return {row[0] for row in store.query("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.fixture
def migration_dir(tmp_path, monkeypatch):
    """A private copy of the migrations that a test may add files to."""
    folder = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, folder)
    monkeypatch.setattr(db, "MIGRATIONS_DIR", folder)
    return folder


@pytest.fixture
def store(db_path):
    store = Store.open(db_path)
    yield store
    store.close()


def insert_customer(conn, email="a@example.com", name="A", status="active") -> int:
    return conn.execute(
        "INSERT INTO customers (name, email, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (name, email, status, NOW, NOW),
    ).lastrowid


def insert_product(conn, sku="SKU-1", price_cents=100, stock=0) -> int:
    return conn.execute(
        "INSERT INTO products (sku, name, price_cents, stock, created_at, updated_at)"
        " VALUES (?, 'Thing', ?, ?, ?, ?)",
        (sku, price_cents, stock, NOW, NOW),
    ).lastrowid


def insert_purchase(conn, customer_id: int, product_id: int, quantity=1, price=100) -> int:
    purchase_id = conn.execute(
        "INSERT INTO purchases (customer_id, purchased_at, recorded_by) VALUES (?, ?, 'test')",
        (customer_id, NOW),
    ).lastrowid
    conn.execute(
        "INSERT INTO purchase_lines (purchase_id, product_id, quantity, unit_price_cents,"
        " net_cents) VALUES (?, ?, ?, ?, ?)",
        (purchase_id, product_id, quantity, price, quantity * price),
    )
    return purchase_id


# --- migrations -------------------------------------------------------------


def test_a_new_store_gets_every_migration_and_records_it(store):
    assert REAL_MIGRATIONS, "no migrations found"
    assert recorded_versions(store) == [version for version, _, _ in REAL_MIGRATIONS]
    assert store.schema_version() == db.latest_version()
    expected = {"customers", "products", "purchases", "purchase_lines", "purchase_returns"}
    assert expected | {"stock_movements", "audit_log", "schema_migrations"} <= table_names(store)


def test_reopening_applies_nothing_twice(db_path):
    first = Store.open(db_path)
    applied_at = first.query("SELECT version, applied_at FROM schema_migrations")
    first.close()
    again = Store.open(db_path)
    assert again.migrate() == []
    assert again.query("SELECT version, applied_at FROM schema_migrations") == applied_at
    again.close()


def test_a_store_from_an_older_version_gets_only_the_missing_migrations(
    db_path, migration_dir, monkeypatch
):
    old_dir = migration_dir.parent / "old_migrations"
    old_dir.mkdir()
    shutil.copy(REAL_MIGRATIONS[0][2], old_dir)
    monkeypatch.setattr(db, "MIGRATIONS_DIR", old_dir)
    old = Store.open(db_path)
    assert recorded_versions(old) == [REAL_MIGRATIONS[0][0]]
    insert_customer(old.conn, "kept@example.com")
    old.close()

    (migration_dir / "900_test_extra.sql").write_text(
        "CREATE TABLE test_extra (id INTEGER PRIMARY KEY);\n"
        "INSERT INTO test_extra (id) VALUES (1);\n"
    )
    monkeypatch.setattr(db, "MIGRATIONS_DIR", migration_dir)
    upgraded = Store(db_path)
    applied = upgraded.migrate()
    assert applied == [version for version, _, _ in REAL_MIGRATIONS[1:]] + [900]
    assert upgraded.schema_version() == 900
    assert upgraded.query_one("SELECT count(*) FROM test_extra")[0] == 1
    assert upgraded.query_one("SELECT email FROM customers")[0] == "kept@example.com"
    upgraded.close()


def test_a_failing_migration_leaves_no_trace(db_path, migration_dir):
    Store.open(db_path).close()
    (migration_dir / "901_broken.sql").write_text(
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    store = Store(db_path)
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        store.migrate()
    assert "half_done" not in table_names(store)
    assert 901 not in recorded_versions(store)
    assert not store.conn.in_transaction
    store.close()


def test_migration_files_are_found_in_numeric_order(migration_dir):
    (migration_dir / "010_later.sql").write_text("SELECT 1;")
    (migration_dir / "9_earlier.sql").write_text("SELECT 1;")
    (migration_dir / "notes.sql").write_text("SELECT 1;")
    versions = [version for version, _, _ in db.migrations()]
    assert versions == sorted(versions)
    assert versions.index(9) < versions.index(10)
    assert all(name != "notes" for _, name, _ in db.migrations())


# --- PRAGMAs ----------------------------------------------------------------


def pragma(conn, name: str):
    return conn.execute(f"PRAGMA {name}").fetchone()[0]


@pytest.mark.parametrize("how", ["thread connection", "new connection"])
def test_every_connection_has_the_store_pragmas(store, how):
    conn = store.conn if how == "thread connection" else store.connect()
    assert pragma(conn, "journal_mode") == "wal"
    assert pragma(conn, "foreign_keys") == 1
    assert pragma(conn, "busy_timeout") >= 1000
    assert pragma(conn, "synchronous") in (1, 2, 3)  # NORMAL, FULL or EXTRA


def test_the_file_itself_stays_in_wal_mode(store, db_path):
    plain = sqlite3.connect(db_path)
    assert pragma(plain, "journal_mode") == "wal"
    plain.close()


# --- constraints at the SQL level -------------------------------------------


CHECK_VIOLATIONS = {
    "negative stock": "UPDATE products SET stock = -1",
    "negative price": "UPDATE products SET price_cents = -1",
    "negative reorder level": "UPDATE products SET reorder_level = -1",
    "zero quantity": "UPDATE purchase_lines SET quantity = 0",
    "negative quantity": "UPDATE purchase_lines SET quantity = -3",
    "negative unit price": "UPDATE purchase_lines SET unit_price_cents = -1",
    "empty customer name": "UPDATE customers SET name = '  '",
    "unknown status": "UPDATE customers SET status = 'gone'",
    "zero movement": "INSERT INTO stock_movements (product_id, kind, quantity, stock_after,"
    " created_at, created_by) VALUES (1, 'sale', 0, 0, 'x', 'x')",
    "unknown movement kind": "INSERT INTO stock_movements (product_id, kind, quantity,"
    " stock_after, created_at, created_by) VALUES (1, 'theft', -1, 0, 'x', 'x')",
}


@pytest.fixture
def sold(store):
    """One customer, one product, one purchase of it, written straight in SQL."""
    conn = store.conn
    customer_id = insert_customer(conn)
    product_id = insert_product(conn, stock=5)
    insert_purchase(conn, customer_id, product_id)
    return customer_id, product_id


@pytest.mark.parametrize("statement", CHECK_VIOLATIONS.values(), ids=CHECK_VIOLATIONS.keys())
def test_check_constraints_hold_in_sql(store, sold, statement):
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        store.conn.execute(statement)


def test_email_is_unique_whatever_its_case(store):
    insert_customer(store.conn, "Ann@Example.com")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        insert_customer(store.conn, "ann@EXAMPLE.COM")


def test_sku_is_unique_whatever_its_case(store):
    insert_product(store.conn, "ab-1")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        insert_product(store.conn, "AB-1")


@pytest.mark.parametrize("table", ["customers", "products"])
def test_deleting_a_record_with_purchases_is_restricted(store, sold, table):
    record_id = sold[0] if table == "customers" else sold[1]
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        store.conn.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,))
    assert store.query_one(f"SELECT count(*) FROM {table}")[0] == 1


def test_a_line_may_not_point_to_a_missing_product(store, sold):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        insert_purchase(store.conn, sold[0], product_id=999)


# --- the write transaction --------------------------------------------------


def row_counts(store: Store) -> tuple[int, int]:
    return (
        store.query_one("SELECT count(*) FROM customers")[0],
        store.query_one("SELECT count(*) FROM products")[0],
    )


def test_a_failing_write_transaction_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.write() as conn:
        insert_customer(conn)
        insert_product(conn)
        raise RuntimeError("boom")
    assert row_counts(store) == (0, 0)
    assert not store.conn.in_transaction


def test_a_sqlite_error_inside_a_write_becomes_ours_and_undoes_the_rest(store):
    insert_customer(store.conn, "taken@example.com")
    with pytest.raises(Conflict) as info, store.write() as conn:
        insert_product(conn)
        insert_customer(conn, "TAKEN@example.com")
    assert info.value.field == "email"
    assert row_counts(store) == (1, 0)


def test_a_check_failure_inside_a_write_is_a_validation_error(store):
    with pytest.raises(ValidationError, match="price_cents"), store.write() as conn:
        insert_product(conn, price_cents=-5)
    assert row_counts(store) == (0, 0)


def test_any_other_sqlite_error_inside_a_write_is_a_store_error_and_undoes_the_rest(store):
    with pytest.raises(StoreError, match="nothing was changed"), store.write() as conn:
        insert_customer(conn)
        conn.execute("SELECT * FROM no_such_table")
    assert row_counts(store) == (0, 0)


def test_a_read_inside_a_write_uses_the_open_transaction(store):
    with store.write() as conn:
        insert_customer(conn)
        with store.read() as reader:
            assert reader.execute("SELECT count(*) FROM customers").fetchone()[0] == 1
        assert conn.in_transaction
    assert row_counts(store) == (1, 0)


def test_a_write_commits_everything_together(store):
    with store.write() as conn:
        insert_customer(conn)
        insert_product(conn)
    other = store.connect()
    assert other.execute("SELECT count(*) FROM customers").fetchone()[0] == 1
    assert other.execute("SELECT count(*) FROM products").fetchone()[0] == 1
    other.close()


def test_a_write_takes_the_lock_up_front(store):
    """BEGIN IMMEDIATE: a second writer waits (here: gives up) before doing any work."""
    blocker = store.connect()
    blocker.execute("PRAGMA busy_timeout=0")
    with store.write() as conn:
        insert_customer(conn)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            blocker.execute("BEGIN IMMEDIATE")
    blocker.close()


def test_integrity_check_is_clean_on_a_new_store(store):
    assert store.check_integrity() == []
