"""One dashboard for the whole API test session, on a temporary store, called with gradio_client.

The client logs in through the app's login route as the staff user `dashboard` (created here
through the account service), so every call carries a real session cookie.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from gradio_client import Client

_serial = itertools.count(1)
STAFF_LOGIN = ("dashboard", "api-staff-Secret-7g")
ADMIN_PASSWORD = "api-admin-Secret-8h"


@pytest.fixture(scope="session")
def app(launch_app, tmp_path_factory):
    url, services = launch_app(tmp_path_factory.mktemp("api") / "crpm.db")
    accounts = services.accounts
    accounts.ensure_admin(ADMIN_PASSWORD)
    accounts.create_user(accounts.actor_for("admin"), *STAFF_LOGIN, role="staff")
    client = Client(url, auth=STAFF_LOGIN, verbose=False)
    return SimpleNamespace(url=url, services=services, client=client)


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
