"""The export and backup download routes (crpm/ui/downloads.py) against the running app: who may
follow them (checked on every download), what the files hold, and that nothing stays behind."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import stat
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from crpm.errors import PermissionDenied
from crpm.permissions import SYSTEM, Actor
from crpm.services import exporter
from tests.api.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.api

KINDS = ("customers", "products", "purchases", "movements", "tickets")
FORMULA_NAME = '=HYPERLINK("http://evil.example","click")'


def login(app, username: str, password: str) -> dict:
    answer = httpx.post(f"{app.url}login", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return dict(answer.cookies)


@pytest.fixture(scope="module")
def cookies(app) -> dict:
    """Session cookies by role: anonymous (none), a customer, staff, admin."""
    email, password = f"nodl{uuid.uuid4().hex[:6]}@example.com", "downloads-Secret-31"
    app.services.accounts.register_customer("Download Denied", email, password)
    return {
        "anonymous": {},
        "customer": login(app, email, password),
        "staff": dict(app.client.cookies),
        "admin": login(app, "admin", ADMIN_PASSWORD),
    }


def get(app, route: str, cookies: dict) -> httpx.Response:
    return httpx.get(f"{app.url}{route}", cookies=cookies, timeout=60)


@pytest.mark.parametrize("kind", KINDS)
def test_an_export_is_for_staff_and_admins_only(app, cookies, kind):
    route = f"download/export/{kind}.csv"
    assert get(app, route, cookies["anonymous"]).status_code == 401
    refused = get(app, route, cookies["customer"])
    assert refused.status_code == 403 and "permission denied" in refused.json()["error"]
    for role in ("staff", "admin"):
        answer = get(app, route, cookies[role])
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/csv")
        disposition = answer.headers["content-disposition"]
        assert disposition.startswith(f'attachment; filename="crpm-{kind}-20')
        assert disposition.endswith('.csv"')


def test_an_export_is_streamed_and_holds_what_the_exporter_writes(
    app, call, cookies, store, new_customer, new_product
):
    customer_id, product_id = new_customer(FORMULA_NAME), new_product(price="7.25", stock=9)
    call("record_purchase", customer_id, [{"product_id": product_id, "quantity": 3}])
    for kind in KINDS:
        answer = get(app, f"download/export/{kind}.csv", cookies["staff"])
        assert answer.headers.get("transfer-encoding") == "chunked"  # no length known up front
        expected = io.StringIO()
        exporter.ExportService(store).export(SYSTEM, kind, expected)
        assert answer.text == expected.getvalue(), kind

    customers = rows(get(app, "download/export/customers.csv", cookies["staff"]))
    assert len(customers) == store.query_one("SELECT count(*) FROM customers")[0]
    assert "'" + FORMULA_NAME in [row["name"] for row in customers]  # inert in a spreadsheet
    purchases = rows(get(app, "download/export/purchases.csv", cookies["staff"]))
    line = next(row for row in purchases if row["customer_name"] == "'" + FORMULA_NAME)
    assert (line["quantity"], line["unit_price"], line["line_total"]) == ("3", "7.25", "21.75")


def rows(answer: httpx.Response) -> list[dict]:
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


def test_the_export_comes_in_chunks_after_the_checks(store, monkeypatch):
    """What the route streams: the header once the permission and the snapshot are checked,
    then one chunk per FETCH_ROWS rows, as they are read."""
    monkeypatch.setattr(exporter, "FETCH_ROWS", 2)
    chunks = list(exporter.ExportService(store).stream(SYSTEM, "customers"))
    total = store.query_one("SELECT count(*) FROM customers")[0]
    assert chunks[0].startswith("name,email,") and chunks[0].count("\n") == 1
    assert len(chunks) == 1 + -(-total // 2)
    with pytest.raises(PermissionDenied):
        next(exporter.ExportService(store).stream(Actor("someone", "customer"), "customers"))


def test_the_first_rows_arrive_while_the_export_is_still_running(app, cookies, monkeypatch):
    """The rest of the export is held until the client has read the first rows: a response
    buffered anywhere on the way would never get them to it (read timeout)."""
    release, batches = threading.Event(), exporter._safe_batches

    def held(header, cursor):
        rest = batches(header, cursor)
        yield next(rest)
        assert release.wait(10), "the client never got the first rows"
        yield from rest

    monkeypatch.setattr(exporter, "_safe_batches", held)
    monkeypatch.setattr(exporter, "FETCH_ROWS", 1)
    route = f"{app.url}download/export/customers.csv"
    with httpx.stream("GET", route, cookies=cookies["staff"], timeout=5) as answer:
        text = answer.iter_text()
        first = next(text)
        release.set()
        whole = first + "".join(text)
    assert first.startswith("name,email,") and len(whole) > len(first)


def test_an_unknown_export_is_not_found(app, cookies):
    answer = get(app, "download/export/passwords.csv", cookies["staff"])
    assert answer.status_code == 404 and "passwords" in answer.json()["error"]


def test_a_backup_is_for_admins_only(app, cookies):
    assert get(app, "download/backup", cookies["anonymous"]).status_code == 401
    for role in ("customer", "staff"):
        refused = get(app, "download/backup", cookies[role])
        assert refused.status_code == 403, role
        assert "permission denied" in refused.json()["error"]


def test_a_backup_is_a_sound_copy_and_its_temp_file_is_removed(
    app, cookies, store, tmp_path, monkeypatch
):
    """On SQLite the download is a copy of the file; a PostgreSQL store is backed up with
    pg_dump, and the download says so (the Data tab shows the commands instead of the link)."""
    folders = watch_temp_folders(monkeypatch)
    answer = get(app, "download/backup", cookies["admin"])
    if store.dialect == "postgresql":
        assert answer.status_code == 400 and "pg_dump --format=custom" in answer.json()["error"]
        assert [gone(folder) for folder, _mode in folders] == [True]
        return
    assert answer.status_code == 200, answer.text
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="crpm-backup-20')
    copy = tmp_path / "backup.db"
    copy.write_bytes(answer.content)
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        purchases = conn.execute("SELECT id, customer_id FROM purchases ORDER BY id").fetchall()
    conn.close()
    assert purchases == [tuple(row) for row in store.query(
        "SELECT id, customer_id FROM purchases ORDER BY id")]  # fmt: skip
    [(folder, mode)] = folders
    assert mode == 0o700  # private to the app's user while it exists
    assert gone(folder), "the backup's temp folder is still there"


def watch_temp_folders(monkeypatch) -> list:
    """Record each temp folder made for a backup, with its permission bits."""
    made, real = [], tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        folder = real(*args, **kwargs)
        if "backup" in str(kwargs.get("prefix", "")):
            made.append((Path(folder), stat.S_IMODE(os.stat(folder).st_mode)))
        return folder

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    return made


def gone(path: Path, seconds: float = 5.0) -> bool:
    """The folder is removed after the response is sent, so allow it a moment."""
    deadline = time.monotonic() + seconds
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()
