"""The checks: the header, each row (into the clean values that are staged), and the checks that
need the whole file (a key twice, an order_ref whose rows disagree), run as SQL over the staging
table. The parsers are the ones every form uses (crpm/models.py, crpm/pricing.py)."""

from __future__ import annotations

from crpm.errors import ValidationError
from crpm.models import (
    clean_customer_fields,
    clean_email,
    clean_product_fields,
    parse_int,
    parse_money,
    parse_quantity,
    parse_time,
)
from crpm.pricing import Discount, LineInput, parse_rate, price_lines, returned_share
from crpm.services.importer.reading import MAX_COLUMNS
from crpm.services.importer.report import ImportReport, Problems
from crpm.services.importer.specs import Spec, scratch_sql
from crpm.services.records import STATUSES
from crpm.services.sqlparts import differs

ERASABLE = (*STATUSES, "erased")


def check_header(spec: Spec, header: list[str], report: ImportReport) -> None:
    """One pass over the names, after a cap on their number (a huge header was quadratic)."""
    if len(header) > MAX_COLUMNS:
        raise ValidationError(
            "header",
            f"{report.file} has more than {MAX_COLUMNS} columns"
            f" (a {spec.kind} file has {len(spec.columns)})",
        )
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise ValidationError("header", f"column {name!r} appears twice")
        seen.add(name)
    missing = [name for name in spec.required if name not in seen]
    if missing:
        raise ValidationError(
            "header",
            f"required column(s) missing: {', '.join(missing)} "
            f"(a {spec.kind} file needs {', '.join(spec.required)})",
        )
    known = set(spec.columns + spec.informational)
    report.unknown_columns = [name for name in header if name not in known]


YES_NO = {"": False, "0": False, "no": False, "false": False, "1": True, "yes": True, "true": True}


def _yes_no(value, column: str) -> bool:
    text = (value or "").strip().lower()
    if text not in YES_NO:
        raise ValidationError(column, "must be yes or no")
    return YES_NO[text]


def _priced_line(values: dict, quantity, price, returned, errors: list) -> tuple:
    """discount, rate, prices-include-tax, net and tax of a line as crpm/pricing.py prices it,
    and the share its returned units gave back; the columns are optional (none: no tax)."""
    discount = _checked(errors, parse_money, values.get("discount") or "0", "discount")
    rate = _checked(errors, parse_rate, values.get("tax_rate") or "0", "tax_rate")
    inclusive = _checked(errors, _yes_no, values.get("prices_include_tax"), "prices_include_tax")
    if None in (quantity, price, discount, rate, inclusive):
        return (None,) * 8
    line = LineInput(price, quantity, rate, Discount(cents=discount))
    try:
        (priced,) = price_lines([line], inclusive)
    except ValidationError as exc:
        errors.append(("discount", exc.reason))
        return (None,) * 8
    back = returned_share(priced, 0, returned) if returned else None
    rate_text = f"{rate.normalize():f}"
    shares = (back.discount_cents, back.net_cents, back.tax_cents) if back else (0, 0, 0)
    return (discount, rate_text, int(inclusive), priced.net_cents, priced.tax_cents, *shares)


def _status(value, allowed: tuple[str, ...] = STATUSES) -> str:
    text = (value or "").strip().lower() or "active"
    if text not in allowed:
        raise ValidationError("status", f"must be one of {', '.join(allowed)}")
    return text


