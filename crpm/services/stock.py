"""The stock movements ledger. Every change of a product's stock goes through `move` or `sell`."""

from __future__ import annotations

import sqlite3

from crpm.errors import InactiveRecord, NotFound, OutOfStock
from crpm.permissions import Actor


def move(
    conn: sqlite3.Connection,
    actor: Actor,
    product_id: int,
    quantity: int,
    kind: str,
    reason: str = "",
    purchase_id: int | None = None,
    at: str | None = None,
) -> int:
    """Change stock by `quantity` (signed) and write the movement; returns the stock after.

    The conditional update is what makes two clerks selling the last unit safe: only one of
    them finds `stock + quantity >= 0` still true.
    """
    row = conn.execute(
        "UPDATE products SET stock = stock + ?1 WHERE id = ?2 AND stock + ?1 >= 0 RETURNING stock",
        (quantity, product_id),
    ).fetchone()
    if row is None:
        current = conn.execute(
            "SELECT sku, name, stock FROM products WHERE id = ?", (product_id,)
        ).fetchone()
        raise OutOfStock(current["sku"], current["name"], current["stock"], -quantity)
    _write_movement(conn, actor, product_id, kind, quantity, row[0], purchase_id, reason, at)
    return row[0]


def sell(
    conn: sqlite3.Connection,
    actor: Actor,
    product_id: int,
    quantity: int,
    purchase_id: int,
    at: str,
) -> sqlite3.Row:
    """Take units of an active product for a sale and write the movement.

    One conditional update checks the status and the stock, takes the units and returns what
    the purchase line needs (sku, name, price_cents, stock after); the diagnostic read happens
    only when it refuses.
    """
    row = conn.execute(
        "UPDATE products SET stock = stock - ?1"
        " WHERE id = ?2 AND status = 'active' AND stock >= ?1"
        " RETURNING sku, name, price_cents, stock",
        (quantity, product_id),
    ).fetchone()
    if row is None:
        _refuse_sale(conn, product_id, quantity)
    _write_movement(conn, actor, product_id, "sale", -quantity, row["stock"], purchase_id, "", at)
    return row


def _refuse_sale(conn: sqlite3.Connection, product_id: int, quantity: int) -> None:
    product = conn.execute(
        "SELECT sku, name, status, stock FROM products WHERE id = ?", (product_id,)
    ).fetchone()
    if product is None:
        raise NotFound("product", product_id)
    if product["status"] != "active":
        raise InactiveRecord("product", product_id, product["sku"])
    raise OutOfStock(product["sku"], product["name"], product["stock"], quantity)


def _write_movement(
    conn, actor: Actor, product_id, kind, quantity, stock_after, purchase_id, reason, at
) -> None:
    conn.execute(
        "INSERT INTO stock_movements"
        " (product_id, kind, quantity, stock_after, purchase_id, reason, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            product_id,
            kind,
            quantity,
            stock_after,
            purchase_id,
            reason,
            at or conn.clock.stamp(),
            actor.username,
        ),
    )


def ledger_mismatches(conn: sqlite3.Connection) -> list[tuple[int, int, int]]:
    """Products whose stock differs from the sum of their movements: (id, stock, moved)."""
    rows = conn.execute(
        "SELECT p.id, p.stock, coalesce(sum(m.quantity), 0) AS moved FROM products p"
        " LEFT JOIN stock_movements m ON m.product_id = p.id GROUP BY p.id HAVING p.stock <> moved"
    ).fetchall()
    return [tuple(row) for row in rows]
