"""SIGKILL mid-write: a clerk recording purchases and the CLI import, killed at random moments
(tests/crashes.py). After each kill the store is sound, every purchase a user was told about is
there, and an import holds all of its file or none. `bench/kill.py --kills N` runs more."""

from __future__ import annotations

import os

import pytest

from tests.crashes import (
    imported,
    kill_clerks,
    kill_imports,
    kill_with_scratch_file,
    products_csv,
    run_import,
    scratch_files,
    seed_store,
)

KILLS = int(os.environ.get("CRPM_KILLS", "5"))
ROWS = 20_000  # an import long enough (about a second) to be killed in the middle

pytestmark = pytest.mark.slow


def test_a_clerk_killed_mid_write_loses_nothing_it_confirmed(tmp_path):
    db = tmp_path / "crpm.db"
    seed_store(db)
    tally = kill_clerks(db, KILLS, seed=13)
    assert (tally.kills, tally.mid_run) == (KILLS, KILLS)
    assert len(tally.confirmed) >= KILLS  # each run confirmed at least one purchase


def test_an_import_killed_mid_run_writes_all_of_its_file_or_none(tmp_path):
    db = tmp_path / "crpm.db"
    seed_store(db, products=2)
    tally = kill_imports(db, KILLS, seed=17, rows=ROWS)
    assert tally.kills == KILLS
    assert tally.mid_run >= max(1, KILLS // 2), "the kills came after the imports had finished"
    assert tally.imports_none >= 1  # at least one kill undid a whole import


def test_a_killed_import_leaves_no_scratch_file(tmp_path):
    """The importer stages rows in a `.import-*.db` file beside the store; a kill leaves it,
    and the next import (or opening the store) must clear it."""
    db = tmp_path / "crpm.db"
    seed_store(db, products=2)
    for number in range(3):  # until a kill catches the import with its scratch file
        process = run_import(db, products_csv(tmp_path / "big.csv", f"BIG{number}", ROWS))
        if kill_with_scratch_file(process, db):
            break
    assert scratch_files(db), "no kill caught an import while it had its scratch file"
    assert run_import(db, products_csv(tmp_path / "small.csv", "SMALL", 10)).wait(120) == 0
    assert imported(db, "SMALL") == 10  # opens the store too
    assert scratch_files(db) == []
