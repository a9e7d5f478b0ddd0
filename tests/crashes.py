"""Killing real processes mid-write, and what the store must look like afterwards.

Shared by tests/unit/test_kills.py (a few kills) and bench/kill.py (as many as asked). Two
victims, each a real subprocess on a real store file:

- a clerk (`python -m tests.crashes DB LOG`) recording purchases, cancellations, returns and
  restocks through the services as fast as it can; after each commit it appends the purchase id
  to LOG, so every id in LOG was confirmed to a user before the kill;
- the CLI import (`python -m crpm --db DB import products FILE`), one transaction for the file.

Each victim gets SIGKILL at a random moment (the seed makes the moments repeatable); then the
store is opened again and checked.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from crpm.clock import FixedClock
from crpm.permissions import SYSTEM
from crpm.services import open_services
from tests.support import TODAY, assert_invariants

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ".import-*"  # the importer's staging files beside the store


@dataclass
class Tally:
    """How the kills went: how many landed while the victim was still running."""

    kills: int = 0
    mid_run: int = 0
    imports_whole: int = 0
    imports_none: int = 0
    confirmed: set = field(default_factory=set)


def seed_store(db: Path, products: int = 20, stock: int = 100_000) -> None:
    """Customers and well-stocked products for the clerk to sell."""
    services = open_services(db, FixedClock(TODAY))
    for number in range(products):
        services.customers.add(SYSTEM, f"Buyer {number}", f"buyer{number}@example.com")
        services.products.add(
            SYSTEM, f"KILL-{number}", f"Product {number}", price="3.50", stock_quantity=stock
        )
    services.store.close()


def clerk(db: str, log: str) -> None:
    """The victim: write as fast as possible until killed, logging each confirmed purchase."""
    services = open_services(Path(db), FixedClock(TODAY))
    store, purchases, pick = services.store, services.purchases, random.Random()
    customers = [row[0] for row in store.query("SELECT id FROM customers")]
    products = [row[0] for row in store.query("SELECT id FROM products")]
    with open(log, "a", buffering=1) as confirmed:
        while True:
            chosen = pick.sample(products, pick.randint(1, 4))
            lines = [(product, pick.randint(1, 3)) for product in chosen]
            purchase = purchases.record(SYSTEM, pick.choice(customers), lines)
            confirmed.write(f"{purchase.id}\n")
            roll = pick.random()
            if roll < 0.15:
                purchases.cancel(SYSTEM, purchase.id, "changed their mind")
            elif roll < 0.3:
                purchases.return_items(SYSTEM, purchase.lines[0].id, 1, "faulty")
            elif roll < 0.4:
                services.products.restock(SYSTEM, chosen[0], 5, "delivery")


def confirmed_ids(log: Path) -> set[int]:
    """The purchase ids the clerk logged (a line cut short by the kill is left out)."""
    text = log.read_text() if log.exists() else ""
    return {int(line) for line in text.split("\n")[:-1] if line}


def check_store(db: Path, confirmed: set[int] = frozenset()) -> None:
    """After a crash: SQLite's checks, foreign keys, stock = ledger and never below zero, every
    purchase with lines, every confirmed purchase still there."""
    services = open_services(db, FixedClock(TODAY))
    store = services.store
    try:
        assert store.query("PRAGMA integrity_check")[0][0] == "ok"
        assert_invariants(store)
        assert store.query("SELECT id FROM products WHERE stock < 0") == []
        present = {row[0] for row in store.query("SELECT id FROM purchases")}
        assert confirmed <= present, f"confirmed purchases lost: {sorted(confirmed - present)}"
    finally:
        store.close()


def kill_at(process: subprocess.Popen, seconds: float, tally: Tally) -> None:
    """SIGKILL the process after `seconds` (if it is still running then)."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        tally.mid_run += 1
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    tally.kills += 1


def kill_clerks(db: Path, kills: int, seed: int) -> Tally:
    """Start the clerk, let it write for a random moment, kill it, check; `kills` times."""
    pick, tally, log = random.Random(seed), Tally(), db.with_suffix(".confirmed")
    for _ in range(kills):
        before = len(confirmed_ids(log))
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.crashes", str(db), str(log)], cwd=ROOT
        )
        for _ in range(600):  # up to a minute for the first confirmed write
            if len(confirmed_ids(log)) > before or process.poll() is not None:
                break
            time.sleep(0.1)
        assert process.poll() is None, "the clerk stopped by itself"
        kill_at(process, pick.uniform(0.0, 0.5), tally)
        tally.confirmed = confirmed_ids(log)
        check_store(db, tally.confirmed)
    return tally


def products_csv(path: Path, prefix: str, rows: int) -> Path:
    lines = "".join(f"{prefix}-{n},Imported {n},4.25,{n % 50 + 1},Import\n" for n in range(rows))
    path.write_text(f"sku,name,price,stock,category\n{lines}")
    return path


def run_import(db: Path, csv: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "crpm", "--db", str(db), "import", "products", str(csv)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def imported(db: Path, prefix: str) -> int:
    services = open_services(db, FixedClock(TODAY))
    try:
        return services.store.query_one(
            "SELECT count(*) FROM products WHERE sku LIKE ?", (f"{prefix}-%",)
        )[0]
    finally:
        services.store.close()


def kill_imports(db: Path, kills: int, seed: int, rows: int = 20_000) -> Tally:
    """Time one whole import, then kill imports of the same size at random moments within that
    time; after each: the store is sound and holds all of that file or none of it."""
    pick, tally = random.Random(seed), Tally()
    started = time.monotonic()
    assert run_import(db, products_csv(db.with_suffix(".csv"), "WHOLE", rows)).wait(300) == 0
    whole = time.monotonic() - started
    assert imported(db, "WHOLE") == rows
    for number in range(kills):
        prefix = f"K{seed}-{number}"
        process = run_import(db, products_csv(db.with_suffix(".csv"), prefix, rows))
        kill_at(process, pick.uniform(0.1, 0.95) * whole, tally)
        check_store(db)
        count = imported(db, prefix)
        assert count in (0, rows), f"a killed import left {count} of {rows} rows"
        tally.imports_whole += count == rows
        tally.imports_none += count == 0
    return tally


def scratch_files(db: Path) -> list[str]:
    return sorted(path.name for path in db.parent.glob(SCRATCH))


def kill_with_scratch_file(process: subprocess.Popen, db: Path, seconds: float = 120) -> bool:
    """SIGKILL the import once its scratch file exists (a loaded machine starts it late);
    False if the import finished, or `seconds` passed, before one appeared."""
    waited = 0.0
    while not scratch_files(db) and process.poll() is None and waited < seconds:
        time.sleep(0.01)
        waited += 0.01
    caught = bool(scratch_files(db)) and process.poll() is None
    if caught:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return caught


if __name__ == "__main__":
    clerk(*sys.argv[1:3])
