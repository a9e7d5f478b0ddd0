"""What customers and products share: get by id, paged search, field updates, status changes."""

from __future__ import annotations

from dataclasses import fields

from crpm.errors import NotFound, ValidationError
from crpm.models import Page, parse_id, parse_int
from crpm.permissions import Actor, ensure
from crpm.services import audit
from crpm.services.search import capped_count, clamp_page, word_search
from crpm.services.sqlparts import Where, assignments

STATUSES = ("active", "inactive")  # what lists filter on; customers also have 'erased'


class RecordService:
    """Base of the customer and product services; subclasses name their table and model."""

    table: str
    entity: str
    model: type
    statuses: tuple[str, ...] = STATUSES  # every value the status column may hold

    def __init__(self, store):
        self.store = store

    def _id(self, value) -> int:
        return parse_id(value, self.entity)

    def _columns(self, alias: str = "") -> str:
        """The model's columns, not `*`: the tables also hold generated search columns."""
        prefix = f"{alias}." if alias else ""
        return ", ".join(prefix + field.name for field in fields(self.model))

    def _row(self, conn, record_id: int):
        row = conn.execute(
            f"SELECT {self._columns()} FROM {self.table} WHERE id = ?", (record_id,)
        ).fetchone()
        if row is None:
            raise NotFound(self.entity, record_id)
        return row

    def get(self, actor: Actor, record_id: int):
        ensure(actor, "read_records")
        return self.model(**dict(self._row(self.store.conn, self._id(record_id))))

    def list(
        self,
        actor: Actor,
        search: str = "",
        status: str | None = "active",
        limit: int = 50,
        offset: int = 0,
        where: dict | None = None,
        after_id=None,
    ) -> Page:
        """A page of records in id order, optionally matching a search and a status.

        `where` adds equality filters on trusted column names chosen by the subclass.
        `after_id` pages by key (rows with a larger id), which stays fast however deep the page;
        `extra["next_after_id"]` is the key of the next page.
        """
        ensure(actor, "read_records")
        limit, offset = clamp_page(limit, offset)
        if status not in (None, "", "all", *STATUSES):
            raise ValidationError("status", f"must be one of {', '.join(STATUSES)} or all")
        filters = Where()
        match = word_search(self.store.dialect, self.table, search or "")
        if match:
            source, order = match.source, match.order
            filters.add(match.condition, **match.params)
        else:
            source = f"{self.table} r"
            order = "r.id"
        self._filter(filters, status, where or {})
        page = Where([*filters.conditions], {**filters.params, "limit": limit, "offset": offset})
        if after_id not in (None, ""):
            after_id = parse_int(after_id, "after_id", maximum=2**62)
            page.add(f"{order} > :after_id", after_id=after_id)
        with self.store.read() as conn:  # the page and its count from one snapshot
            rows = conn.execute(
                f"SELECT {self._columns('r')} FROM {source} {page.sql}"
                f" ORDER BY {order} LIMIT :limit OFFSET :offset",
                page.params,
            ).fetchall()
            total, capped = self._count(conn, source, filters, match, where, status)
        items = [self.model(**dict(row)) for row in rows]
        extra = {"next_after_id": items[-1].id if len(items) == limit else None}
        return Page(items, total, limit, offset, total_is_capped=capped, extra=extra)

    def _status_count(self, conn, status) -> int:
        """How many rows a status filter shows, without walking a million index entries.

        count(*) of a whole table is a b-tree count; the statuses left out are few, so the
        usual lists (active, all) cost two cheap counts in one statement (one snapshot).
        """
        if status == "inactive":  # the few inactive rows are cheap to count directly
            sql = f"SELECT count(*) FROM {self.table} WHERE status = 'inactive'"
            return conn.execute(sql).fetchone()[0]
        shown = {status} if status in STATUSES else set(STATUSES)
        left_out = [value for value in self.statuses if value not in shown]
        marks = ", ".join("?" for _ in left_out) or "NULL"
        sql = (
            f"SELECT (SELECT count(*) FROM {self.table})"
            f" - (SELECT count(*) FROM {self.table} WHERE status IN ({marks}))"
        )
        return conn.execute(sql, left_out).fetchone()[0]

    def _count(self, conn, source: str, filters: Where, match, where, status) -> tuple[int, bool]:
        """How many records the filters keep, and whether the count stopped at its cap."""
        if match:
            matching = f"SELECT r.id FROM {source} {filters.sql}"
            return capped_count(conn, matching, filters.params)
        if where:
            count_sql = f"SELECT count(*) FROM {source} {filters.sql}"
            return conn.execute(count_sql, filters.params).fetchone()[0], False
        return self._status_count(conn, status), False

    def _filter(self, filters: Where, status, where: dict) -> None:
        if status in STATUSES:
            filters.add("r.status = :status", status=status)
        elif status in (None, "", "all") and self.table == "customers":
            filters.add("r.status <> 'erased'")
        for column, value in where.items():
            filters.add(f"r.{column} = :{column}", **{column: value})

    def _update(self, actor: Actor, record_id: int, changes: dict, action: str = "update"):
        """Apply validated column changes in one transaction with its audit row (the public
        method calling this has checked the actor's rights)."""
        with self.store.write() as conn:
            before = dict(self._row(conn, record_id))
            if before.get("status") == "erased":
                raise NotFound(self.entity, record_id)
            changes = {key: value for key, value in changes.items() if before[key] != value}
            if changes:
                changes["updated_at"] = conn.clock.stamp()
                conn.execute(
                    f"UPDATE {self.table} SET {assignments(changes)} WHERE id = :id",
                    {**changes, "id": record_id},
                )
                after = dict(self._row(conn, record_id))
                audit.record(conn, actor, action, self.entity, record_id, before, after)
            else:
                after = before
        return self.model(**after)

    def deactivate(self, actor: Actor, record_id: int):
        ensure(actor, "manage_records")
        return self._update(actor, self._id(record_id), {"status": "inactive"}, "deactivate")

    def reactivate(self, actor: Actor, record_id: int):
        ensure(actor, "manage_records")
        return self._update(actor, self._id(record_id), {"status": "active"}, "reactivate")

    def _insert(self, conn, actor: Actor, values: dict) -> int:
        now = conn.clock.stamp()
        values = {**values, "created_at": now, "updated_at": now}
        columns = ", ".join(values)
        placeholders = ", ".join(f":{column}" for column in values)
        record_id = conn.execute(
            f"INSERT INTO {self.table} ({columns}) VALUES ({placeholders})", values
        ).lastrowid
        audit.record(conn, actor, "create", self.entity, record_id, after=values)
        return record_id
