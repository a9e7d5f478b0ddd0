"""Helpers the tests share (fixtures live in conftest.py; import these from here).

Importing from `conftest` is ambiguous once several conftest.py files are loaded: the name
resolves to whichever came first.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from crpm import db
from crpm.config import Settings
from crpm.permissions import Actor
from crpm.services.passwords import PasswordHasher
from crpm.services.stock import ledger_mismatches

# The moment every test runs at unless it says otherwise: no test reads the calendar.
TODAY = "2026-06-15 10:00:00"
# Tests marked `any_day` run at each of these: the guard that results do not hang on the day.
DAYS = {
    "mid-june": TODAY,
    "leap-day": "2028-02-29 12:00:00",
    "new-years-eve-late": "2026-12-31 23:30:00",
    "two-years-ahead": "2028-11-30 08:00:00",
}

STAFF = Actor(username="clerk", role="staff")
# A test of a service on both engines (`services_on_each_engine`) that is about one engine only
# (its query plans, say), or whose service does not run on PostgreSQL yet.
SQLITE_ONLY = pytest.mark.parametrize("store_location", ["sqlite"], indirect=True)
POSTGRESQL_ONLY = pytest.mark.parametrize("store_location", ["postgresql"], indirect=True)
# The administrator login of the browser tests' dashboard (tests/browser/conftest.py, `site`).
BROWSER_ADMIN = ("admin", "browser-admin-Secret-6m")

# Debian's Chromium, headless, reaching nothing but the app (tests and bench/bench_browser.py).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def env_hasher() -> PasswordHasher:
    """The password hasher at the cost CRPM_SCRYPT_N asks for (tests set it low)."""
    return PasswordHasher(n=Settings.from_env().scrypt_n)


def assert_invariants(store) -> None:
    """Stock equals the ledger for every product; SQLite's own checks are clean."""
    assert ledger_mismatches(store.conn) == []
    assert store.check_integrity() == []
    orphans = store.query(
        "SELECT id FROM purchases pu WHERE NOT EXISTS"
        " (SELECT 1 FROM purchase_lines l WHERE l.purchase_id = pu.id)"
    )
    assert [row[0] for row in orphans] == []


# The ordinary tables of a store, by engine (on SQLite, FTS shadow tables included).
TABLES_SQL = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    " AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
    "postgresql": "SELECT table_name FROM information_schema.tables"
    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
}


def store_snapshot(store, leave_out: tuple[str, ...] = ()) -> dict:
    """Every row of every ordinary table but those left out, for before/after checks."""
    tables = [row[0] for row in store.query(TABLES_SQL[store.dialect]) if row[0] not in leave_out]
    return {
        table: [tuple(row) for row in store.query(f'SELECT * FROM "{table}"')] for table in tables
    }


# --- calling a launched app over HTTP, as a browser does ---------------------------------------


@dataclass
class Outcome:
    """One answer of the app: kind ok, error (a refusal or a crash, with its message),
    unauthorized (401) or http (any other status of the queue's join)."""

    kind: str
    message: str = ""
    data: object = None
    via: str = ""

    @property
    def refused(self) -> bool:
        text = self.message.lower()
        return self.kind == "unauthorized" or (
            self.kind == "error"
            and ("permission denied" in text or "not found" in text or not text)
        )

    def text(self) -> str:
        return json.dumps([self.message, self.data], default=str)


def cli_demo_data(db_path, customers: int, products: int, purchases: int) -> int:
    """Fill a store with demo data through the CLI (`python -m crpm demo-data`); its exit code."""
    from crpm.__main__ import main

    counts = {"customers": customers, "products": products, "purchases": purchases}
    options = [part for name, n in counts.items() for part in (f"--{name}", str(n))]
    return main(["--db", str(db_path), "demo-data", *options])


