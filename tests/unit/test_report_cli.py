"""The report command: formats, money as decimal text, one-line errors with exit status 2."""

from __future__ import annotations

import csv
import io
import json

import pytest

from crpm.__main__ import main
from crpm.permissions import SYSTEM


@pytest.fixture
def store_file(services, db_path):
    a = SYSTEM
    ann = services.customers.add(a, "Ann", "ann@example.com").id
    bob = services.customers.add(a, "Bob", "bob@example.com").id
    tea = services.products.add(a, "TEA", "Tea", "12.34", 500, category="drinks").id
    cup = services.products.add(a, "CUP", "Cup", "0.99", 500, category="ware").id
    services.purchases.record(a, ann, [(tea, 100), (cup, 1)], purchased_at="2024-03-01")
    services.purchases.record(a, bob, [(cup, 3)], purchased_at="2024-03-02 10:00:00")
    return str(db_path)


def run(capsys, *argv):
    status = main(["--db", argv[0], "report", *argv[1:]])
    out, err = capsys.readouterr()
    return status, out, err


def test_summary_json_has_the_issue_keys_and_money_text(store_file, capsys):
    status, out, _ = run(capsys, store_file, "summary", "--format", "json")
    data = json.loads(out)
    assert status == 0
    assert data["revenue"] == "1237.96" and data["gross_sales"] == "1237.96"
    assert data["returns"] == "0.00" and data["average_order_value"] == "618.98"
    assert (data["units_sold"], data["orders"]) == (104, 2)
    assert (data["active_customers"], data["new_customers"]) == (2, 2)


def test_top_customers_json_rows(store_file, capsys):
    _, out, _ = run(capsys, store_file, "top-customers", "--format", "json", "--limit", "1")
    rows = json.loads(out)
    assert rows == [{
        "customer_id": 1, "name": "Ann", "email": "ann@example.com", "orders": 1, "units": 101,
        "revenue": "1234.99", "first_purchase": "2024-03-01 00:00:00",
        "last_purchase": "2024-03-01 00:00:00",
    }]  # fmt: skip


def test_products_csv_and_range(store_file, capsys):
    status, out, _ = run(capsys, store_file, "products", "--format", "csv",
                         "--from", "2024-03-02", "--to", "2024-03-03")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert status == 0
    assert list(rows[0]) == ["product_id", "sku", "name", "category", "units_sold", "revenue"]
    assert [(r["sku"], r["units_sold"], r["revenue"]) for r in rows] == [("CUP", "3", "2.97")]


@pytest.mark.parametrize(
    "report", ["summary", "top-customers", "products", "trend", "stock", "rfm"]
)
def test_every_report_prints_a_table(store_file, capsys, report):
    status, out, err = run(capsys, store_file, report, "--grain", "month")
    assert status == 0 and err == "" and out.strip()


def test_trend_json_by_month(store_file, capsys):
    _, out, _ = run(capsys, store_file, "trend", "--grain", "month", "--format", "json")
    assert json.loads(out) == [{"period": "2024-03-01", "revenue": "1237.96", "units": 104}]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["nope"], "unknown report"),
        (["summary", "--from", "2024-13-01"], "from:"),
        (["summary", "--from", "2024-03-02", "--to", "2024-03-01"], "to:"),
        (["summary", "--format", "xml"], "--format"),
        (["top-customers", "--limit", "many"], "limit"),
    ],
)
def test_bad_input_is_one_line_and_status_2(store_file, capsys, argv, message):
    status, out, err = run(capsys, store_file, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_missing_store_file(tmp_path, capsys):
    status, _, err = run(capsys, str(tmp_path / "none.db"), "summary")
    assert status == 2 and "no store" in err and err.count("\n") == 1
    assert not (tmp_path / "none.db").exists()
