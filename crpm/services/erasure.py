"""Erasure of a person (design: Erasure), in one transaction.

The login, its sessions, the customer's tickets, quotes and portal invitations go; the customer
row stays, with every identifying field replaced, so that the purchases attached to it (and
every revenue figure) are unchanged. Where the person's login name was written as text (who
recorded a purchase, who acted in the audit log) it becomes `erased-user-<id>`, and the audit
log's before/after JSON loses the person's identifying values. Admins only.

What the rows held before must not stay readable in the file either. SQLite zeroes the pages it
frees (`secure_delete`) and merges its search index; PostgreSQL keeps a changed or deleted row's
old version as a dead tuple, so the tables an erasure touches are vacuumed right after it
(ARCHITECTURE.md, "Erasure on PostgreSQL"). Nor in the analytics mirrors kept in files: the
erasure renews the store's epoch, so every mirror read before it is thrown away at its next
sync or start, and deletes at once the kept files no running mirror holds
(crpm/analytics/mirrorfile.py).
"""

from __future__ import annotations

import json
import re

from crpm.errors import Conflict, NotFound
from crpm.permissions import Actor, ensure
from crpm.services import audit

ERASED = "[erased]"
IDENTIFYING_KEYS = {
    "name",
    "email",
    "phone",
    "company",
    "address",
    "city",
    "country",
    "notes",
    "username",
}
# Columns that hold a login name as text, outside the audit log's JSON.
USERNAME_COLUMNS = (
    ("purchases", "recorded_by"),
    ("purchases", "cancelled_by"),
    ("purchase_returns", "recorded_by"),
    ("stock_movements", "created_by"),
    ("audit_log", "actor"),
)
# Free text staff or customers typed, which may mention the person by name, e-mail or phone.
FREE_TEXT_COLUMNS = (
    ("purchases", "cancel_reason"),
    ("purchase_returns", "reason"),
    ("stock_movements", "reason"),
    ("tickets", "subject"),
    ("tickets", "description"),
    ("ticket_events", "body"),
    ("quotes", "request_text"),
    ("quotes", "message"),
    ("credit_notes", "reason"),
)
MIN_SCRUBBED_LENGTH = 4  # shorter values would blank unrelated text
# Every table an erasure may change: the person's own rows, then where their name may be text.
TOUCHED_TABLES = tuple(
    dict.fromkeys(
        ("customers", "users", "sessions", "tickets", "ticket_events", "quotes", "quote_lines")
        + ("invitations", "invoices", "audit_log")
        + tuple(table for table, _ in USERNAME_COLUMNS + FREE_TEXT_COLUMNS)
    )
)


class ErasureService:
    """Erasing a person: accounts.erase_person finds who (and keeps the last admin), then
    calls `erase`."""

    def __init__(self, store):
        self.store = store

    def erase(self, actor: Actor, customer_id: int | None = None, user_id: int | None = None):
        """Erase the customer and/or the user (ids, already resolved); returns what went."""
        ensure(actor, "admin")
        from crpm.analytics import mirrorfile  # when needed: the services load no DuckDB

        sqlite = self.store.dialect == "sqlite"
        with self.store.write() as conn:
            if sqlite:
                conn.execute("PRAGMA secure_delete = ON")  # freed pages are zeroed, not readable
            customer, user = _people(conn, customer_id, user_id)
            values = _identifying_values(customer, user)
            erased = {"customer_id": customer and customer["id"], "user_id": user and user["id"]}
            if customer:
                erased.update(_drop_desk_records(conn, customer["id"]))
            if user:
                _forget_login(conn, user)
            if customer:
                _anonymise_customer(conn, customer["id"])
            if customer and sqlite:
                # Merge the search index so the old tokens are gone from its segments, not
                # just marked.
                conn.execute("INSERT INTO customers_fts (customers_fts) VALUES ('optimize')")
            _scrub_audit(conn, customer, user, values)
            _scrub_free_text(conn, values)
            entity, entity_id = ("customer", customer["id"]) if customer else ("user", user["id"])
            audit.record(conn, actor, "erase", entity, entity_id, after=erased)
            mirrorfile.renew_epoch(conn)
        if not sqlite:
            _vacuum(self.store)
        mirrorfile.outdate_kept(self.store)
        return erased


def _vacuum(store) -> None:
    """Free the old versions of the rows the erasure changed (VACUUM runs outside any
    transaction: a caller that wrapped the erasure in its own unit of work vacuums after it)."""
    if not store.in_write:
        store.conn.execute(f"VACUUM {', '.join(TOUCHED_TABLES)}")


def _people(conn, customer_id: int | None, user_id: int | None):
    """The customer row and user row to erase; each implies the other when linked."""
    user = None
    if user_id is not None:
        user = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        if user is None:
            raise NotFound("user", user_id)
        if customer_id is not None and user["customer_id"] != customer_id:
            raise Conflict("user", f"user #{user_id} is not customer #{customer_id}'s login")
        customer_id = user["customer_id"]
    customer = None
    if customer_id is not None:
        customer = conn.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
        if customer is None:
            raise NotFound("customer", customer_id)
        if customer["status"] == "erased":
            raise Conflict("customer", f"customer #{customer_id} is already erased")
        if user is None:
            user = conn.execute(
                "SELECT * FROM users WHERE customer_id = ?", (customer_id,)
            ).fetchone()
    return customer, user


