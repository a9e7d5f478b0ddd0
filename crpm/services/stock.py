"""The stock movements ledger. Every change of a product's stock is written here: one at a time
by `move` and `sell` (dashboard, CLI, returns, cancellations), or many at once by
`record_movements` (an import, demo data). `products.stock` is the sum of a product's movements.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict

from crpm.errors import InactiveRecord, NotFound, OutOfStock
from crpm.permissions import Actor

# A movement row, in this order: (product_id, kind, quantity, stock_after, purchase_id, reason,
# created_at, created_by).
INSERT_MOVEMENT = (
    "INSERT INTO stock_movements"
    " (product_id, kind, quantity, stock_after, purchase_id, reason, created_at, created_by)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


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
    lines: list[tuple[int, int]],
    purchase_id: int,
    at: str,
) -> list[sqlite3.Row]:
    """Take the units of every (product_id, quantity) line of a sale from active products and
    write the movements; returns, line by line, what the purchase line needs (sku, name,
    price_cents, stock after).

    One conditional update a line checks the status and the stock and takes the units. They
    run in product-id order: sales running side by side (PostgreSQL) lock their products' rows
    in that one order, so no two of them wait for each other's. A refusal names the first
    refused line in the sale's own order (the diagnostic read happens only then).
    """
    taken: dict[int, sqlite3.Row | None] = {}
    for index in sorted(range(len(lines)), key=lambda index: lines[index][0]):
        product_id, quantity = lines[index]
        taken[index] = row = conn.execute(
            "UPDATE products SET stock = stock - ?1"
            " WHERE id = ?2 AND status = 'active' AND stock >= ?1"
            " RETURNING sku, name, price_cents, stock",
            (quantity, product_id),
        ).fetchone()
        if row is not None:
            movement = (product_id, "sale", -quantity, row["stock"], purchase_id, "", at)
            _write_movement(conn, actor, *movement)
    refused = [index for index in range(len(lines)) if taken[index] is None]
    if refused:
        _refuse_sale(conn, *lines[refused[0]])
    return [taken[index] for index in range(len(lines))]


def _refuse_sale(conn: sqlite3.Connection, product_id: int, quantity: int) -> None:
    product = conn.execute(
        "SELECT sku, name, status, stock FROM products WHERE id = ?", (product_id,)
    ).fetchone()
    if product is None:
        raise NotFound("product", product_id)
    if product["status"] != "active":
        raise InactiveRecord("product", product_id, product["sku"])
    raise OutOfStock(product["sku"], product["name"], product["stock"], quantity)


def record_movements(conn: sqlite3.Connection, rows: list[tuple]) -> int:
    """Write many movements at once and move each product's stock by the sum of its rows.

    For bulk writers that know the running stock themselves (an import sets it from the file,
    demo data simulates it): `rows` are movement rows in the order they happened, each with
    its `stock_after`. Returns how many were written.
    """
    conn.executemany(INSERT_MOVEMENT, rows)
    totals: defaultdict[int, int] = defaultdict(int)
    for row in rows:
        totals[row[0]] += row[2]
    conn.executemany(
        "UPDATE products SET stock = stock + ? WHERE id = ?",
        [(quantity, product_id) for product_id, quantity in totals.items() if quantity],
    )
    return len(rows)


def _write_movement(
    conn, actor: Actor, product_id, kind, quantity, stock_after, purchase_id, reason, at
) -> None:
    """One movement whose stock change the caller has just made (move, sell)."""
    at = at or conn.clock.stamp()
    conn.execute(
        INSERT_MOVEMENT,
        (product_id, kind, quantity, stock_after, purchase_id, reason, at, actor.username),
    )


def ledger_mismatches(conn: sqlite3.Connection) -> list[tuple[int, int, int]]:
    """Products whose stock differs from the sum of their movements: (id, stock, moved)."""
    rows = conn.execute(
        "SELECT p.id, p.stock, coalesce(sum(m.quantity), 0) AS moved FROM products p"
        " LEFT JOIN stock_movements m ON m.product_id = p.id GROUP BY p.id"
        " HAVING p.stock <> coalesce(sum(m.quantity), 0)"  # standard SQL: no alias in HAVING
    ).fetchall()
    return [tuple(row) for row in rows]
