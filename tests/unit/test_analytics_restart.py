"""A restarted engine catches up from its kept mirror (crpm/analytics/mirrorfile.py) instead of
loading the whole store again, and never trusts a file that is not this store's as it is now."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from crpm.analytics import Analytics
from crpm.analytics import mirrorfile as mf
from crpm.config import Settings, cache_dir
from crpm.permissions import SYSTEM
from crpm.services import open_services
from crpm.ui.common import UIContext
from tests.unit.test_analytics import FROM, open_sale

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


class Shop:
    """A customer, a product and purchases of it, through the services."""

    def __init__(self, services, name: str = "Ann"):
        self.services = services
        self.ann = services.customers.add(SYSTEM, name, f"{name.lower()}@example.com").id
        self.widget = services.products.add(SYSTEM, f"W-{name}", "Widget", "2.50", 1000).id

    def sell(self, count: int = 1, units: int = 1) -> list:
        record = self.services.purchases.record
        return [
            record(SYSTEM, self.ann, [(self.widget, units)], purchased_at=FROM)
            for _ in range(count)
        ]


@pytest.fixture
def shop(services):
    return Shop(services)


def report(store):
    """A summary from an engine opened now (kept mirror), and how many full loads it made."""
    engine = Analytics(store)
    try:
        return engine.summary(SYSTEM), engine._mirror.loads
    finally:
        engine.close()


def fresh(store):
    engine = Analytics(store, keep=False)
    try:
        return engine.summary(SYSTEM)
    finally:
        engine.close()


def kept_file(store) -> Path:
    return mf.base_path(store)


def test_a_restart_catches_up_without_a_full_load(services, shop):
    first, loads = report(services.store)
    assert (first.orders, loads) == (0, 1)
    shop.sell(3)
    assert report(services.store) == (fresh(services.store), 0)
    # Written while no engine ran: new sales, a cancellation, a renamed customer, a return.
    sold = shop.sell(2, units=4)
    services.purchases.cancel(SYSTEM, sold[0].id)
    services.purchases.return_items(SYSTEM, sold[1].lines[0].id, 1)
    services.customers.update(SYSTEM, shop.ann, name="Ann B")
    summary, loads = report(services.store)
    assert loads == 0
    assert summary == fresh(services.store)
    assert (summary.orders, summary.units_sold) == (4, 3 + 4 - 1)
    engine = Analytics(services.store)
    with contextlib.closing(engine):
        assert engine.top_customers(SYSTEM)["name"].tolist() == ["Ann B"]
        assert engine._mirror.loads == 0


def test_the_file_lies_beside_a_sqlite_store_and_in_the_cache_for_postgresql(services, shop):
    report(services.store)
    path = kept_file(services.store)
    assert path.is_file()
    if services.store.dialect == "sqlite":
        assert path == Path(f"{services.store.path}.mirror.duckdb")
    else:
        assert path.parent == cache_dir()
        assert "password" not in path.name


def test_the_cache_name_never_holds_the_password():
    with_password = "postgresql://shop:secret@db.example:5432/crpm"
    assert mf.url_digest(with_password) == mf.url_digest("postgresql://shop@db.example:5432/crpm")
    assert mf.url_digest(with_password) != mf.url_digest("postgresql://shop@db.example/other")


def rewrite_state(store, **changes) -> None:
    """Change the kept file's state row (no engine open), as an older version would have left it."""
    with contextlib.closing(duckdb.connect(str(kept_file(store)))) as con:
        for column, value in changes.items():
            con.execute(f"UPDATE mirror_state SET {column} = ?", (value,))


@pytest.mark.parametrize(
    "change",
    [
        {"store_id": "another-store"},
        {"schema_version": 1},
        {"format": mf.FORMAT - 1},
    ],
    ids=["another store", "older schema", "older format"],
)
def test_a_file_not_matching_the_store_is_rebuilt(services, shop, change):
    shop.sell(2)
    report(services.store)
    rewrite_state(services.store, **change)
    shop.sell(1)
    summary, loads = report(services.store)
    assert (summary.orders, loads) == (3, 1)
    assert report(services.store) == (summary, 0)  # the rebuilt file is trusted again