def _identifying_values(customer, user) -> list[str]:
    found = [customer[key] for key in ("name", "email", "phone", "address")] if customer else []
    found += [user["username"]] if user else []
    return sorted({value for value in found if len(value or "") >= MIN_SCRUBBED_LENGTH})


def _drop_desk_records(conn, customer_id: int) -> dict:
    tickets = conn.execute(
        "SELECT count(*) FROM tickets WHERE customer_id = ?", (customer_id,)
    ).fetchone()[0]
    conn.execute(
        "DELETE FROM ticket_events WHERE ticket_id IN"
        " (SELECT id FROM tickets WHERE customer_id = ?)",
        (customer_id,),
    )
    conn.execute("DELETE FROM tickets WHERE customer_id = ?", (customer_id,))
    quotes = conn.execute(
        "SELECT count(*) FROM quotes WHERE customer_id = ?", (customer_id,)
    ).fetchone()[0]
    conn.execute(
        "DELETE FROM quote_lines WHERE quote_id IN (SELECT id FROM quotes WHERE customer_id = ?)",
        (customer_id,),
    )
    conn.execute("DELETE FROM quotes WHERE customer_id = ?", (customer_id,))
    conn.execute("DELETE FROM invitations WHERE customer_id = ?", (customer_id,))
    return {"tickets": tickets, "quotes": quotes}


def _forget_login(conn, user) -> None:
    """Delete the login and its sessions; rows naming it by id fall back to NULL (schema)."""
    conn.execute("DELETE FROM sessions WHERE user_id = ?", (user["id"],))
    conn.execute("DELETE FROM users WHERE id = ?", (user["id"],))
    placeholder = f"erased-user-{user['id']}"
    for table, column in USERNAME_COLUMNS:
        conn.execute(
            f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (placeholder, user["username"])
        )


def _anonymise_customer(conn, customer_id: int) -> None:
    conn.execute(
        "UPDATE customers SET name = ?, email = ?, phone = '', company = '', address = '',"
        " city = '', country = '', notes = '', status = 'erased', updated_at = ? WHERE id = ?",
        (
            f"Erased customer #{customer_id}",
            f"erased-{customer_id}@invalid",
            conn.clock.stamp(),
            customer_id,
        ),
    )
    # Issued documents never change, but for this: they name the anonymised customer now.
    party = {"name": f"Erased customer #{customer_id}", "lines": []}
    conn.execute(
        "UPDATE invoices SET customer = ?"
        " WHERE purchase_id IN (SELECT id FROM purchases WHERE customer_id = ?)",
        (json.dumps(party), customer_id),
    )


def _scrub_audit(conn, customer, user, values: list[str]) -> None:
    """Blank the person's fields in audit rows about them and their values anywhere else."""
    own = []
    if customer:
        own.append(("customer", customer["id"]))
    if user:
        own.append(("user", user["id"]))
    for entity, entity_id in own:
        rows = conn.execute(
            "SELECT id, before, after FROM audit_log WHERE entity = ? AND entity_id = ?",
            (entity, entity_id),
        ).fetchall()
        _rewrite(conn, rows, values, by_key=True)
    for value in values:
        needle = json.dumps(value)[1:-1].lower()  # as it appears inside the stored JSON
        rows = conn.execute(
            "SELECT id, before, after FROM audit_log WHERE instr(lower(before), ?1) > 0"
            " OR instr(lower(after), ?1) > 0",
            (needle,),
        ).fetchall()
        _rewrite(conn, rows, values, by_key=False)


def _scrub_free_text(conn, values: list[str]) -> None:
    """Replace the person's values wherever free text mentions them (others' tickets too).

    Matched in Python: SQLite's lower() folds only ASCII, and names are often not.
    """
    if not values:
        return
    pattern = _values_pattern(values)
    for table, column in FREE_TEXT_COLUMNS:
        rows = conn.execute(f"SELECT id, {column} AS text FROM {table} WHERE {column} <> ''")
        for row_id, text in [
            (row["id"], row["text"]) for row in rows if pattern.search(row["text"])
        ]:
            conn.execute(
                f"UPDATE {table} SET {column} = ? WHERE id = ?", (pattern.sub(ERASED, text), row_id)
            )


def _values_pattern(values: list[str]) -> re.Pattern:
    return re.compile("|".join(map(re.escape, values)), re.IGNORECASE)


def _rewrite(conn, rows, values: list[str], by_key: bool) -> None:
    """Rewrite audit rows; `by_key` blanks identifying fields whatever their value."""
    pattern = _values_pattern(values) if values else None
    keys = IDENTIFYING_KEYS if by_key else set()
    for row in rows:
        before, after = (_scrub_json(row[column], pattern, keys) for column in ("before", "after"))
        if (before, after) != (row["before"], row["after"]):
            conn.execute(
                "UPDATE audit_log SET before = ?, after = ? WHERE id = ?",
                (before, after, row["id"]),
            )


def _scrub_json(text: str | None, pattern: re.Pattern | None, keys: set) -> str | None:
    if text is None:
        return None
    return json.dumps(_scrub(json.loads(text), pattern, keys), sort_keys=True, default=str)


def _scrub(value, pattern: re.Pattern | None, keys: set, key: str = ""):
    if isinstance(value, dict):
        return {name: _scrub(item, pattern, keys, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, pattern, keys) for item in value]
    if isinstance(value, str) and value and key in keys:
        return ERASED
    if isinstance(value, str) and pattern is not None:
        return pattern.sub(ERASED, value)
    return value
