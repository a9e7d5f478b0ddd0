"""Where a mirror is kept between runs, whose it is, and the state it was synced to.

A mirror kept in a DuckDB file lets a restarted app catch up from where it stood instead of
loading the whole store again. The file lies beside a SQLite store (`shop.db` ->
`shop.db.mirror.duckdb`: found, backed up or deleted with the shop) and in a cache folder for a
PostgreSQL store ($CRPM_CACHE_DIR, else $XDG_CACHE_HOME/crpm, else ~/.cache/crpm), named from
a hash of the connection's parameters without the password.

The file is trusted only if its state row names the same store (a random id the store keeps in
shop_settings), the same schema version and this FORMAT; the mirror also checks, at its first
sync, that the store did not go back in time. The state row is written in the same DuckDB
transaction as the rows it describes, and removed before a full load starts: a load cut short
leaves no state, and the next start loads again.

DuckDB lets one process write a file. Each process claims a slot (`shop.db.mirror.duckdb`,
`shop.db.mirror-2.duckdb`, ... up to SLOTS) by an exclusive lock on the slot's `.lock` file,
held while its mirror is open; with every slot taken it keeps its mirror in memory, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from crpm.config import cache_dir
from crpm.errors import CRPMError

try:
    import fcntl
except ImportError:  # Windows: no flock; mirrors stay in memory there
    fcntl = None

log = logging.getLogger(__name__)

# Raise it whenever the mirror's tables or its saved state change shape: older files are rebuilt.
FORMAT = 1
# Processes on one store that each keep their mirror in a file; more keep theirs in memory.
SLOTS = 4
STORE_ID_KEY = "analytics_store_id"
STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS mirror.mirror_state"
    " (format INTEGER, store_id VARCHAR, schema_version INTEGER, state VARCHAR)"
)


@dataclass(frozen=True)
class Identity:
    """What a kept mirror must match to be trusted."""

    store_id: str
    schema_version: int
    format: int = FORMAT


def store_identity(store) -> Identity:
    """The store's identity, its random id made on first use."""
    conn = store.conn
    found = conn.execute("SELECT value FROM shop_settings WHERE key = ?", (STORE_ID_KEY,))
    row = found.fetchone()
    if row is None:
        with store.write() as conn:
            conn.execute(
                "INSERT INTO shop_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (STORE_ID_KEY, uuid.uuid4().hex),
            )
            row = conn.execute(
                "SELECT value FROM shop_settings WHERE key = ?", (STORE_ID_KEY,)
            ).fetchone()
    return Identity(row[0], store.schema_version())


def base_path(store) -> Path:
    """The first slot's file for `store`."""
    if store.dialect == "postgresql":
        return cache_dir() / f"{url_digest(store.url)}.mirror.duckdb"
    return Path(f"{store.path}.mirror.duckdb")


def url_digest(url: str) -> str:
    """A name for a PostgreSQL store: its host, port, database, user and options (the schema),
    never its password."""
    from psycopg.conninfo import conninfo_to_dict

    params = {k: str(v) for k, v in conninfo_to_dict(url).items() if k != "password"}
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:24]


def slot_path(base: Path, slot: int) -> Path:
    """`shop.db.mirror.duckdb`, then `shop.db.mirror-2.duckdb`, ..."""
    if slot == 0:
        return base
    return base.with_name(base.name.replace(".mirror.", f".mirror-{slot + 1}."))


class MirrorFile:
    """A claimed slot: the DuckDB file this process alone writes while it holds the lock."""

    def __init__(self, path: Path, lock):
        self.path = path
        self._lock = lock

    @classmethod
    def claim(cls, base: Path, slots: int = SLOTS) -> MirrorFile | None:
        """The first free slot, locked; None if all are taken (or locks are not available)."""
        if fcntl is None:
            return None
        for slot in range(slots):
            path = slot_path(base, slot)
            try:
                base.parent.mkdir(parents=True, exist_ok=True)
                lock = open(f"{path}.lock", "a+b")  # noqa: SIM115 - held open as the lock
            except OSError as exc:
                log.warning("no analytics mirror file at %s (%s): kept in memory", path, exc)
                return None
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue
            return cls(path, lock)
        return None

    def discard(self) -> None:
        """Delete the file (and its WAL): it is not to be trusted."""
        for path in (self.path, Path(f"{self.path}.wal")):
            path.unlink(missing_ok=True)

    def release(self) -> None:
        self._lock.close()


def read_state(con, identity: Identity) -> dict | None:
    """The saved state if the file is this store's, at this schema and format; else None."""
    rows = con.execute(
        "SELECT format, store_id, schema_version, state FROM mirror.mirror_state"
    ).fetchall()
    if len(rows) != 1:
        return None
    format_, store_id, schema_version, state = rows[0]
    if Identity(store_id, schema_version, format_) != identity:
        return None
    return json.loads(state)


def write_state(con, identity: Identity, state: dict) -> None:
    """Inside the caller's DuckDB transaction, with the rows it describes."""
    con.execute("DELETE FROM mirror.mirror_state")
    con.execute(
        "INSERT INTO mirror.mirror_state VALUES (?, ?, ?, ?)",
        (identity.format, identity.store_id, identity.schema_version, json.dumps(state)),
    )


@dataclass(frozen=True)
class Kept:
    """A mirror kept in a file: the slot this process holds and the store it must match."""

    file: MirrorFile
    identity: Identity


def claim(store) -> Kept | None:
    """A slot for `store`'s mirror, or None: keep it in memory."""
    file = MirrorFile.claim(base_path(store))
    if file is None:
        return None
    try:
        return Kept(file, store_identity(store))
    except (CRPMError, store.driver_error):
        log.warning("the store's identity is unreadable; keeping the analytics mirror in memory")
        file.release()
        return None


def attach(con, kept: Kept | None) -> tuple[Kept | None, dict | None]:
    """Attach the mirror's database as `mirror`: the kept file, with its saved state if it is to
    be trusted (else emptied), or memory if there is no file or it cannot be opened."""
    if kept is not None:
        for attempt in range(2):
            try:
                return kept, _attach_file(con, kept)
            except (duckdb.Error, OSError) as exc:
                con.execute("DETACH DATABASE IF EXISTS mirror")
                # Another process holds it (DuckDB's own lock): never delete it under that one.
                if attempt or held_elsewhere(exc):
                    break
                log.warning("analytics mirror %s unreadable (%s): rebuilt", kept.file.path, exc)
                try:
                    kept.file.discard()
                except OSError:
                    break
        kept.file.release()
    con.execute("ATTACH ':memory:' AS mirror (COMPRESS)")
    return None, None


def held_elsewhere(exc: Exception) -> bool:
    """DuckDB's error for a file another process has open (its own lock, not a slot's):
    `IO Error: Could not set lock on file "...": Conflicting lock is held in ...`. Matched
    whole: a corrupt file's error speaks of a "block at location ...", never to be kept."""
    return isinstance(exc, duckdb.IOException) and "could not set lock on file" in str(exc).lower()


def _attach_file(con, kept: Kept) -> dict | None:
    # ATTACH takes no parameters: the path goes in as a quoted literal.
    attach_sql = "ATTACH '{}' AS mirror".format(str(kept.file.path).replace("'", "''"))
    con.execute(attach_sql)
    con.execute(STATE_DDL)
    state = read_state(con, kept.identity)
    if state is None:  # new, or not to be trusted: start from an empty file
        con.execute("DETACH mirror")
        kept.file.discard()
        con.execute(attach_sql)
        con.execute(STATE_DDL)
    return state
