"""Tax rates and the shop's settings (its details on documents, whether prices include tax,
the default rate, its time zone and locale).

A rate's percentage never changes once created: a line keeps the rate it was sold at, and a rate
that should no longer be used is retired. Retired rates stay on past lines and documents.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from crpm.config import server_zone
from crpm.errors import Conflict, NotFound, ValidationError
from crpm.models import AsDict, clean_text, parse_id
from crpm.permissions import Actor, ensure
from crpm.pricing import parse_rate
from crpm.services import audit
from crpm.shoplocale import DEFAULT_LOCALE, ShopLocale, check_locale, check_zone

SHOP_FIELDS = {  # setting -> the label a person sees (models.TEXT_LIMITS has its length)
    "name": "shop name",
    "address": "shop address",
    "tax_number": "tax number",
    "payment_note": "payment note",
}


@dataclass(frozen=True)
class TaxRate:
    id: int
    name: str
    percent: Decimal
    status: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.percent.normalize():f}%)"

    def to_dict(self) -> dict:
        return {**asdict(self), "percent": f"{self.percent.normalize():f}", "label": self.label}


@dataclass(frozen=True)
class ShopSettings(AsDict):
    name: str = ""
    address: str = ""
    tax_number: str = ""
    payment_note: str = ""
    prices_include_tax: bool = False
    default_tax_rate_id: int | None = None
    time_zone: str = "UTC"  # IANA name: the shop's days and the times people see
    locale: str = DEFAULT_LOCALE  # how numbers and money are written and read

    def shop_locale(self, symbol: str = "") -> ShopLocale:
        return ShopLocale(self.time_zone, self.locale, symbol)


def _rate(row) -> TaxRate:
    return TaxRate(row["id"], row["name"], Decimal(row["percent"]), row["status"])


def read_settings(conn) -> ShopSettings:
    """The shop's settings inside any transaction (sales read them as they sell)."""
    values = dict(conn.execute("SELECT key, value FROM shop_settings").fetchall())
    default = values.get("default_tax_rate_id")
    return ShopSettings(
        **{key: values.get(key, "") for key in SHOP_FIELDS},
        prices_include_tax=values.get("prices_include_tax") == "1",
        default_tax_rate_id=int(default) if default else None,
        time_zone=values.get("time_zone") or server_zone(),
        locale=values.get("locale") or DEFAULT_LOCALE,
    )


def rates_for(conn, product_ids: list[int]) -> dict[int, Decimal]:
    """The rate each product sells at now: its own, else the shop's default, else zero."""
    terms = sale_terms(conn, product_ids, read_settings(conn).default_tax_rate_id)
    return {product_id: rate for product_id, (_, rate) in terms.items()}


def sale_terms(conn, product_ids: list[int], default_rate_id) -> dict[int, tuple[int, Decimal]]:
    """Each product's price now (cents) and the rate it sells at: its own, else the shop's
    default (`default_rate_id`), else zero."""
    if not product_ids:  # `IN ()` is SQLite's alone
        return {}
    marks = ", ".join("?" * len(product_ids))
    rows = conn.execute(
        f"SELECT p.id, p.price_cents, t.percent FROM products p LEFT JOIN tax_rates t"
        f" ON t.id = coalesce(p.tax_rate_id, ?) WHERE p.id IN ({marks})",
        (default_rate_id, *product_ids),
    ).fetchall()
    return {row["id"]: (row["price_cents"], Decimal(row["percent"] or 0)) for row in rows}


