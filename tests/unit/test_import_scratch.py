"""An import killed mid-way (SIGKILL, power cut) leaves its scratch database beside the store;
the next import removes it, and never the scratch file of an import that is still running."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.support import TODAY

# A child that opens the store and starts an import that stops at its first progress report,
# says so on stdout, and waits there until it is killed.
CHILD = f"""
import sys, threading
from crpm.clock import FixedClock
from crpm.permissions import SYSTEM
from crpm.services import open_services

services = open_services(sys.argv[1], FixedClock({TODAY!r}))

def progress(done, total, stage):
    print("importing", flush=True)
    threading.Event().wait()

services.imports.run(SYSTEM, "customers", sys.argv[2], progress=progress)
"""


def scratch_files(folder: Path) -> set[str]:
    return {path.name for path in folder.glob(".import-*.db")}


def start_import(db_path: Path, csv_path: Path) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db_path), str(csv_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout.readline() == "importing\n"  # its scratch file exists now
    return child


def kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)


def test_a_killed_imports_scratch_file_goes_and_a_live_ones_stays(services, actor, tmp_path):
    folder = services.store.path.parent
    path = tmp_path / "customers.csv"
    path.write_text("name,email\nAnn,ann@example.com\n")

    killed = start_import(services.store.path, path)
    kill(killed)
    left = scratch_files(folder)
    assert len(left) == 1  # what the security test found: nothing removed it

    live = start_import(services.store.path, path)  # its import clears the dead one's file
    try:
        held = scratch_files(folder) - left
        assert scratch_files(folder) == held and len(held) == 1
        report = services.imports.run(actor, "customers", path, dry_run=True)
        assert report.ok and report.created == 1
        assert scratch_files(folder) == held  # a running import's file is never taken
    finally:
        kill(live)
    services.imports.run(actor, "customers", path, dry_run=True)
    assert scratch_files(folder) == set()
