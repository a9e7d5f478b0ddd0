"""The audit log: who changed what, with the fields before and after."""

from __future__ import annotations

import json
import sqlite3

from crpm.models import Page, parse_id
from crpm.permissions import Actor, ensure
from crpm.services.search import clamp_page
from crpm.services.sqlparts import Where, read_page


def record(
    conn: sqlite3.Connection,
    actor: Actor,
    action: str,
    entity: str,
    entity_id,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    """Write one audit row inside the caller's transaction; an update keeps only changed fields."""
    if before is not None and after is not None:
        changed = [key for key in after if before.get(key) != after.get(key)]
        before = {key: before.get(key) for key in changed}
        after = {key: after[key] for key in changed}
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            conn.clock.stamp(),
            actor.username,
            action,
            entity,
            entity_id,
            _json(before),
            _json(after),
        ),
    )


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


class AuditService:
    def __init__(self, store):
        self.store = store

    def list(
        self,
        actor: Actor,
        entity: str | None = None,
        entity_id: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        ensure(actor, "admin")
        limit, offset = clamp_page(limit, offset)
        where = Where()
        if entity:
            where.add("entity = :entity", entity=entity)
        if entity_id not in (None, ""):
            where.add("entity_id = :entity_id", entity_id=parse_id(entity_id, "entity id"))
        rows, total = read_page(
            self.store, "SELECT * FROM audit_log", "audit_log", where, "id DESC", limit, offset
        )
        return Page([dict(row) for row in rows], total, limit, offset)
