"""The store: migrations, PRAGMAs, schema constraints and the write transaction.

The store-level tests run on both engines (`store_location`: a SQLite file, a fresh schema on
the local PostgreSQL server); the PRAGMA and file tests are SQLite's own."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from crpm import db
from crpm.config import app_settings
from crpm.db import Store, is_postgres
from crpm.errors import Conflict, StoreError, ValidationError
from tests.support import copy_migrations_before

NOW = "2024-01-01 00:00:00"
REAL_MIGRATIONS = db.migrations()


TABLES_SQL = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT table_name FROM information_schema.tables"
    " WHERE table_schema = current_schema()",
}


def recorded_versions(store) -> list[int]:
    return [row[0] for row in store.query("SELECT version FROM schema_migrations ORDER BY 1")]


def table_names(store) -> set[str]:
    return {row[0] for row in store.query(TABLES_SQL[store.dialect])}


def unopened(location):
    """The store at `location`, not yet migrated."""
    if is_postgres(location):
        from crpm.pgstore import PostgresStore

        return PostgresStore(location)
    return Store(location)


def dialect_of(location) -> str:
    return "postgresql" if is_postgres(location) else "sqlite"


def integrity_error(store) -> type[Exception]:
    """What the driver raises for a broken constraint; messages read "CHECK", "UNIQUE" and
    "FOREIGN KEY" on both engines, in their own case."""
    if store.dialect == "sqlite":
        return sqlite3.IntegrityError
    import psycopg

    return psycopg.IntegrityError


@pytest.fixture
def migration_dir(tmp_path, monkeypatch):
    """A private copy of the migrations that a test may add files to."""
    folder = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, folder)
    monkeypatch.setattr(db, "MIGRATIONS_DIR", folder)
    return folder


@pytest.fixture
def store(store_location):
    """A migrated store, once on each engine."""
    store = db.open_store(store_location)
    yield store
    store.close()


@pytest.fixture
def sqlite_store(db_path):
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
    everyone = [version for version, _, _ in db.migrations(store.dialect)]
    assert recorded_versions(store) == everyone
    assert {version for version, _, _ in REAL_MIGRATIONS} <= set(everyone)
    assert store.schema_version() == db.latest_version(store.dialect) == everyone[-1]
    expected = {"customers", "products", "purchases", "purchase_lines", "purchase_returns"}
    assert expected | {"stock_movements", "audit_log", "schema_migrations"} <= table_names(store)


# PostgreSQL's own versions: 000 makes what SQLite has built in (the NOCASE collation, instr),
# 009 its search index (SQLite's FTS5 tables are made in 001 and 004).
POSTGRESQL_ONLY_MIGRATIONS = {0: "sqlite_builtins", 9: "search", 10: "analytics_xid_first"}


def test_both_engines_have_the_same_numbered_migrations():
    postgresql = {v: name for v, name, _ in db.migrations("postgresql")}
    own = {v: postgresql.pop(v, None) for v in POSTGRESQL_ONLY_MIGRATIONS}
    assert own == POSTGRESQL_ONLY_MIGRATIONS
    assert postgresql == {v: name for v, name, _ in REAL_MIGRATIONS}


FIRST = {"sqlite": 0, "postgresql": 1}  # where version 1 is in each dialect's list


def test_a_migration_is_its_shared_file_then_the_dialects_part():
    core = {dialect: db.migrations(dialect)[version_1][2] for dialect, version_1 in FIRST.items()}
    shared = db.MIGRATIONS_DIR / "001_core.sql"
    assert core["sqlite"] == (shared, db.MIGRATIONS_DIR / "sqlite" / "001_core.sql")
    assert core["postgresql"] == (shared, db.MIGRATIONS_DIR / "postgresql" / "001_core.sql")


def test_reopening_applies_nothing_twice(store_location):
    first = db.open_store(store_location)
    applied_at = first.query("SELECT version, applied_at FROM schema_migrations")
    first.close()
    again = db.open_store(store_location)
    assert again.migrate() == []
    assert again.query("SELECT version, applied_at FROM schema_migrations") == applied_at
    again.close()


def test_a_store_from_an_older_version_gets_only_the_missing_migrations(
    store_location, migration_dir, monkeypatch
):
    old_dir = migration_dir.parent / "old_migrations"
    dialect = dialect_of(store_location)
    missing = [version for version, _, _ in db.migrations(dialect) if version >= 2] + [900]
    copy_migrations_before(2, old_dir, dialect)
    monkeypatch.setattr(db, "MIGRATIONS_DIR", old_dir)
    old = db.open_store(store_location)
    assert recorded_versions(old) == [v for v, _, _ in db.migrations(dialect) if v < 2]
    insert_customer(old.conn, "kept@example.com")
    old.close()

    (migration_dir / "900_test_extra.sql").write_text(
        "CREATE TABLE test_extra (id INTEGER PRIMARY KEY);\n"
        "INSERT INTO test_extra (id) VALUES (1);\n"
    )
    monkeypatch.setattr(db, "MIGRATIONS_DIR", migration_dir)
    upgraded = unopened(store_location)
    applied = upgraded.migrate()
    assert applied == missing
    assert upgraded.schema_version() == 900
    assert upgraded.query_one("SELECT count(*) FROM test_extra")[0] == 1
    assert upgraded.query_one("SELECT email FROM customers")[0] == "kept@example.com"
    upgraded.close()


def test_a_failing_migration_leaves_no_trace(store_location, migration_dir):
    db.open_store(store_location).close()
    (migration_dir / "901_broken.sql").write_text(
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    store = unopened(store_location)
    with pytest.raises(store.driver_error, match="no_such_table"):
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
def test_every_connection_has_the_store_pragmas(sqlite_store, how):
    conn = sqlite_store.conn if how == "thread connection" else sqlite_store.connect()
    assert pragma(conn, "journal_mode") == "wal"
    assert pragma(conn, "foreign_keys") == 1
    assert pragma(conn, "busy_timeout") >= 1000
    assert pragma(conn, "synchronous") in (1, 2, 3)  # NORMAL, FULL or EXTRA


def test_the_file_itself_stays_in_wal_mode(sqlite_store, db_path):
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
    with pytest.raises(integrity_error(store), match="(?i)check constraint"):
        store.conn.execute(statement)


def test_email_is_unique_whatever_its_case(store):
    insert_customer(store.conn, "Ann@Example.com")
    with pytest.raises(integrity_error(store), match="(?i)unique"):
        insert_customer(store.conn, "ann@EXAMPLE.COM")


def test_sku_is_unique_whatever_its_case(store):
    insert_product(store.conn, "ab-1")
    with pytest.raises(integrity_error(store), match="(?i)unique"):
        insert_product(store.conn, "AB-1")


@pytest.mark.parametrize("table", ["customers", "products"])
def test_deleting_a_record_with_purchases_is_restricted(store, sold, table):
    record_id = sold[0] if table == "customers" else sold[1]
    with pytest.raises(integrity_error(store), match="(?i)foreign key"):
        store.conn.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,))
    assert store.query_one(f"SELECT count(*) FROM {table}")[0] == 1


def test_a_line_may_not_point_to_a_missing_product(store, sold):
    with pytest.raises(integrity_error(store), match="(?i)foreign key"):
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


def test_a_nested_write_commits_with_the_outer_one(store):
    with store.write() as conn:
        insert_customer(conn)
        with store.write() as inner:
            insert_product(inner)
        other = store.connect()
        assert other.execute("SELECT count(*) FROM products").fetchone()[0] == 0
        other.close()
    assert row_counts(store) == (1, 1)


def test_a_failing_nested_write_undoes_only_itself(store):
    with store.write() as conn:
        insert_customer(conn)
        with pytest.raises(Conflict), store.write() as inner:
            insert_product(inner)
            insert_customer(inner, "A@EXAMPLE.COM")
        insert_product(conn, sku="SKU-2")
    assert row_counts(store) == (1, 1)
    assert store.query_one("SELECT sku FROM products")[0] == "SKU-2"


def test_a_failing_outer_write_undoes_the_nested_ones_too(store):
    with pytest.raises(RuntimeError), store.write() as conn:
        with store.write() as inner:
            insert_customer(inner)
        insert_product(conn)
        raise RuntimeError("boom")
    assert row_counts(store) == (0, 0)
    assert not store.conn.in_transaction
    assert not store.in_write


def test_a_write_cannot_start_inside_a_read(store):
    with pytest.raises(RuntimeError, match="read transaction"), store.read(), store.write():
        pass
    assert not store.conn.in_transaction


def test_a_write_commits_everything_together(store):
    with store.write() as conn:
        insert_customer(conn)
        insert_product(conn)
    other = store.connect()
    assert other.execute("SELECT count(*) FROM customers").fetchone()[0] == 1
    assert other.execute("SELECT count(*) FROM products").fetchone()[0] == 1
    other.close()


def takes_the_write_lock(store, other) -> bool:
    """Whether another connection can take the store's write lock now, without waiting."""
    if store.dialect == "postgresql":
        from crpm.pgstore import WRITE_LOCK

        sql = f"SELECT {WRITE_LOCK.replace('pg_advisory', 'pg_try_advisory')}"
        other.execute("BEGIN")
        taken = other.execute(sql).fetchone()[0]
        other.execute("ROLLBACK")
        return taken
    other.execute("PRAGMA busy_timeout=0")
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    other.execute("ROLLBACK")
    return True


