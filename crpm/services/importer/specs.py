"""What each kind of file holds: its key, its columns and the staging table of clean values."""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("customers", "products", "purchases")


def scratch_sql(dialect: str, statement: str) -> str:
    """A `CREATE TABLE` / `CREATE INDEX` of the import's scratch tables, for the store's engine:
    in the scratch file attached as `staging` on SQLite, temporary tables of the connection on
    PostgreSQL. Either way the import's other SQL names them alone (`staged`, `orders`)."""
    if dialect == "sqlite":
        return re.sub(r"^CREATE (TABLE|INDEX) ", r"CREATE \1 staging.", statement)
    return statement.replace("CREATE TABLE ", "CREATE TEMP TABLE ").replace(" WITHOUT ROWID", "")


@dataclass(frozen=True)
class Spec:
    kind: str
    entity: str
    key: str  # the column that identifies a row in the store
    required: tuple[str, ...]
    optional: tuple[str, ...]
    staging: str  # CREATE TABLE for the staged, clean values
    informational: tuple[str, ...] = ()  # written by the export for people; ignored on import

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


SPECS = {
    "customers": Spec(
        "customers",
        "customer",
        "email",
        ("name", "email"),
        ("phone", "company", "address", "city", "country", "notes", "status"),
        "CREATE TABLE staged (line INTEGER PRIMARY KEY, email TEXT COLLATE NOCASE, name TEXT,"
        " phone TEXT, company TEXT, address TEXT, city TEXT, country TEXT, notes TEXT,"
        " status TEXT)",
    ),
    "products": Spec(
        "products",
        "product",
        "sku",
        ("sku", "name", "price"),
        ("stock", "category", "reorder_level", "description", "status"),
        "CREATE TABLE staged (line INTEGER PRIMARY KEY, sku TEXT COLLATE NOCASE, name TEXT,"
        " price_cents INTEGER, stock INTEGER, category TEXT, reorder_level INTEGER,"
        " description TEXT, status TEXT)",
    ),
    "purchases": Spec(
        "purchases",
        "purchase",
        "order_ref",
        ("order_ref", "customer_email", "sku", "quantity", "unit_price", "purchased_at"),
        (
            "cancelled_at",
            "returned_quantity",
            "returned_at",
            "discount",
            "tax_rate",
            "prices_include_tax",
        ),
        "CREATE TABLE staged (line INTEGER PRIMARY KEY, order_ref TEXT, customer_id INTEGER,"
        " product_id INTEGER, quantity INTEGER, unit_price_cents INTEGER, purchased_at TEXT,"
        " cancelled_at TEXT, returned_quantity INTEGER, returned_at TEXT, discount_cents INTEGER,"
        " tax_rate TEXT, inclusive INTEGER, net_cents INTEGER, tax_cents INTEGER,"
        " returned_discount_cents INTEGER, returned_net_cents INTEGER, returned_tax_cents INTEGER)",
        ("customer_name", "product_name", "category", "net", "tax", "line_total"),
    ),
}
