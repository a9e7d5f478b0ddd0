"""The mirror of a PostgreSQL store: the same DuckDB copy as `Mirror`, loaded through DuckDB's
postgres scanner, and a sync that stays exact although ids do not become visible in id order.

Why an id high-water mark is not enough here: a transaction that drew id 101 can commit after one
that drew 102. A sync that saw 102 and moved its mark past it would skip 101 for ever.

The sync. Each table the mirror reads (and `analytics_changes`) draws its ids from its identity
sequence (CACHE 1), so ids are handed out in increasing order of time; transaction ids (xids) are
assigned in increasing order of time too; and migration 010 makes every transaction take its xid
*before* it draws an id from those tables (xid-first). Each sync k, in this order:

1. reads Q_k, the last id each sequence has handed out (sequences are not transactional);
2. takes a fresh xid X_k (`pg_current_xact_id()` in a transaction of its own): every xid assigned
   later is greater;
3. opens a REPEATABLE READ transaction: its snapshot S_k, whose xmin is the oldest xid running.

Claim: every row not visible in S_k that is visible in a later snapshot has an id greater than
L_k = Q_j, for the latest recorded sync j with X_j < xmin(S_k) (and greater than L_{k-1}).
Proof: the row was inserted by a transaction W not committed at S_k, so W was running at S_k or
began after it; either way xid(W) >= xmin(S_k) > X_j. So W got its xid after step 2 of sync j,
hence after step 1; xid-first, it drew its ids after that, and they exceed Q_j. Any row invisible
in S_k is invisible in S_{k-1} (taken earlier), so L_{k-1} bounds it too. (No sync qualifying, 0.)

Hence the copy's invariant after sync k: a row with id <= L_k is in the copy if and only if it is
visible in S_k (so for ever), and every row in the copy is visible in S_k. Sync n (n > k) reads,
in S_n, the rows with id > L_k that the copy does not hold: those above the highest id it holds
(`tops`) and the holes between L_k and that top (a hole: a rolled-back id, or a row still
invisible at S_k). Then the copy holds exactly the rows visible in S_n, and the invariant holds for
n. `analytics_changes` is read the same way (the change ids it has applied stand for the copy),
and the rows edited in place are re-read as on SQLite. Usually X_k < xmin(S_k), L_k = Q_k and
there are no holes: the sync reads what a high-water mark would, and when no sequence moved past
L, nothing can be new and the sync returns after one query.

What the proof takes from the writers: ids drawn from the sequences. A writer that must know its
ids before the insert (the purchases import) reserves them from the sequence, its xid taken first
(`PostgresStore.reserve_ids`): max(id) + n may fall at or below a settled bound (rolled-back
writes leave the sequence past max(id)). Rows given explicit ids (the demo data, a store moved
across) must be written before a mirror reads the store, with the sequences advanced past them
after (`setval`), as any later insert needs anyway.

Kept across a restart (crpm/analytics/mirrorfile.py): L, the tops and the applied change ids,
saved with the rows they describe. The invariant is about the store alone, so it still holds when
the process restarts; the history of (X_j, Q_j) is not kept, and until a sync of the new process
qualifies, L stays as saved (the case of no sync qualifying above).

The full load needs no bound: it takes a snapshot S_b (with Q and X before it, as a sync does),
then the scanner reads each table at a snapshot taken after S_b. A row invisible in S_b has an id
above L_b, and the first sync settles it as above.
"""

from __future__ import annotations

import pandas as pd
import psycopg

from crpm.analytics.mirror import (
    ADD_LINE_TOTALS_SQL,
    BULK_THRESHOLD,
    CHANGED_ENTITY,
    DELTA_SQL,
    MIRRORED,
    MOVEMENT_DETAILS,
    SOURCES,
    Mirror,
    add_line_totals_sql,
    add_moved_stock_sql,
    bulk_sql,
    frame_of,
)
from crpm.analytics.mirrorfile import Kept

# DuckDB over the store attached as `src`: every row the scanner's snapshot sees.
LOAD_SQL = {name: bulk_sql(table, bounded=False) for name, table in MIRRORED.items()}
DRAWN_SQL = "SELECT " + ", ".join(
    f"coalesce(pg_sequence_last_value(pg_get_serial_sequence('{table}', 'id')::regclass), 0)"
    for table in SOURCES.values()
)
SNAPSHOT_SQL = (
    "SELECT pg_current_snapshot()::text,"
    " pg_snapshot_xmin(pg_current_snapshot())::text::bigint, current_schema()"
)
FRESH_XID_SQL = "SELECT pg_current_xact_id()::text::bigint"
CHANGES_SQL = "SELECT id, entity, entity_id FROM analytics_changes"
NEW_ROWS = "new_rows"  # the frame of rows just read, registered in DuckDB
ADD_NEW_LINE_TOTALS_SQL = add_line_totals_sql(NEW_ROWS)
ADD_NEW_STOCK_SQL = add_moved_stock_sql(NEW_ROWS)
MOVEMENT_DETAILS_SQL = (
    "SELECT id, stock_after, purchase_id, reason, created_by FROM stock_movements"
    " WHERE id = ANY(%s::integer[])"
)
# Past the last id handed out: nothing the load left out of a purchase's totals.
EVERY_ID = 2**62