def test_a_write_takes_the_lock_up_front(store):
    """BEGIN IMMEDIATE (SQLite), the write advisory lock (PostgreSQL): a second writer waits
    (here: gives up) before doing any work."""
    blocker = store.connect()
    with store.write() as conn:
        assert not takes_the_write_lock(store, blocker)
        insert_customer(conn)
    assert takes_the_write_lock(store, blocker)
    blocker.close()


def test_stores_in_two_schemas_of_one_database_do_not_wait_for_each_other(pg_url):
    from tests.pgserver import fresh_schema

    with fresh_schema() as other_url:
        store, other = db.open_store(pg_url), db.open_store(other_url)
        with store.write() as conn:
            insert_customer(conn)
            assert takes_the_write_lock(other, other.connect())
            assert not takes_the_write_lock(store, store.connect())
        store.close(), other.close()


def test_integrity_check_is_clean_on_a_new_store(sqlite_store):
    assert sqlite_store.check_integrity() == []


# --- selecting the store ----------------------------------------------------


@pytest.mark.parametrize("how", ["path", "text path", "sqlite URL"])
def test_a_path_or_a_sqlite_url_opens_the_sqlite_store(db_path, how):
    location = {"path": db_path, "text path": str(db_path), "sqlite URL": f"sqlite:///{db_path}"}
    store = db.open_store(location[how])
    assert isinstance(store, Store) and store.path == db_path
    assert store.schema_version() == db.latest_version()
    store.close()