class TaxService:
    def __init__(self, store):
        self.store = store

    # --- rates ----------------------------------------------------------------------

    def add_rate(self, actor: Actor, name, percent) -> TaxRate:
        ensure(actor, "manage_records")
        name = clean_text(name, "name", required=True)
        percent = parse_rate(percent)
        with self.store.write() as conn:
            if conn.execute("SELECT 1 FROM tax_rates WHERE name = ?", (name,)).fetchone():
                raise Conflict("name", "a tax rate with this name already exists")
            rate_id = conn.execute(
                "INSERT INTO tax_rates (name, percent, created_at) VALUES (?, ?, ?)",
                (name, f"{percent.normalize():f}", conn.clock.stamp()),
            ).lastrowid
            audit.record(conn, actor, "create", "tax_rate", rate_id, after={"name": name})
        return self.get_rate(actor, rate_id)

    def rates(self, actor: Actor, include_retired: bool = False) -> list[TaxRate]:
        """Rates by name; retired ones only when asked (past lines still name them)."""
        ensure(actor, "read_records")
        where = "" if include_retired else "WHERE status = 'active'"
        order = "CAST(percent AS REAL), name"  # the percent is decimal text
        rows = self.store.query(f"SELECT * FROM tax_rates {where} ORDER BY {order}")
        return [_rate(row) for row in rows]

    def get_rate(self, actor: Actor, rate_id) -> TaxRate:
        ensure(actor, "read_records")
        rate_id = parse_id(rate_id, "tax rate")
        row = self.store.query_one("SELECT * FROM tax_rates WHERE id = ?", (rate_id,))
        if row is None:
            raise NotFound("tax rate", rate_id)
        return _rate(row)

    def retire_rate(self, actor: Actor, rate_id) -> TaxRate:
        """No new sale takes a retired rate; products on it fall back to the shop's default."""
        rate = self.get_rate(actor, rate_id)
        ensure(actor, "manage_records")
        with self.store.write() as conn:
            if read_settings(conn).default_tax_rate_id == rate.id:
                raise Conflict("tax rate", "choose another default rate before retiring this one")
            conn.execute("UPDATE tax_rates SET status = 'retired' WHERE id = ?", (rate.id,))
            conn.execute("UPDATE products SET tax_rate_id = NULL WHERE tax_rate_id = ?", (rate.id,))
            audit.record(conn, actor, "retire", "tax_rate", rate.id, after={"status": "retired"})
        return self.get_rate(actor, rate.id)

    def set_product_rate(self, actor: Actor, product_id, rate_id) -> None:
        """A product's own rate; None (or empty) sells it at the shop's default."""
        ensure(actor, "manage_records")
        product_id = parse_id(product_id, "product")
        rate = None if rate_id in (None, "") else self._active(rate_id)
        with self.store.write() as conn:
            before = conn.execute(
                "SELECT tax_rate_id FROM products WHERE id = ?", (product_id,)
            ).fetchone()
            if before is None:
                raise NotFound("product", product_id)
            conn.execute(
                "UPDATE products SET tax_rate_id = ? WHERE id = ?",
                (rate and rate.id, product_id),
            )
            audit.record(
                conn,
                actor,
                "update",
                "product",
                product_id,
                {"tax_rate_id": before[0]},
                {"tax_rate_id": rate and rate.id},
            )

    def _active(self, rate_id) -> TaxRate:
        rate = self.get_rate(SYSTEM_READER, rate_id)
        if rate.status != "active":
            raise ValidationError("tax rate", f"{rate.name} is retired")
        return rate

    # --- shop settings ---------------------------------------------------------------

    def settings(self, actor: Actor) -> ShopSettings:
        ensure(actor, "read_records")
        return read_settings(self.store.conn)

    def shop_locale(self, symbol: str = "") -> ShopLocale:
        """The shop's time zone and locale (with `symbol`, how it writes money): what every page
        shows times and amounts by, a customer's included, so it asks no permission."""
        return read_settings(self.store.conn).shop_locale(symbol)

    def update_settings(self, actor: Actor, **changes) -> ShopSettings:
        """Change some of the shop's settings (admins): SHOP_FIELDS, prices_include_tax,
        default_tax_rate_id, time_zone (IANA name), locale (en_US, de_DE, ...)."""
        ensure(actor, "admin")
        values = {}
        for key, value in changes.items():
            if key in SHOP_FIELDS:
                values[key] = clean_text(value, SHOP_FIELDS[key])
            elif key == "prices_include_tax":
                values[key] = "1" if value in (True, 1, "1", "true", "yes") else "0"
            elif key == "default_tax_rate_id":
                values[key] = "" if value in (None, "") else str(self._active(value).id)
            elif key == "time_zone":
                values[key] = check_zone(value, "time zone")
            elif key == "locale":
                values[key] = check_locale(value, "locale")
            else:
                raise ValidationError(key, "is not a shop setting")
        with self.store.write() as conn:
            before = read_settings(conn).to_dict()
            conn.executemany(
                "INSERT INTO shop_settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                values.items(),
            )
            after = read_settings(conn).to_dict()
            audit.record(conn, actor, "update", "shop_settings", None, before, after)
        return read_settings(self.store.conn)


SYSTEM_READER = Actor(username="system", role="staff")