class Validator:
    """Turns one CSV row into the staged tuple, or records its problems."""

    def __init__(self, spec: Spec, present: list[str], conn):
        self.spec, self.present = spec, present
        self.now = conn.clock.stamp()
        if spec.kind == "purchases":
            self.customers = _lookup(conn, "SELECT lower(email), id FROM customers")
            self.products = _lookup(conn, "SELECT lower(sku), id FROM products")

    def row(self, line: int, values: dict, problems: Problems) -> tuple | None:
        errors: list[tuple[str, str]] = []
        staged = getattr(self, f"_{self.spec.kind}")(values, errors)
        for column, reason in errors:
            problems.add(line, column, reason)
        return None if errors else (line, *staged)

    def _fields(self, cleaner, values: dict, errors: list, names) -> dict:
        cleaned = {}
        for name in names:
            try:
                cleaned.update(cleaner({name: values[name]}, partial=True))
            except ValidationError as exc:
                errors.append((exc.field, exc.reason))
        return cleaned

    def _customers(self, values: dict, errors: list) -> tuple:
        status = _checked(errors, _status, values.get("status"), ERASABLE)
        names = [n for n in self.present if n not in ("status", "email")]
        if status == "erased":  # an anonymised record from an export: its history needs it
            names.remove("name")
        clean = self._fields(clean_customer_fields, values, errors, names)
        if status == "erased":
            clean["name"], clean["email"] = values["name"].strip(), values["email"].strip()
        else:
            clean["email"] = _checked(errors, clean_email, values["email"])
        others = ("name", "phone", "company", "address", "city", "country", "notes")
        return (clean.get("email"), *(clean.get(name) for name in others), status)

    def _products(self, values: dict, errors: list) -> tuple:
        names = [
            n
            for n in self.present
            if n in ("sku", "name", "price", "category", "reorder_level", "description")
        ]
        clean = self._fields(clean_product_fields, values, errors, names)
        stock = None
        if "stock" in self.present:
            stock = _checked(errors, parse_int, (values["stock"] or "0").strip() or "0", "stock")
        status = _checked(errors, _status, values.get("status"))
        return (
            clean.get("sku"),
            clean.get("name"),
            clean.get("price_cents"),
            stock,
            clean.get("category"),
            clean.get("reorder_level"),
            clean.get("description"),
            status,
        )

    def _purchases(self, values: dict, errors: list) -> tuple:
        order_ref = values["order_ref"].strip()
        if not order_ref:
            errors.append(("order_ref", "is required (rows with one order_ref form a purchase)"))
        elif len(order_ref) > 64:
            errors.append(("order_ref", "is longer than 64 characters"))
        email = values["customer_email"].strip()
        customer_id = self.customers.get(email.lower())
        if customer_id is None:
            errors.append(
                ("customer_email", f"no customer with e-mail {email!r}" if email else "is required")
            )
        sku = values["sku"].strip()
        product_id = self.products.get(sku.lower())
        if product_id is None:
            errors.append(("sku", f"no product with SKU {sku!r}" if sku else "is required"))
        quantity = _checked(errors, parse_quantity, values["quantity"])
        price = _checked(errors, parse_money, values["unit_price"], "unit_price")
        purchased_at = _checked(errors, self._past_time, values["purchased_at"], "purchased_at")
        cancelled_at = self._optional_time(values, "cancelled_at", purchased_at, errors)
        returned, returned_at = self._returned(values, quantity, purchased_at, errors)
        return (
            order_ref,
            customer_id,
            product_id,
            quantity,
            price,
            purchased_at,
            cancelled_at,
            returned,
            returned_at,
            *_priced_line(values, quantity, price, returned, errors),
        )

    def _returned(self, values: dict, quantity, purchased_at, errors: list):
        text = (values.get("returned_quantity") or "").strip()
        if not text and not values.get("returned_at"):
            return 0, None
        returned = _checked(errors, parse_int, text or "0", "returned_quantity")
        returned_at = self._optional_time(values, "returned_at", purchased_at, errors)
        if returned and quantity and returned > quantity:
            errors.append(("returned_quantity", f"is more than the {quantity} bought"))
        if returned and not returned_at:
            errors.append(("returned_at", "is required when returned_quantity is given"))
        if returned_at and not returned:
            errors.append(("returned_quantity", "is required when returned_at is given"))
        return returned or 0, returned_at if returned else None

    def _optional_time(self, values: dict, column: str, purchased_at, errors: list):
        text = (values.get(column) or "").strip()
        if not text:
            return None
        moment = _checked(errors, self._past_time, text, column)
        if moment and purchased_at and moment < purchased_at:
            errors.append((column, "is before purchased_at"))
        return moment

    def _past_time(self, text: str, column: str) -> str:
        """parse_time, and no times in the future."""
        moment = parse_time(text, column)
        if moment > self.now:
            raise ValidationError(column, f"{text!r} is in the future")
        return moment


def _checked(errors: list, parse, *args):
    try:
        return parse(*args)
    except ValidationError as exc:
        errors.append((exc.field, exc.reason))
        return None


def _lookup(conn, sql: str) -> dict:
    """A two-column query as a dict, read as plain tuples (a million rows: no Row objects)."""
    return dict(conn.tuples(sql))


DUPLICATE_SQL = """
SELECT s.line, first.line FROM staged s
JOIN (SELECT {key}, min(line) AS line FROM staged GROUP BY {key} HAVING count(*) > 1)
  AS first ON first.{key} = s.{key} AND s.line > first.line
ORDER BY s.line LIMIT ?
"""
DUPLICATE_COUNT_SQL = (
    "SELECT CAST(coalesce(sum(n - 1), 0) AS INTEGER)"
    " FROM (SELECT count(*) AS n FROM staged GROUP BY {key}) AS keys"
)
ORDERS_SQL = (
    "CREATE TABLE orders (order_ref TEXT PRIMARY KEY, line INTEGER NOT NULL,"
    " new BOOLEAN NOT NULL DEFAULT TRUE) WITHOUT ROWID"
)
ORDER_MISMATCH_SQL = f"""
SELECT s.line, h.line,
       CASE WHEN s.customer_id <> h.customer_id THEN 'customer_email'
            WHEN s.purchased_at <> h.purchased_at THEN 'purchased_at'
            ELSE 'cancelled_at' END
FROM staged s JOIN orders o ON o.order_ref = s.order_ref
JOIN staged h ON h.line = o.line
WHERE s.customer_id <> h.customer_id OR s.purchased_at <> h.purchased_at
   OR {differs("s.cancelled_at", "h.cancelled_at")}
ORDER BY s.line
"""


def check_whole_file(conn, dialect: str, spec: Spec, problems: Problems) -> None:
    """Checks across rows: a key twice in the file; an order_ref whose rows disagree."""
    conn.execute(scratch_sql(dialect, f"CREATE INDEX staged_key ON staged ({spec.key}, line)"))
    if spec.kind == "purchases":
        conn.execute(scratch_sql(dialect, ORDERS_SQL))  # each order_ref, its first row's line
        conn.execute(
            "INSERT INTO orders (order_ref, line)"
            " SELECT order_ref, min(line) FROM staged GROUP BY order_ref"
        )
        reasons = {
            "customer_email": "belongs to another customer",
            "purchased_at": "has another purchased_at",
            "cancelled_at": "has another cancelled_at",
        }
        for line, first, column in conn.execute(ORDER_MISMATCH_SQL):
            problems.add(
                line,
                column,
                f"order_ref {reasons[column]} on line {first}"
                " (rows with one order_ref form one purchase)",
            )
        return
    count = conn.execute(DUPLICATE_COUNT_SQL.format(key=spec.key)).fetchone()[0]
    rows = conn.execute(DUPLICATE_SQL.format(key=spec.key), (problems.limit,)).fetchall()
    for line, first in rows:
        problems.add(line, spec.key, f"duplicate {spec.key} in the file (first on line {first})")
    problems.count += count - len(rows)