def test_a_store_url_is_kept_whole_by_the_settings_and_its_password_is_not_shown():
    url = "postgresql://shop:secret@db.example:5432/crpm"
    assert app_settings(["--db", url]).db_path == url
    assert app_settings(["--db", "data/x.db"]).db_path == Path("data/x.db")
    assert db.shown_location(url) == "postgresql://shop:***@db.example:5432/crpm"
    assert db.shown_location("data/x.db") == "data/x.db"


def test_a_read_sees_one_snapshot(store):
    """Rows another connection commits during a read stay out of it until it ends."""
    insert_customer(store.conn)
    other = store.connect()
    with store.read() as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 1
        insert_customer(other, "later@example.com")
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 1
    assert row_counts(store) == (2, 0)
    other.close()


def test_rows_read_by_name_and_by_position(store):
    customer_id = insert_customer(store.conn, "ann@example.com", name="Ann")
    row = store.query_one(
        "SELECT id, name, email FROM customers WHERE id = :id", {"id": customer_id}
    )
    assert (row[0], row["name"], row[2]) == (customer_id, "Ann", "ann@example.com")
    assert dict(row) == {"id": customer_id, "name": "Ann", "email": "ann@example.com"}
    found = store.query(
        "SELECT name FROM customers WHERE name LIKE 'A%' AND email = 'ANN@example.com'"
    )
    assert [tuple(row) for row in found] == [("Ann",)]  # the e-mail compares whatever its case


def test_every_unique_key_is_a_conflict_naming_its_field(store, sold):
    customer_id, _ = sold
    store.conn.execute("UPDATE purchases SET order_ref = 'R-1'")
    with pytest.raises(Conflict) as info, store.write() as conn:
        conn.execute(
            "INSERT INTO purchases (customer_id, purchased_at, recorded_by, order_ref)"
            " VALUES (?, ?, 'test', 'R-1')",
            (customer_id, NOW),
        )
    assert (info.value.field, info.value.reason) == db.UNIQUE_FIELDS["purchases.order_ref"]
    with pytest.raises(Conflict, match="SKU"), store.write() as conn:
        insert_product(conn, "sku-1")


def test_a_foreign_key_inside_a_write_is_a_conflict(store, sold):
    with pytest.raises(Conflict, match="still used"), store.write() as conn:
        conn.execute("DELETE FROM customers WHERE id = ?", (sold[0],))
    assert row_counts(store) == (1, 1)


def test_a_postgresql_url_opens_the_postgresql_store(pg_url, monkeypatch):
    from crpm.pgstore import PostgresStore

    monkeypatch.setenv("CRPM_DB", pg_url)
    store = db.open_store(app_settings([]).db_path)
    assert isinstance(store, PostgresStore) and store.dialect == "postgresql"
    assert store.schema_version() == db.latest_version("postgresql")
    store.close()


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_backup_and_restore_of_a_postgresql_store_say_what_to_use_instead(
    command, tmp_path, capsys, monkeypatch
):
    from crpm.__main__ import main

    monkeypatch.chdir(tmp_path)
    url = "postgresql://shop@127.0.0.1:5432/crpm"
    assert main(["--db", url, command, str(tmp_path / "copy.db")]) == 2
    message = capsys.readouterr().err
    assert "pg_dump --format=custom" in message and "pg_restore" in message
    assert list(tmp_path.iterdir()) == []  # nothing written, no file named after the URL