def _key_name(table: str) -> str:
    """The copy's column holding the store's id (the first one)."""
    return MIRRORED[table].columns[0].name


class PgMirror(Mirror):
    """The DuckDB copy of a PostgreSQL store, kept exactly current by `sync()`."""

    scanner = "postgres"

    def __init__(self, url: str, threads: int | None = None, kept: Kept | None = None):
        self.url = url
        self._pg: psycopg.Connection | None = None
        self.bounds = dict.fromkeys(SOURCES, 0)  # L: every id at or below is settled
        self.tops = dict.fromkeys(SOURCES, 0)  # the highest id the copy holds (changes: applied)
        self.applied: set[int] = set()  # change ids above L already applied
        self.history: list[tuple[int, dict[str, int]]] = []  # (X_k, Q_k) of recent syncs
        self._start(threads, kept)

    @property
    def pg(self) -> psycopg.Connection:
        if self._pg is None:
            self._pg = psycopg.connect(self.url, autocommit=True)
        return self._pg

    def close(self) -> None:
        self._drop_connection()
        self._close_copy()

    def _state(self, marks) -> dict:
        """L, the tops and the applied changes: the proof's invariant is about the store alone,
        so it holds across a restart. The history is not kept: a restart starts a new one, and
        until a sync of it qualifies, L stays where it was (the proof with no sync qualifying)."""
        return {"bounds": self.bounds, "tops": self.tops, "applied": sorted(self.applied)}

    def _restore(self, state: dict) -> None:
        self.bounds, self.tops = state["bounds"], state["tops"]
        self.applied = set(state["applied"])
        self.marks = "kept"

    def _drop_connection(self) -> None:
        if self._pg is not None:
            self._pg.close()
            self._pg = None

    def sync(self) -> None:
        """Bring the copy up to the store's latest committed state."""
        try:
            self._sync()
        except psycopg.Error:
            self._drop_connection()  # a broken connection is opened again next time
            raise

    def _sync(self) -> None:
        self._check_epoch(self.pg)
        if self.unchecked:
            self._check_kept()
        drawn = self._drawn()
        if self.marks is not None and drawn == self.bounds:
            return  # every id handed out is settled and in the copy: nothing can be new
        if self._needs_reload(drawn):
            self.reload()
        self._record(drawn)
        conn = self.pg
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            snapshot, xmin, _ = conn.execute(SNAPSHOT_SQL).fetchone()
            delta = self._read_delta(conn)
        finally:
            conn.execute("COMMIT")
        # Where the copy will stand, first: `_apply` saves it with the rows, in one transaction.
        self._note_read(delta)
        self._settle(xmin)
        self._apply(delta, snapshot)

    def _drawn(self) -> dict[str, int]:
        """Q: the last id each source's sequence has handed out."""
        return dict(zip(SOURCES, self.pg.execute(DRAWN_SQL).fetchone(), strict=True))

    def _record(self, drawn: dict[str, int]) -> None:
        """Steps 1 and 2 of a sync: Q (read just before) with a fresh xid taken after it."""
        xid = self.pg.execute(FRESH_XID_SQL).fetchone()[0]
        self.history.append((xid, drawn))

    def _settle(self, xmin: int) -> None:
        """L after a snapshot whose oldest running xid is `xmin` (see the module's proof)."""
        usable = [k for k, (xid, _) in enumerate(self.history) if xid < xmin]
        if not usable:
            return
        latest = usable[-1]
        drawn = self.history[latest][1]
        self.bounds = {name: max(self.bounds[name], drawn[name]) for name in SOURCES}
        self.history = self.history[latest:]
        self.applied = {key for key in self.applied if key > self.bounds["changes"]}

    def _needs_reload(self, drawn: dict[str, int]) -> bool:
        if self.marks is None:
            return True
        if any(drawn[name] < max(self.bounds[name], self.tops[name]) for name in SOURCES):
            return True  # the sequences went back: another store behind the URL, start again
        backlog = sum(drawn[name] - max(self.bounds[name], self.tops[name]) for name in SOURCES)
        return backlog > BULK_THRESHOLD

    def reload(self) -> None:
        """Load everything through the postgres scanner, then settle as a sync does."""
        self.history = []
        self._record(self._drawn())
        conn = self.pg
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            snapshot, xmin, schema = conn.execute(SNAPSHOT_SQL).fetchone()
        finally:
            conn.execute("COMMIT")
        self._load(schema)
        self.bounds = dict.fromkeys(SOURCES, 0)
        self._settle(xmin)
        self.tops = {name: self._top(name) for name in MIRRORED}
        # Changes settled before S_b are in what the scanner read; later ones are read again.
        self.tops["changes"] = self.bounds["changes"]
        self.applied = set()
        self._loaded(snapshot)
        self.marks = snapshot

    def _load(self, schema: str) -> None:
        con = self.con
        self.loads += 1
        self._create_tables()
        # ATTACH takes no parameters: the URL and schema go in as quoted literals.
        url, schema = (text.replace("'", "''") for text in (self.url, schema))
        con.execute(f"ATTACH '{url}' AS src (TYPE postgres, READ_ONLY, SCHEMA '{schema}')")
        try:
            for table, sql in LOAD_SQL.items():
                con.execute(f"INSERT INTO {table} {sql}")
        finally:
            con.execute("DETACH src")
        con.execute(ADD_LINE_TOTALS_SQL, {"after": 0, "upto": EVERY_ID})
        self._recount_first_purchases(None)

    def _top(self, table: str) -> int:
        key = _key_name(table)
        return self.con.execute(f"SELECT coalesce(max({key}), 0) FROM {table}").fetchone()[0]

    def _holes(self, name: str) -> list[int]:
        """Ids in (L, top] the copy does not hold: rolled back, or not yet visible."""
        low, high = self.bounds[name], self.tops[name]
        if high <= low:
            return []
        if name == "changes":
            return [key for key in range(low + 1, high + 1) if key not in self.applied]
        key = _key_name(name)
        rows = self.con.execute(
            f"SELECT range FROM range($low + 1, $high + 1)"
            f" EXCEPT SELECT {key} FROM {name} WHERE {key} > $low",
            {"low": low, "high": high},
        ).fetchall()
        return sorted(row[0] for row in rows)

    def _unread(self, name: str, key: str) -> tuple[str, tuple]:
        """The condition (and its parameters) on `key` for the rows of `name` not yet read."""
        after = max(self.bounds[name], self.tops[name])
        return f"({key} > %s OR {key} = ANY(%s::integer[]))", (after, self._holes(name))

    def _read_delta(self, conn: psycopg.Connection) -> dict:
        """Inside the caller's snapshot: the rows not yet read, and the edited rows again."""
        delta = {}
        for table, sql in DELTA_SQL.items():
            where, params = self._unread(table, MIRRORED[table].key)
            delta[table] = conn.execute(f"{sql} WHERE {where}", params).fetchall()
        where, params = self._unread("changes", "id")
        changes = conn.execute(f"{CHANGES_SQL} WHERE {where}", params).fetchall()
        delta["change_ids"] = [row[0] for row in changes]
        delta["changed"] = {}
        for entity, table in CHANGED_ENTITY.items():
            new = {row[0] for row in delta[table]}  # appended whole: no need to read again
            ids = sorted({key for _, kind, key in changes if kind == entity} - new)
            delta["changed"][table] = (ids, self._rows_by_id(table, ids, conn))
        return delta

    def _rows_by_id(self, table: str, ids: list[int], conn=None) -> list:
        """The store's current rows of `table` with these ids (in `conn`'s transaction)."""
        if not ids:
            return []
        return (
            (conn or self.pg)
            .execute(f"{DELTA_SQL[table]} WHERE {MIRRORED[table].key} = ANY(%s::integer[])", (ids,))
            .fetchall()
        )

    def _note_read(self, delta: dict) -> None:
        """The copy's tops and applied changes after `delta` went in."""
        for table in MIRRORED:
            self.tops[table] = max([self.tops[table], *(row[0] for row in delta[table])])
        self.applied.update(delta["change_ids"])
        self.tops["changes"] = max([self.tops["changes"], *delta["change_ids"]])

    def _add_new_totals(self, delta: dict, latest) -> None:
        """The new lines and movements are not an id range here: add them from the rows read."""
        for table, sql in (("sales", ADD_NEW_LINE_TOTALS_SQL), ("movements", ADD_NEW_STOCK_SQL)):
            if delta[table]:
                self.con.register(NEW_ROWS, frame_of(table, delta[table]))
                try:
                    self.con.execute(sql)
                finally:
                    self.con.unregister(NEW_ROWS)

    def movement_details(self, ids: list[int]) -> pd.DataFrame:
        """As on SQLite: the ledger columns the copy leaves out, read from the store."""
        rows = self.pg.execute(MOVEMENT_DETAILS_SQL, (ids,)).fetchall()
        return pd.DataFrame.from_records(rows, columns=MOVEMENT_DETAILS)
