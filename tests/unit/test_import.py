"""CSV import: format quirks, every kind of bad row with its line, all or nothing, re-import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crpm.__main__ import main
from crpm.errors import PermissionDenied, ValidationError
from crpm.models import clean_email
from crpm.permissions import Actor
from tests.support import SQLITE_ONLY, store_snapshot

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
QUIRKS = ["bom", "semicolon", "tab", "crlf", "reordered", "unknown_column", "quoted"]


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


def run(services, actor, kind, name, **options):
    return services.imports.run(actor, kind, FIXTURES / name, **options)


def customers(services):
    rows = services.store.query("SELECT * FROM customers ORDER BY id")
    return [dict(row) for row in rows]


def problems(report):
    return [(problem.line, problem.column) for problem in report.problems]


@pytest.mark.parametrize("quirk", QUIRKS)
def test_each_format_quirk_reads_the_same_customers(services, actor, quirk):
    report = run(services, actor, "customers", f"customers_{quirk}.csv")
    assert report.ok, report.text()
    assert report.written and report.created == 3 and report.rows == 3
    rows = customers(services)
    assert [row["email"] for row in rows] == [
        "ada@example.com",
        "bruno@example.org",
        "chen@example.net",
    ]
    assert rows[1] == {**rows[1], "name": "Bruno Costa", "city": "Lisbon", "company": ""}
    assert rows[2]["phone"] == "" and rows[2]["country"] == "Canada"
    if quirk == "quoted":
        assert rows[0]["name"] == "Lovelace, Ada"
        assert rows[0]["address"] == "12 High Street\nFlat 2"
        assert rows[0]["notes"] == 'said "hello"'
        assert rows[2]["notes"] == "line one\nline two\nline three"
    else:
        assert rows[0]["name"] == "Ada Lovelace" and rows[0]["notes"] == "first customer"


def test_unknown_column_is_reported_not_silently_dropped(services, actor):
    report = run(services, actor, "customers", "customers_unknown_column.csv")
    assert report.unknown_columns == ["loyalty_tier"]
    assert "loyalty_tier" in report.warnings[0] and "loyalty_tier" in report.text()


def test_bad_customer_rows_are_listed_by_physical_line_and_nothing_is_written(services, actor):
    before = store_snapshot(services.store)
    report = run(services, actor, "customers", "customers_bad.csv")
    assert not report.ok and not report.written
    assert problems(report) == [(6, "name"), (7, "email"), (8, "email"), (9, "phone")]
    assert "first on line 2" in report.problems[2].reason
    assert "REFUSED" in report.text() and "line 7, email" in report.text()
    assert store_snapshot(services.store) == before


def test_bad_product_rows(services, actor):
    before = store_snapshot(services.store)
    report = run(services, actor, "products", "products_bad.csv")
    assert problems(report) == [
        (3, "price"),
        (4, "sku"),
        (5, "price"),
        (6, "sku"),
        (7, "stock"),
        (8, "name"),
    ]
    assert "negative" in report.problems[0].reason
    assert store_snapshot(services.store) == before


def test_bad_purchase_rows(services, actor):
    run(services, actor, "customers", "customers_bom.csv")
    run(services, actor, "products", "products.csv")
    before = store_snapshot(services.store)
    report = run(services, actor, "purchases", "purchases_bad.csv")
    assert problems(report) == [
        (3, "customer_email"),
        (4, "sku"),
        (5, "purchased_at"),
        (6, "customer_email"),
        (7, "quantity"),
        (8, "unit_price"),
        (9, "order_ref"),
    ]
    reasons = {problem.line: problem.reason for problem in report.problems}
    assert "nobody@example.com" in reasons[3] and "NOPE-9" in reasons[4]
    assert "another customer on line 2" in reasons[6]
    assert store_snapshot(services.store) == before


def test_problem_list_stops_at_the_limit_but_counts_everything(services, actor, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("name,email\n" + "".join(f"Name {n},bad-{n}\n" for n in range(150)))
    report = services.imports.run(actor, "customers", path, max_problems=100)
    assert report.problem_count == 150 and len(report.problems) == 100
    assert report.problems[0].line == 2 and report.problems[-1].line == 101
    assert "and 50 more" in report.text()


def test_dry_run_checks_everything_and_writes_nothing(services, actor):
    before = store_snapshot(services.store)
    report = run(services, actor, "products", "products.csv", dry_run=True)
    assert report.ok and report.created == 3 and not report.written
    assert "would add 3 products" in report.text()
    assert store_snapshot(services.store) == before


def test_preview_gives_first_rows_and_problems(services, actor):
    report = services.imports.preview(actor, "customers", FIXTURES / "customers_bad.csv", rows=2)
    assert [row["line"] for row in report.preview] == [2, 3]
    assert report.preview[1]["address"] == "1 Long Road\nSecond line\nThird line"
    assert report.problem_count == 4


def test_file_level_errors(services, actor, tmp_path):
    missing = tmp_path / "products.csv"
    missing.write_text("sku,name\nA,B\n")
    with pytest.raises(ValidationError, match="required column.*price"):
        services.imports.run(actor, "products", missing)
    with pytest.raises(ValidationError, match="no such file"):
        services.imports.run(actor, "products", tmp_path / "nope.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,email\nJos\xe9,j@example.com\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="UTF-8"):
        services.imports.run(actor, "customers", latin)


def test_customers_may_not_import(services):
    customer = Actor(username="c@example.com", role="customer", customer_id=1)
    with pytest.raises(PermissionDenied):
        run(services, customer, "customers", "customers_bom.csv")


def test_reimport_creates_no_duplicates_and_update_replaces_values(services, actor, tmp_path):
    run(services, actor, "customers", "customers_bom.csv")
    again = run(services, actor, "customers", "customers_crlf.csv")
    assert again.created == 0 and again.existing == 3
    assert again.existing_keys == ["ada@example.com", "bruno@example.org", "chen@example.net"]
    changed = tmp_path / "changed.csv"
    changed.write_text("email,city\nADA@example.com,Paris\nnew@example.com,Rome\n")
    with pytest.raises(ValidationError, match="name"):
        services.imports.run(actor, "customers", changed, update=True)
    changed.write_text(
        "email,name,city\nADA@example.com,Ada Lovelace,Paris\n"
        "bruno@example.org,Bruno Costa,Lisbon\nnew@example.com,New One,Rome\n"
    )
    report = services.imports.run(actor, "customers", changed, update=True)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    rows = {row["email"]: row for row in customers(services)}
    assert rows["ada@example.com"]["city"] == "Paris"
    assert rows["ada@example.com"]["notes"] == "first customer"  # not in the file: kept
    assert len(rows) == 4


def test_product_stock_is_a_movement_and_update_moves_the_difference(services, actor, tmp_path):
    run(services, actor, "products", "products.csv")
    moves = services.store.query(
        "SELECT p.sku, m.kind, m.quantity, m.stock_after FROM"
        " stock_movements m JOIN products p ON p.id = m.product_id"
    )
    assert sorted(tuple(m) for m in moves) == [
        ("KIT-1", "import", 10, 10),
        ("KIT-2", "import", 100, 100),
    ]
    path = tmp_path / "p.csv"
    path.write_text("sku,name,price,stock\nkit-1,Kettle,26.00,4\nKIT-2,Mug,4.99,100\n")
    kept = services.imports.run(actor, "products", path)
    assert kept.existing == 2 and _stock(services, "KIT-1") == 10
    report = services.imports.run(actor, "products", path, update=True)
    assert (report.updated, report.unchanged, report.stock_movements) == (1, 1, 1)
    assert _stock(services, "KIT-1") == 4
    price = services.store.query_one("SELECT price_cents FROM products WHERE sku = 'KIT-1'")[0]
    last = services.store.query_one(
        "SELECT kind, quantity, stock_after FROM stock_movements ORDER BY id DESC LIMIT 1"
    )
    assert price == 2600 and tuple(last) == ("import", -6, 4)


def _stock(services, sku):
    return services.store.query_one("SELECT stock FROM products WHERE sku = ?", (sku,))[0]


def test_purchases_import_history_without_touching_stock(services, actor):
    run(services, actor, "customers", "customers_bom.csv")
    run(services, actor, "products", "products.csv")
    stock_before = services.store.query("SELECT id, stock FROM products ORDER BY id")
    moves_before = services.store.query_one("SELECT count(*) FROM stock_movements")[0]
    report = run(services, actor, "purchases", "purchases.csv")
    assert report.ok, report.text()
    assert (report.created, report.lines, report.cancelled, report.returns) == (3, 5, 1, 1)
    assert services.store.query("SELECT id, stock FROM products ORDER BY id") == stock_before
    assert services.store.query_one("SELECT count(*) FROM stock_movements")[0] == moves_before
    a2 = services.store.query_one("SELECT * FROM purchases WHERE order_ref = 'A-2'")
    assert a2["purchased_at"] == "2025-04-02 00:00:00" and a2["source"] == "import"
    lines = services.store.query(
        "SELECT quantity, unit_price_cents FROM purchase_lines WHERE purchase_id = ? ORDER BY id",
        (a2["id"],),
    )
    assert [tuple(line) for line in lines] == [(2, 499), (1, 650)]
    a3 = services.store.query_one("SELECT * FROM purchases WHERE order_ref = 'A-3'")
    assert (a3["purchased_at"], a3["cancelled_at"]) == (
        "2025-05-03 12:30:00",
        "2025-05-04 08:00:00",
    )
    returned = services.store.query_one(
        "SELECT r.quantity, r.returned_at, l.unit_price_cents"
        " FROM purchase_returns r JOIN purchase_lines l"
        " ON l.id = r.line_id"
    )
    assert tuple(returned) == (1, "2025-03-05 09:00:00", 450)
    again = run(services, actor, "purchases", "purchases.csv")
    assert (again.created, again.existing, again.existing_keys) == (0, 3, ["A-1", "A-2", "A-3"])
    assert services.store.query_one("SELECT count(*) FROM purchase_lines")[0] == 5
    # the imported purchases took ids of their own: a sale recorded after them takes the next
    sale = services.purchases.record(actor, a2["customer_id"], [(lines_product(services), 1)])
    last = services.store.query_one(
        "SELECT max(id) FROM purchase_lines WHERE purchase_id < ?", (sale.id,)
    )[0]
    assert sale.id > a3["id"] and sale.lines[0].id > last


def lines_product(services) -> int:
    return services.store.query_one("SELECT id FROM products WHERE stock > 0 ORDER BY id")[0]


def test_each_import_is_one_audit_entry_with_its_counts(services, actor):
    run(services, actor, "customers", "customers_bom.csv")
    run(services, actor, "products", "products.csv", dry_run=True)
    run(services, actor, "products", "products_bad.csv")
    rows = services.store.query("SELECT action, entity, after FROM audit_log")
    assert [(row["action"], row["entity"]) for row in rows] == [("import", "customer")]
    counts = json.loads(rows[0]["after"])
    assert counts == {**counts, "file": "customers_bom.csv", "rows": 3, "created": 3}


def test_cli_import_prints_the_report_and_exits_by_outcome(db_path, capsys):
    assert (
        main(["--db", str(db_path), "import", "customers", str(FIXTURES / "customers_bad.csv")])
        == 1
    )
    assert "line 6, name" in capsys.readouterr().out
    assert (
        main(
            [
                "--db",
                str(db_path),
                "import",
                "customers",
                str(FIXTURES / "customers_tab.csv"),
                "--dry-run",
            ]
        )
        == 0
    )
    assert "would add 3 customers" in capsys.readouterr().out
    assert main(["--db", str(db_path), "import", "products", str(FIXTURES / "nope.csv")]) == 2
    assert "error: file: no such file" in capsys.readouterr().err


def test_emails_are_stored_as_clean_email_gives_them(services, actor, tmp_path):
    good = ["A.B@Example.COM", "o'brien+tag@sub.example.co.uk", "a@xn--bcher-kva.example"]
    bad = ["a..b@example.com", ".a@example.com", "a@-bad.com", "a@x.test", "plain"]
    path = tmp_path / "emails.csv"
    path.write_text("name,email\n" + "".join(f"N,{email}\n" for email in good + bad))
    report = services.imports.run(actor, "customers", path)
    assert [problem.line for problem in report.problems] == [5, 6, 7, 8, 9]
    path.write_text("name,email\n" + "".join(f"N,{email}\n" for email in good))
    services.imports.run(actor, "customers", path)
    stored = [row["email"] for row in customers(services)]
    assert stored == [clean_email(email) for email in good]


def test_purchase_values_in_unusual_forms(services, actor, tmp_path):
    run(services, actor, "customers", "customers_bom.csv")
    run(services, actor, "products", "products.csv")
    path = tmp_path / "odd.csv"
    header = "order_ref,customer_email,sku,quantity,unit_price,purchased_at\n"
    path.write_text(
        header + "X-1,ada@example.com,KIT-1,\u00b2,1.00,2025-03-01\n"  # superscript two
        "X-2,ada@example.com,KIT-1,1,\uff11.00,2025-03-01\n"  # full-width one
        "X-3,ada@example.com,KIT-1,1,1.00,2025-02-30 10:00:00\n"
        "X-4,ada@example.com,KIT-1,1,1.00,2099-01-01\n"
    )
    report = services.imports.run(actor, "purchases", path)
    assert problems(report) == [
        (2, "quantity"),
        (3, "unit_price"),
        (4, "purchased_at"),
        (5, "purchased_at"),
    ]
    assert "future" in report.problems[3].reason
    path.write_text(header + "Y-1,ada@example.com,KIT-1,2,3.5,2025-03-01 10:00+01:00\n")
    assert services.imports.run(actor, "purchases", path).ok
    row = services.store.query_one(
        "SELECT purchased_at, unit_price_cents FROM purchases JOIN purchase_lines"
        " ON purchase_id = purchases.id WHERE order_ref = 'Y-1'"
    )
    assert tuple(row) == ("2025-03-01 09:00:00", 350)


@SQLITE_ONLY  # the FTS tables and the indexes the bulk load drops and builds again
def test_a_large_first_import_builds_indexes_once_and_search_works(services, actor, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text(
        "name,email,phone\n"
        + "".join(f"Person {n},person{n}@example.com,+44 20 7946 {n:04d}\n" for n in range(6000))
    )
    report = services.imports.run(actor, "customers", path)
    assert report.created == 6000
    services.store.conn.execute(
        "INSERT INTO customers_fts (customers_fts) VALUES ('integrity-check')"
    )
    found = services.customers.list(actor, search="person4321", status=None)
    assert [customer.email for customer in found.items] == ["person4321@example.com"]
    names = {row[0] for row in services.store.query("SELECT name FROM sqlite_master")}
    assert {"customers_status", "customers_fts_insert"} <= names
