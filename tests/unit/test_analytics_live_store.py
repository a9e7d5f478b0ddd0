"""The analytics engine's full load must never touch the live store's WAL index.

DuckDB's sqlite scanner carries its own SQLite; opened on the live file it reset the WAL index
that this process's connections map, and the process died of SIGBUS while a writer was busy
(seen in CI). The race is timing-dependent, so the check repeats the full load beside a writer,
in a child process whose crash is the failure (before the fix: a bus error within 40 loads).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys, threading
from crpm.analytics import Analytics
from crpm.permissions import SYSTEM
from crpm.services import open_services

services = open_services(sys.argv[1])
ann = services.customers.add(SYSTEM, "Ann", "ann@example.com")
widget = services.products.add(SYSTEM, "W-1", "Widget", "1.00", stock_quantity=1_000_000)
stop = threading.Event()

def sell():
    while not stop.is_set():
        services.purchases.record(SYSTEM, ann.id, [(widget.id, 1)])

writer = threading.Thread(target=sell)
writer.start()
try:
    for _ in range(int(sys.argv[2])):
        engine = Analytics(services.store, keep=False)  # never a kept copy
        engine.summary(SYSTEM)  # a new engine's first report is a full load
        engine.close()
finally:
    stop.set()
    writer.join()
print(services.store.check_integrity() or "ok")
"""


def test_full_loads_beside_a_busy_writer_leave_the_process_and_store_sound(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "crpm.db"), "40"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