def test_a_corrupt_file_is_rebuilt(services, shop):
    shop.sell(2)
    report(services.store)
    kept_file(services.store).write_bytes(b"not a duckdb file" * 1000)
    summary, loads = report(services.store)
    assert (summary.orders, loads) == (2, 1)


def test_a_load_cut_short_leaves_no_state_and_is_done_again(services, shop):
    shop.sell(2)
    engine = Analytics(services.store)
    engine.summary(SYSTEM)
    engine._mirror._create_tables()  # what a load left when the process died in it
    engine.close()
    summary, loads = report(services.store)
    assert (summary.orders, loads) == (2, 1)


def test_a_store_file_from_another_shop_is_never_trusted(db_path, tmp_path, clock):
    """The file beside a store was made for another store (a shop copied over this one)."""
    one = open_services(db_path, clock)
    other = open_services(tmp_path / "other.db", clock)
    with contextlib.closing(one.store), contextlib.closing(other.store):
        Shop(one).sell(3)
        report(one.store)
        Shop(other).sell(1)
        shutil.copy(kept_file(one.store), kept_file(other.store))
        summary, loads = report(other.store)
        assert (summary.orders, loads) == (1, 1)


def test_a_store_restored_from_an_older_backup_is_loaded_again(db_path, tmp_path, clock):
    """Restored, then written to until its ids pass the copy's again: other rows, same ids."""
    services = open_services(db_path, clock)
    shop = Shop(services)
    shop.sell(2)
    report(services.store)  # the store's identity is made: the backup holds it too
    backup = tmp_path / "backup.db"
    services.backups.backup(SYSTEM, backup)
    shop.sell(3)
    report(services.store)
    services.store.close()
    shutil.copy(backup, db_path)
    services = open_services(db_path, clock)
    with contextlib.closing(services.store):
        Shop(services, "Bea").sell(4, units=2)  # new rows under the ids the copy already holds
        summary, loads = report(services.store)
        assert loads == 1
        assert summary == fresh(services.store)
        assert summary.orders == 2 + 4


def test_engines_side_by_side_each_keep_their_own_file(services, shop):
    engines = [Analytics(services.store) for _ in range(mf.SLOTS + 1)]
    try:
        paths = [engine._mirror.kept and engine._mirror.kept.file.path for engine in engines]
        assert len(set(paths[:-1])) == mf.SLOTS and paths[-1] is None  # then in memory
        shop.sell(2)
        assert {engine.summary(SYSTEM).orders for engine in engines} == {2}
    finally:
        for engine in engines:
            engine.close()


SECOND_PROCESS = """
import sys
from crpm.analytics import Analytics
from crpm.config import cache_dir
from crpm.permissions import SYSTEM
from crpm.services import open_services

services = open_services(sys.argv[1])
engine = Analytics(services.store)
print(engine.summary(SYSTEM).orders, engine._mirror.kept.file.path.name)
engine.close()
services.store.close()
"""


