"""The pieces of SQL services put together: the SET list of an UPDATE and a WHERE clause.

Column names and conditions come from the code (a service's own field names), never from what
a user typed; values always travel as named parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


def assignments(columns: Iterable[str], source: str = ":") -> str:
    """`a = :a, b = :b` for an UPDATE's SET; with source="s." each value comes from a row `s`
    of a joined table instead of a parameter of the same name."""
    return ", ".join(f"{column} = {source}{column}" for column in columns)


def differs(left: str, right: str) -> str:
    """`left` and `right` differ, a NULL differing from any value and not from NULL: SQLite's
    `IS NOT` and PostgreSQL's `IS DISTINCT FROM`, in words both engines read."""
    return f"({left} <> {right} OR ({left} IS NULL) <> ({right} IS NULL))"


@dataclass
class Where:
    """Conditions that must all hold, and the named parameters they use."""

    conditions: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)

    def add(self, condition: str, **params) -> Where:
        self.conditions.append(condition)
        self.params.update(params)
        return self

    @property
    def sql(self) -> str:
        """`WHERE a AND b`, or nothing when there is no condition."""
        return f"WHERE {' AND '.join(self.conditions)}" if self.conditions else ""


def read_page(store, select: str, counted: str, where: Where, order: str, limit: int, offset: int):
    """One page of `select` filtered by `where` in `order`, and how many rows of `counted` (a
    FROM clause) the filter keeps: both read in one snapshot, so the count fits the page."""
    with store.read() as conn:
        rows = conn.execute(
            f"{select} {where.sql} ORDER BY {order} LIMIT :limit OFFSET :offset",
            {**where.params, "limit": limit, "offset": offset},
        ).fetchall()
        total = conn.execute(f"SELECT count(*) FROM {counted} {where.sql}", where.params).fetchone()
    return rows, total[0]
