"""One dashboard per store engine for the whole API test session, called with gradio_client:
every test that uses `app` runs on a SQLite file and on a fresh PostgreSQL schema.

The client logs in through the app's login route as the staff user `dashboard` (created here
through the account service), so every call carries a real session cookie.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from gradio_client import Client

from tests.support import ENGINES, store_on

_serial = itertools.count(1)
STAFF_LOGIN = ("dashboard", "api-staff-Secret-7g")
ADMIN_PASSWORD = "api-admin-Secret-8h"


@pytest.fixture(scope="session", params=ENGINES)
def api_store(request, tmp_path_factory):
    """Where the session's dashboard keeps its store, once per engine. Requested before
    launch_app, so the schema outlives the app that holds connections to it."""
    with store_on(request.param, tmp_path_factory.mktemp("api")) as location:
        yield location


@pytest.fixture(scope="session")
def app(api_store, launch_app):
    url, services = launch_app(api_store)
    accounts = services.accounts
    accounts.ensure_admin(ADMIN_PASSWORD)
    accounts.create_user(accounts.actor_for("admin"), *STAFF_LOGIN, role="staff")
    client = Client(url, auth=STAFF_LOGIN, verbose=False)
    yield SimpleNamespace(url=url, services=services, client=client)
    launch_app.close(services)


@pytest.fixture
def call(app):
    """call("add_customer", ...) -> the endpoint's answer."""

    def call(endpoint: str, *args):
        return app.client.predict(*args, api_name=f"/{endpoint}")

    return call


@pytest.fixture
def store(app):
    return app.services.store


def unique(word: str) -> str:
    return f"{word}{next(_serial)}"


@pytest.fixture
def new_customer(call):
    """Add a customer through the API; returns its id."""

    def add(name: str = "Ada Lovelace", **fields) -> int:
        email = fields.pop("email", f"{unique('ada')}@example.com")
        values = [
            fields.get(key, "")
            for key in ("phone", "company", "address", "city", "country", "notes")
        ]
        return call("add_customer", name, email, *values)[0]

    return add


@pytest.fixture
def new_product(call):
    """Add a product through the API; returns its id."""

    def add(price: str = "12.50", stock: int = 10, reorder: int = 2, category: str = "Kitchen"):
        return call("add_product", unique("SKU-"), "Blue mug", category, "", price, reorder, stock)[
            0
        ]

    return add