def test_a_second_process_on_the_store_neither_blocks_nor_corrupts_the_first(services, shop):
    location = services.store.path if services.store.dialect == "sqlite" else services.store.url
    shop.sell(2)
    engine = Analytics(services.store)
    with contextlib.closing(engine):
        assert engine.summary(SYSTEM).orders == 2
        done = subprocess.run(
            [sys.executable, "-c", SECOND_PROCESS, str(location)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        orders, name = done.stdout.split()
        assert int(orders) == 2
        assert name == mf.slot_path(kept_file(services.store), 1).name
        shop.sell(1)
        assert engine.summary(SYSTEM).orders == 3
    assert report(services.store) == (fresh(services.store), 0)


def test_postgresql_a_sale_open_across_a_restart_is_counted_once(pg_url, clock):
    """A transaction draws the lower ids and is still open when the engine closes; a later sale
    commits and is reported; the engine restarts, then the first commits: the kept bounds and
    holes bring it in, without a full load, as a fresh load has it."""
    services = open_services(pg_url, clock)
    with contextlib.ExitStack() as stack:
        stack.callback(services.store.close)
        shop = Shop(services)
        (template,) = shop.sell(1, units=3)
        open_first, _, _ = open_sale(pg_url, template)
        stack.callback(open_first.close)
        shop.sell(1, units=3)
        assert report(services.store)[0].orders == 2
        open_first.commit()
        summary, loads = report(services.store)
        assert (summary.orders, summary.units_sold, loads) == (3, 9, 0)
        assert summary == fresh(services.store)
        assert report(services.store) == (summary, 0)


def test_a_cache_folder_that_cannot_be_made_keeps_the_mirror_in_memory(
    pg_url, tmp_path, clock, monkeypatch
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CRPM_CACHE_DIR", str(blocker / "cache"))
    services = open_services(pg_url, clock)
    with contextlib.closing(services.store):
        Shop(services).sell(2)
        engine = Analytics(services.store)
        with contextlib.closing(engine):
            assert engine._mirror.kept is None
            assert engine.summary(SYSTEM).orders == 2


def test_a_file_corrupt_in_a_block_is_rebuilt(services, shop):
    """DuckDB's error for it reads "... in block at location ...": not another process's lock."""
    shop.sell(2)
    report(services.store)
    path = kept_file(services.store)
    with path.open("r+b") as file:
        file.seek(3 * 4096)  # the first block after the file's headers
        file.write(b"\x5a" * 4096)
    engine = Analytics(services.store)
    with contextlib.closing(engine):
        assert engine.summary(SYSTEM).orders == 2
        assert engine._mirror.kept is not None  # a new file, not memory
    assert report(services.store)[1] == 0


HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
"""


def test_a_file_another_program_has_open_is_left_alone(services, shop):
    """DuckDB's own lock (not a slot's): the mirror stays in memory and the file is untouched."""
    shop.sell(2)
    report(services.store)
    path = kept_file(services.store)
    before = path.read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        engine = Analytics(services.store)
        with contextlib.closing(engine):
            assert engine._mirror.kept is None
            assert engine.summary(SYSTEM).orders == 2
    finally:
        holder.stdin.close()
        holder.wait(timeout=120)
    assert path.read_bytes() == before


def test_a_check_of_the_kept_file_that_failed_is_done_again(services, shop):
    """The check's first try raises; the next sync checks again and finds the copy stale."""
    shop.sell(2)
    report(services.store)
    with contextlib.closing(duckdb.connect(str(kept_file(services.store)))) as con:
        con.execute(
            "UPDATE movements SET quantity = quantity + 1 WHERE id = ?", (newest_movement(con),)
        )
    engine = Analytics(services.store)
    with contextlib.closing(engine):
        mirror = engine._mirror
        holds = mirror._holds
        mirror._holds = fail_once(holds, duckdb.IOException("the check's query failed"))
        with pytest.raises(duckdb.IOException):
            engine.summary(SYSTEM)
        assert engine.summary(SYSTEM) == fresh(services.store)
        assert mirror.loads == 1


def newest_movement(con) -> int:
    return con.execute("SELECT max(id) FROM movements").fetchone()[0]


def fail_once(function, error: Exception):
    calls = []

    def failing(*args):
        calls.append(args)
        if len(calls) == 1:
            raise error
        return function(*args)

    return failing


# --- what no kept copy may outlive: an erasure, a restore ---------------------------------------

ZELDA = ("Zelda Quimby", "zelda.quimby@example.com")


def mirror_files(store) -> list[Path]:
    """Every slot's DuckDB file and WAL of the store's kept mirror (not their locks)."""
    base = kept_file(store)
    pattern = base.name.replace(".mirror.", ".mirror*.") + "*"
    return sorted(path for path in base.parent.glob(pattern) if path.suffix != ".lock")


def leaks(store, values=ZELDA) -> list[str]:
    """What of `values` the kept mirror's files still hold, read as bytes."""
    return [
        f"{path.name}: {value}"
        for path in mirror_files(store)
        for value in values
        if value.encode() in path.read_bytes()
    ]


def zelda_buys(services, shop) -> int:
    zelda = services.customers.add(SYSTEM, *ZELDA).id
    services.purchases.record(SYSTEM, zelda, [(shop.widget, 5)], purchased_at=FROM)
    return zelda


def top_names(store) -> list[str]:
    engine = Analytics(store)
    with contextlib.closing(engine):
        return engine.top_customers(SYSTEM)["name"].tolist()


def test_an_erasure_deletes_the_kept_files_no_engine_holds(services, shop):
    shop.sell(1)
    zelda = zelda_buys(services, shop)
    report(services.store)
    assert leaks(services.store)  # the test's premise: the closed engine's file holds her
    services.accounts.erase_person(SYSTEM, customer_id=zelda)
    assert leaks(services.store) == []
    assert top_names(services.store) == [f"Erased customer #{zelda}", "Ann"]


def test_an_erasure_reaches_the_file_of_a_running_engine(services, shop):
    shop.sell(1)
    zelda = zelda_buys(services, shop)
    engine = Analytics(services.store)
    with contextlib.closing(engine):
        engine.summary(SYSTEM)
        services.accounts.erase_person(SYSTEM, customer_id=zelda)
        assert engine.summary(SYSTEM) == fresh(services.store)  # its next sync
        assert leaks(services.store) == []
    assert leaks(services.store) == []
    assert top_names(services.store) == [f"Erased customer #{zelda}", "Ann"]


def backed_up_then_edited(db_path, backup, clock):
    """A shop whose backup (holding the store's identity) is older by one edit, no new id: Ann
    renamed "Ann Edited"."""
    services = open_services(db_path, clock)
    shop = Shop(services)
    shop.sell(2)
    report(services.store)  # the store's identity is made: the backup holds it too
    services.backups.backup(SYSTEM, backup)
    services.customers.update(SYSTEM, shop.ann, name="Ann Edited")
    return services, shop


def back_at_the_kept_ids_reports_ann(db_path, clock, shop):
    """Reopened, back at the ids the kept copy stood at without touching the customer, the
    report names Ann as the backup does."""
    services = open_services(db_path, clock)
    with contextlib.closing(services.store):
        services.products.update(SYSTEM, shop.widget, name="Widget 2")
        assert top_names(services.store) == ["Ann"]


@pytest.mark.parametrize("held", [False, True], ids=["engine stopped", "engine left open"])
def test_a_restore_throws_every_kept_mirror_away(db_path, tmp_path, clock, held):
    """Only an edit separates the backup from the store: no id tells the kept copy is newer."""
    services, shop = backed_up_then_edited(db_path, tmp_path / "backup.db", clock)
    engine = Analytics(services.store)
    assert engine.top_customers(SYSTEM)["name"].tolist() == ["Ann Edited"]
    if not held:
        engine.close()
    services.backups.restore(SYSTEM, tmp_path / "backup.db")
    if held:
        engine.close()  # an app left running: its file is written to the last
    back_at_the_kept_ids_reports_ann(db_path, clock, shop)


def test_a_backup_copied_back_by_hand_is_not_caught_up_from(db_path, tmp_path, clock):
    services, shop = backed_up_then_edited(db_path, tmp_path / "backup.db", clock)
    assert top_names(services.store) == ["Ann Edited"]
    services.store.close()
    shutil.copy(tmp_path / "backup.db", db_path)
    back_at_the_kept_ids_reports_ann(db_path, clock, shop)


def test_after_an_erasure_the_dashboard_resyncs_its_open_engine_at_once(services, shop):
    zelda = zelda_buys(services, shop)
    ctx = UIContext(services, Settings())
    try:
        assert ctx.resync_analytics_in_background() is None  # no engine yet: nothing to do
        ctx.analytics.summary(SYSTEM)
        services.accounts.erase_person(SYSTEM, customer_id=zelda)
        assert leaks(services.store)  # the open engine's file, until it syncs
        ctx.resync_analytics_in_background().join(timeout=300)
        assert leaks(services.store) == []
    finally:
        ctx.close()
