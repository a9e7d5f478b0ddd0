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

No copy may outlive an erasure or a restore: each renews the store's *epoch* (another random
value in shop_settings) and deletes the kept files no open mirror holds; a mirror checks the epoch
at every sync, and one read before the epoch moved starts again from a new, empty file.

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
# 2: the state names the store's epoch.
FORMAT = 2
# Processes on one store that each keep their mirror in a file; more keep theirs in memory.
SLOTS = 4
STORE_ID_KEY = "analytics_store_id"
# Renewed by whatever leaves a copy of the store stale in a way its ids do not show (an erasure,
# a restore; a backup file gets its own): a mirror read at another epoch is thrown away.
EPOCH_KEY = "analytics_epoch"
EPOCH_SQL = f"SELECT value FROM shop_settings WHERE key = '{EPOCH_KEY}'"
RENEW_EPOCH_SQL = (
    "INSERT INTO shop_settings (key, value) VALUES (?, ?)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
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


def renew_epoch(conn) -> None:
    """Inside the caller's transaction (a store's, or sqlite3's on a backup file): every mirror
    read before it commits is out of date."""
    conn.execute(RENEW_EPOCH_SQL, (EPOCH_KEY, uuid.uuid4().hex))


def store_epoch(conn) -> str:
    """The store's epoch ('' until one is made), on any connection to it (the mirror's own)."""
    row = conn.execute(EPOCH_SQL).fetchone()
    return row[0] if row else ""


def outdate_kept(store) -> None:
    """After an erasure or a restore committed (and renewed the epoch): delete every kept file
    of `store` that no open mirror holds; a held one is rebuilt at its holder's next sync."""
    if fcntl is None:  # no slots, so no kept files
        return
    base = base_path(store)
    for slot in range(SLOTS):
        path = slot_path(base, slot)
        if not any(p.exists() for p in MirrorFile.files(path)):
            continue
        try:
            file = MirrorFile.take(path)
            if file is not None:
                file.discard()
                file.release()
        except OSError as exc:
            log.warning("analytics mirror %s not deleted (%s)", path, exc)


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
                file = cls.take(path)
            except OSError as exc:
                log.warning("no analytics mirror file at %s (%s): kept in memory", path, exc)
                return None
            if file is not None:
                return file
        return None

    @classmethod
    def take(cls, path: Path) -> MirrorFile | None:
        """The slot at `path`, locked; None if another holds it (OSError: its lock file cannot
        be opened)."""
        lock = open(f"{path}.lock", "a+b")  # noqa: SIM115 - held open as the lock
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            return None
        return cls(path, lock)

    @staticmethod
    def files(path: Path) -> tuple[Path, Path]:
        """The slot's DuckDB file and its WAL."""
        return path, Path(f"{path}.wal")

    def discard(self) -> None:
        """Delete the file (and its WAL): it is not to be trusted."""
        for path in self.files(self.path):
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


def reattach(con, kept: Kept | None) -> Kept | None:
    """The copy in use thrown away: the mirror detached, its file deleted, an empty one (or
    memory, if the file cannot be deleted) attached and used in its place."""
    con.execute("USE memory")  # the connection's own database: the mirror can be detached
    con.execute("DETACH mirror")
    if kept is not None:
        try:
            kept.file.discard()
        except OSError as exc:
            log.warning("analytics mirror %s not deleted (%s): kept in memory", kept.file.path, exc)
            kept.file.release()
            kept = None
    kept = attach(con, kept)[0]
    con.execute("USE mirror")
    return kept


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
