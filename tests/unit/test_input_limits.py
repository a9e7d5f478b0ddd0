"""Hostile input from the outside security test (issue 13): odd digits, huge CSV headers and
fields, years outside the calendar the store can compare, report ranges without end."""

from __future__ import annotations

import time

import pytest

from crpm import importer
from crpm.__main__ import main
from crpm.errors import NotFound, ValidationError
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
        importer.run(services.store, actor, "customers", path)
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
