"""Fixtures shared by every layer: a temporary store with its services, and invariant checks."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from contextlib import contextmanager

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# The server's zone is the shop's default one (crpm.config.server_zone): fixed, so that a test's
# days are the same on every machine; the apps the tests launch inherit it.
os.environ["TZ"] = "UTC"
# Kept analytics mirrors of PostgreSQL stores (crpm/analytics/mirrorfile.py) go to a folder of
# the run's, not the user's cache; the apps the tests launch inherit it.
os.environ["CRPM_CACHE_DIR"] = tempfile.mkdtemp(prefix="crpm-test-cache-")
atexit.register(shutil.rmtree, os.environ["CRPM_CACHE_DIR"], True)

from crpm.clock import FixedClock  # noqa: E402
from crpm.permissions import SYSTEM, Actor  # noqa: E402
from crpm.services import Services, open_services  # noqa: E402
from tests.support import (  # noqa: E402, F401
    DAYS,
    STAFF,
    TODAY,
    assert_invariants,
    env_hasher,
    store_snapshot,
)


def pytest_collection_modifyitems(items):
    """Tests that drive a launched app over HTTP or in Chromium run once more if they fail: on
    a loaded 2-core machine a page can miss a wait that holds on a quiet one. The run's summary
    names every rerun ("R"), so a test that needed one is seen, not hidden."""
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("api"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("any_day") and "clock" in metafunc.fixturenames:
        metafunc.parametrize("clock", list(DAYS.values()), ids=list(DAYS), indirect=True)


@pytest.fixture
def clock(request) -> FixedClock:
    """The store's clock, standing at TODAY (or, in an `any_day` test, at each of DAYS)."""
    return FixedClock(getattr(request, "param", TODAY))


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "crpm.db"


@pytest.fixture
def pg_url():
    """A fresh schema on the local PostgreSQL server, as a store URL (tests/pgserver.py)."""
    from tests.pgserver import fresh_schema

    with fresh_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request, tmp_path):
    """Where a test's store lives, once per engine: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield tmp_path / "crpm.db"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def services_on_each_engine(store_location, clock) -> Services:
    """The services over a store of each engine. A module whose service runs on both says so:
    `@pytest.fixture` `def services(services_on_each_engine): return services_on_each_engine`."""
    services = open_services(store_location, clock)
    yield services
    assert_invariants(services.store)
    services.store.close()


@pytest.fixture
def services(db_path, clock) -> Services:
    services = open_services(db_path, clock)
    yield services
    assert_invariants(services.store)
    services.store.close()


@pytest.fixture
def actor() -> Actor:
    return SYSTEM


@pytest.fixture
def refused(services):
    """`with refused(ErrorType, match=...):` the block raises that error and changes nothing."""

    @contextmanager
    def check(error, match=None):
        before = store_snapshot(services.store)
        with pytest.raises(error, match=match) as info:
            yield info
        after = store_snapshot(services.store)
        changed = [table for table in before if before[table] != after.get(table)]
        assert changed == [], f"a refused operation changed {changed}"

    return check


class Shop:
    """Short factories for test records with unique e-mails and SKUs."""

    def __init__(self, services: Services, actor: Actor):
        self.services = services
        self.actor = actor
        self.count = 0

    def customer(self, name: str = "", **fields):
        self.count += 1
        fields.setdefault("email", f"customer{self.count}@example.com")
        return self.services.customers.add(self.actor, name or f"Customer {self.count}", **fields)

    def product(self, stock: int = 10, price: str = "9.99", **fields):
        self.count += 1
        fields.setdefault("sku", f"SKU-{self.count}")
        fields.setdefault("name", f"Product {self.count}")
        return self.services.products.add(self.actor, price=price, stock_quantity=stock, **fields)

    def sale(self, customer, *lines):
        """A purchase of (product, quantity) pairs."""
        pairs = [(product.id, quantity) for product, quantity in lines]
        return self.services.purchases.record(self.actor, customer.id, pairs)

    def audit(self, entity: str, entity_id: int) -> list[dict]:
        """The audit rows of one record, oldest first, with before/after decoded."""
        rows = self.services.store.query(
            "SELECT * FROM audit_log WHERE entity = ? AND entity_id = ? ORDER BY id",
            (entity, entity_id),
        )
        return [
            {**dict(row), "before": _json(row["before"]), "after": _json(row["after"])}
            for row in rows
        ]


def _json(text: str | None):
    return None if text is None else json.loads(text)


@pytest.fixture
def shop(services, actor) -> Shop:
    return Shop(services, actor)


@pytest.fixture
def cheap_passwords(monkeypatch):
    """Cheap scrypt parameters (same stored format) so tests that hash many passwords stay fast."""
    monkeypatch.setenv("CRPM_SCRYPT_N", "1024")


class People:
    """Logins for account and service-desk tests: an admin, two staff, customers A and B."""

    PASSWORDS = {
        "admin": "admin-Secret-1a",
        "sam": "staff-Secret-2b",
        "tess": "staff-Secret-3c",
        "alice@example.com": "alice-Secret-4d",
        "bob@example.com": "bob-Secret-5e",
    }

    def __init__(self, services: Services):
        services.accounts.hasher = env_hasher()
        accounts = services.accounts
        accounts.ensure_admin(self.PASSWORDS["admin"])
        self.admin = accounts.actor_for("admin")
        for name in ("sam", "tess"):
            accounts.create_user(self.admin, name, self.PASSWORDS[name], "staff")
        self.staff, self.staff2 = accounts.actor_for("sam"), accounts.actor_for("tess")
        self.a = accounts.register_customer(
            "Alice Able", "alice@example.com", self.PASSWORDS["alice@example.com"], "+1 555 0100"
        )
        self.b = accounts.register_customer(
            "Bob Baker", "bob@example.com", self.PASSWORDS["bob@example.com"], "+1 555 0199"
        )


@pytest.fixture
def people(cheap_passwords, services) -> People:
    return People(services)


@pytest.fixture(scope="session")
def launch_app():
    """Launch the dashboard in-process on a free port against a store; returns (url, services).
    The app's clock stands at TODAY unless a `clock` is given.

    `launch.close(services)` closes an app and checks its store before its fixture lets go of
    the store (a PostgreSQL schema is dropped then); every app still open is closed, and its
    store checked, at the end of the session.
    """
    import socket

    from crpm.config import Settings
    from crpm.ui import build_app
    from crpm.ui import launch as serve

    launched = []

    def launch(db_path, clock=None, **options):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        app_services = open_services(db_path, clock or FixedClock(TODAY))
        settings = Settings(db_path=db_path, port=port, **options)
        demo = build_app(app_services, settings)
        serve(demo, settings, prevent_thread_lock=True, quiet=True)
        launched.append((demo, app_services))
        return f"http://127.0.0.1:{port}/", app_services

    def close(app_services) -> None:
        for demo, services in [pair for pair in launched if pair[1] is app_services]:
            launched.remove((demo, services))
            demo.close()
            demo.crpm_context.close()
            assert_invariants(services.store)
            services.store.close()

    def demo_of(app_services):
        return next(demo for demo, services in launched if services is app_services)

    launch.close = close
    launch.demo_of = demo_of
    yield launch
    for _demo, app_services in list(launched):
        close(app_services)