def log_in(url: str, username: str, password: str) -> dict:
    """The session cookie of a login through the app's /login route."""
    from crpm.ui.session import SESSION_COOKIE  # imports gradio: only where an app runs

    answer = httpx.post(f"{url}login", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {SESSION_COOKIE: answer.cookies[SESSION_COOKIE]}


def handler_name(api_name: str) -> str:
    """Gradio names a handler's events after the function, numbering the repeats."""
    return re.sub(r"_\d+$", "", api_name)


def served_events(url: str, cookies: dict) -> tuple[list[dict], dict[int, dict]]:
    """The app's events that run Python (config "dependencies" with a backend function) and its
    components by id, as the page reads them."""
    config = httpx.get(f"{url}config", cookies=cookies, timeout=60).json()
    components = {component["id"]: component for component in config["components"]}
    return [dep for dep in config["dependencies"] if dep.get("backend_fn")], components


def call_queue(
    http: httpx.Client, fn_index: int, args, event_data=None, timeout: float = 60
) -> Outcome:
    """A raw join of the queue with the client's cookie, then the answer from its event
    stream (what the page does on a click)."""
    session = uuid.uuid4().hex
    body = {
        "data": args,
        "fn_index": fn_index,
        "session_hash": session,
        "event_data": event_data,
        "trigger_id": None,
    }
    joined = http.post("gradio_api/queue/join", json=body, timeout=timeout)
    if joined.status_code == 401:
        return Outcome("unauthorized", "401", via="queue")
    if joined.status_code != 200:
        return Outcome("http", f"HTTP {joined.status_code}: {joined.text[:300]}", via="queue")
    params = {"session_hash": session}
    try:
        with http.stream("GET", "gradio_api/queue/data", params=params, timeout=timeout) as stream:
            if stream.status_code != 200:
                return Outcome("http", f"HTTP {stream.status_code} on queue/data", via="queue")
            for line in sse_lines(stream):
                if not line.startswith("data:"):
                    continue
                try:
                    message = json.loads(line[5:])
                except json.JSONDecodeError as bad:
                    return Outcome("http", f"not JSON ({bad}): {line[:200]!r}", via="queue")
                if message.get("msg") == "process_completed":
                    output = message.get("output") or {}
                    if message.get("success"):
                        return Outcome("ok", data=output.get("data"), via="queue")
                    return Outcome("error", str(output.get("error") or ""), via="queue")
    except httpx.RemoteProtocolError as broken:  # the server failed while streaming the answer
        return Outcome("http", f"the answer's stream broke: {broken}", via="queue")
    return Outcome("http", "the queue's stream ended without an answer", via="queue")


def sse_lines(stream):
    """The event stream's lines, split only at CR and LF as a browser's EventSource does
    (httpx's iter_lines also splits at U+0085, U+2028 and others, which JSON keeps raw)."""
    rest = ""
    for text in stream.iter_text():
        *lines, rest = re.split(r"\r\n|\r|\n", rest + text)
        yield from lines
    if rest:
        yield rest


def upload(url: str, cookies: dict, name: str, content: bytes) -> dict:
    """A file uploaded to the app (as the page would), as the FileData an event takes."""
    answer = httpx.post(
        f"{url}gradio_api/upload",
        files={"files": (name, content, "text/csv")},
        cookies=cookies,
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return {"path": answer.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}


# --- browser pages ---------------------------------------------------------------------


# What Gradio's page logs when it is left while its event stream is open: the browser closing the
# stream, not a fault of the app. Forgiven only while log_out() leaves the page.
STREAM_TEARDOWN = re.compile(
    r"^(AbortError: signal is aborted|Unexpected error Connection errored)"
)


def log_out(page):
    """Log out through the page's button and land on the login page; the stream teardown the
    page logs while it is being left is not counted as a console error."""
    before = len(page.crpm_problems.console)
    page.locator("#crpm-logout").click()
    from playwright.sync_api import expect

    expect(page.get_by_text("You are logged out.")).to_be_visible()
    logged = page.crpm_problems.console[before:]
    page.crpm_problems.console[before:] = [
        text for text in logged if not STREAM_TEARDOWN.match(text)
    ]


def copy_migrations_before(version: int, root: Path, dialect: str) -> None:
    """The shared files and the dialect's parts of every migration below `version`, as they
    lie under the migrations root, copied under `root`."""
    for number, _, files in db.migrations(dialect):
        for path in files if number < version else ():
            target = root / path.relative_to(db.MIGRATIONS_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)


ENGINES = ["sqlite", "postgresql"]


@contextmanager
def store_on(engine: str, folder: Path):
    """Where a launched app keeps its store: a SQLite file in `folder`, or a fresh PostgreSQL
    schema (tests/pgserver.py), dropped when the block ends (after the app is closed)."""
    if engine == "sqlite":
        yield folder / "crpm.db"
        return
    from tests.pgserver import fresh_schema

    with fresh_schema() as url:
        yield url
