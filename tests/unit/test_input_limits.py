"""Hostile input from the outside security test (issue 13): odd digits, huge CSV headers and
fields, years outside the calendar the store can compare, report ranges without end."""

from __future__ import annotations

import time
from datetime import date

import pytest

from crpm.__main__ import main
from crpm.analytics.periods import day_after, day_start
from crpm.errors import NotFound, ValidationError
from crpm.models import parse_time
from crpm.services import importer
from crpm.ui.common import optional_id

# --- ids are ASCII digits only ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["²", "１", "#１", "٣", "1²"])
def test_an_id_box_takes_only_ascii_digits(text):
    with pytest.raises(ValidationError, match="ticket: .* is not an ID"):
        optional_id(text, "ticket")


def test_a_user_key_of_unicode_digits_is_a_name_not_an_id(services, people):
    accounts = services.accounts
    assert accounts.get_user(people.admin, "1").username == "admin"
    for text in ("²", "１"):
        with pytest.raises(NotFound):
            accounts.get_user(people.admin, text)
    with pytest.raises(NotFound):
        services.desk._user_id("１", "assignee")


# --- CSV files: a bounded header and bounded fields ------------------------------------------


def import_refusal(services, actor, path) -> str:
    with pytest.raises(ValidationError) as info:
        services.imports.run(actor, "customers", path)
    return str(info.value)


def test_a_header_of_40k_columns_is_refused_at_once(services, actor, tmp_path):
    path = tmp_path / "wide.csv"
    names = ["name", "email", *(f"c{i}" for i in range(40_000))]
    path.write_text(",".join(names) + "\nAnn,ann@example.com\n", encoding="utf-8")
    started = time.perf_counter()
    message = import_refusal(services, actor, path)
    assert message == (
        f"header: wide.csv has more than {importer.MAX_COLUMNS} columns"
        f" (a customers file has {len(importer.SPECS['customers'].columns)})"
    )
    assert time.perf_counter() - started < 5  # was 28 s: the duplicate check was quadratic


def test_a_header_line_past_the_byte_cap_is_refused_without_reading_it_whole(
    services, actor, tmp_path
):
    path = tmp_path / "long.csv"
    path.write_text("name,email," + "x" * (10 * 2**20) + "\nAnn,ann@example.com,\n")
    message = import_refusal(services, actor, path)
    assert message.startswith("header: the first line of long.csv is longer than")


def test_duplicate_columns_are_still_found(services, actor, tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("name,email,City,city\nAnn,ann@example.com,a,b\n")
    assert import_refusal(services, actor, path) == "header: column 'city' appears twice"


def test_a_field_over_the_csv_limit_is_refused_naming_the_line(services, actor, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text('name,email\nBob,bob@example.com\n"' + "x" * 200_000 + '",ann@example.com\n')
    message = import_refusal(services, actor, path)
    assert message == "file: big.csv line 3: a field is longer than 131,072 characters"
    assert services.customers.list(actor).total == 0


def test_the_cli_refuses_a_huge_field_without_a_traceback(db_path, tmp_path, capsys):
    path = tmp_path / "big.csv"
    path.write_text("name,email," + '"' + "x" * 200_000 + '"\nAnn,ann@example.com,\n')
    assert main(["--db", str(db_path), "import", "customers", str(path)]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "big.csv" in err


# --- dates: real dates, in the years 1900-9999 -----------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["0999-01-01", "0099-01-01 00:00:00", "1899-12-31 23:59:59", "0001-01-01T00:00:00+01:00"],
)
def test_a_year_before_1900_is_refused_naming_the_field(text):
    with pytest.raises(ValidationError, match=r"^from: .* outside the years 1900 to 9999$"):
        parse_time(text, "from")


def test_the_edges_of_the_year_range_are_dates_with_four_digit_years():
    assert parse_time("1900-01-01") == "1900-01-01 00:00:00"
    assert parse_time("9999-12-31 23:59:59") == "9999-12-31 23:59:59"
    with pytest.raises(ValidationError, match="outside the years"):
        parse_time("9999-12-31T23:00:00-05:00")  # UTC would be in the year 10000


def test_a_quote_cannot_be_valid_until_the_year_999(services, actor, shop, refused):
    ann, widget = shop.customer("Ann"), shop.product(stock=5)
    quote = services.desk.request_quote(actor, [(widget.id, 1)], customer_id=ann.id)
    with refused(ValidationError, match="^valid_until: .*outside the years"):
        services.desk.price_quote(actor, quote.id, {widget.id: "1.00"}, "0999-01-01")


def test_an_imported_year_0099_is_out_of_range_not_in_the_future(services, actor, shop, tmp_path):
    ann, widget = shop.customer("Ann"), shop.product(stock=5)
    path = tmp_path / "old.csv"
    path.write_text(
        "order_ref,customer_email,sku,quantity,unit_price,purchased_at\n"
        f"A1,{ann.email},{widget.sku},1,1.00,0099-01-01 00:00:00\n"
        f"A2,{ann.email},{widget.sku},1,1.00,0099-01-01\n"
    )
    report = services.imports.run(actor, "purchases", path)
    assert [str(p) for p in report.problems] == [
        f"line {line}, purchased_at: {text!r} is outside the years 1900 to 9999"
        for line, text in ((2, "0099-01-01 00:00:00"), (3, "0099-01-01"))
    ]


def test_the_dashboard_day_boxes_refuse_instead_of_overflowing():
    assert day_after("2024-02-28", "to") == "2024-02-29 00:00:00"
    assert day_after("9999-12-30", "to") == "9999-12-31 00:00:00"
    with pytest.raises(ValidationError, match="^to: .*9999-12-30 or earlier"):
        day_after("9999-12-31", "to")
    with pytest.raises(ValidationError, match="^from: .*outside the years"):
        day_start(date(999, 1, 1), "from")
    with pytest.raises(ValidationError, match="^from: "):
        day_start(1e20, "from")


def test_report_ranges_refuse_a_year_below_1900(services, actor):
    with pytest.raises(ValidationError, match="^from: .*outside the years"):
        services.purchases.list(actor, date_from="0999-01-01")
