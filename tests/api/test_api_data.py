"""Import endpoints over HTTP: files uploaded with gradio_client, the answer, and the store
afterwards; and the Data tab's links to the export and backup routes."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from crpm.permissions import SYSTEM
from crpm.services import exporter
from crpm.services.importer import ImportService
from tests.support import store_snapshot

pytestmark = pytest.mark.api

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"


def rows_of(table: dict) -> list[dict]:
    return [dict(zip(table["headers"], row, strict=True)) for row in table["data"]]


def customers_csv(tmp_path, count: int = 3) -> tuple[Path, list[str]]:
    tag = uuid.uuid4().hex[:8]
    emails = [f"imp{tag}-{n}@example.com" for n in range(count)]
    path = tmp_path / f"customers-{tag}.csv"
    lines = ["email;name;city"] + [f"{email};Imported {n};Porto" for n, email in enumerate(emails)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")  # Excel's way
    return path, emails


def stored_emails(store, emails: list[str]) -> list[str]:
    marks = ",".join("?" for _ in emails)
    rows = store.query(
        f"SELECT email FROM customers WHERE email IN ({marks}) ORDER BY email", emails
    )
    return [row[0] for row in rows]


def test_check_lists_every_problem_with_its_line_and_writes_nothing(call, store):
    bad = FIXTURES / "customers_bad.csv"
    before = store_snapshot(store)
    summary, problems, preview = call("import_check", "customers", handle_file(bad), False)
    expected = ImportService(store).preview(SYSTEM, "customers", bad).problems
    assert expected, "the fixture has bad rows"
    assert [(row["Line"], row["Column"], row["Problem"]) for row in rows_of(problems)] == [
        (problem.line, problem.column, problem.reason) for problem in expected
    ]
    assert f"{len(expected)} problems" in summary and "nothing can be imported" in summary
    assert rows_of(preview)[0]["name"] == "Ada Lovelace"
    assert store_snapshot(store) == before


def test_check_names_unknown_columns_and_shows_the_first_rows(call, store):
    file = FIXTURES / "customers_unknown_column.csv"
    summary, problems, preview = call("import_check", "customers", handle_file(file), False)
    assert "loyalty_tier" in summary and "No problems" in summary
    assert "3 customers added" in summary
    assert rows_of(problems) == []
    first = rows_of(preview)[0]
    assert (first["Line"], first["name"], first["loyalty_tier"]) == (2, "Ada Lovelace", "gold")
    assert (
        store.query_one("SELECT count(*) FROM customers WHERE email = 'chen@example.net'")[0] == 0
    )


def test_run_imports_all_rows_once_and_a_second_run_adds_none(call, store, tmp_path):
    path, emails = customers_csv(tmp_path)
    summary, problems = call("import_run", "customers", handle_file(path), False)
    assert "Imported" in summary and "3 customers added" in summary
    assert rows_of(problems) == []
    assert stored_emails(store, emails) == sorted(emails)
    audit = store.query_one(
        "SELECT actor FROM audit_log WHERE action = 'import' ORDER BY id DESC LIMIT 1"
    )
    assert audit[0] == "dashboard"

    again, _problems = call("import_run", "customers", handle_file(path), False)
    assert "0 customers added" in again and "3 already in the store" in again
    assert stored_emails(store, emails) == sorted(emails)


def test_run_with_update_replaces_the_stored_values(call, store, tmp_path):
    path, emails = customers_csv(tmp_path, count=1)
    call("import_run", "customers", handle_file(path), False)
    path.write_text(f"email,name,city\n{emails[0]},Renamed Person,Lisbon\n", encoding="utf-8")
    summary, _problems = call("import_run", "customers", handle_file(path), True)
    assert "1 updated" in summary
    row = store.query_one("SELECT name, city FROM customers WHERE email = ?", (emails[0],))
    assert tuple(row) == ("Renamed Person", "Lisbon")


def test_a_refused_run_lists_the_problems_and_changes_nothing(call, store):
    before = store_snapshot(store)
    summary, problems = call(
        "import_run", "products", handle_file(FIXTURES / "products_bad.csv"), False
    )
    assert "Nothing was written" in summary
    assert rows_of(problems) and all(row["Line"] > 1 for row in rows_of(problems))
    assert store_snapshot(store) == before


def test_an_unusable_file_is_a_readable_refusal(call, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(AppError, match="File: is empty"):
        call("import_check", "customers", handle_file(empty), False)
    with pytest.raises(AppError, match="choose a CSV file"):
        call("import_check", "customers", None, False)


def test_the_data_tab_links_to_the_download_routes_not_to_files(app):
    """Exports and the backup are links the routes check on every download (test_api_downloads);
    no event returns such a file through Gradio's cache, whose route any logged-in user reaches."""
    config = httpx.get(f"{app.url}config", cookies=app.client.cookies, timeout=60).json()
    names = {dep["api_name"] for dep in config["dependencies"]}
    assert not names & {"export_csv", "download_backup"}
    values = {
        component["props"].get("elem_id"): str(component["props"].get("value"))
        for component in config["components"]
    }
    backup = ["download/backup"] if app.services.store.dialect == "sqlite" else []
    hrefs = re.findall(r'href="([^"]+)"', values["export-links"] + values.get("backup-link", ""))
    assert hrefs == [f"download/export/{kind}.csv" for kind in exporter.KINDS] + backup
    if not backup:
        assert "pg_dump --format=custom" in config_text(config)


def config_text(config: dict) -> str:
    return " ".join(str(component["props"].get("value")) for component in config["components"])
