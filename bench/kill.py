"""The kill suite, longer: SIGKILL a clerk recording purchases and the CLI import at random
moments, many times (tests/crashes.py; tests/unit/test_kills.py runs 5 of each in CI).

    .venv/bin/python bench/kill.py [--kills 50] [--seed 1] [--rows 20000]

Prints how many kills landed mid-run, how many confirmed purchases survived and how many
killed imports were undone or whole; any failed check raises with what was wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.crashes import kill_clerks, kill_imports, scratch_files, seed_store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rows", type=int, default=20_000, help="rows of each imported file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crpm-kill-") as folder:
        started = time.monotonic()
        db = Path(folder) / "clerk.db"
        seed_store(db)
        tally = kill_clerks(db, args.kills, args.seed)
        print(
            f"clerk: {tally.kills} kills, {tally.mid_run} mid-run, all checks passed;"
            f" {len(tally.confirmed)} confirmed purchases all present"
            f" ({time.monotonic() - started:.0f} s)"
        )
        started = time.monotonic()
        db = Path(folder) / "import.db"
        seed_store(db, products=2)
        tally = kill_imports(db, args.kills, args.seed, args.rows)
        print(
            f"import: {tally.kills} kills, {tally.mid_run} mid-run, all checks passed;"
            f" {tally.imports_none} imports undone, {tally.imports_whole} whole"
            f" ({time.monotonic() - started:.0f} s); scratch files left: {len(scratch_files(db))}"
        )


if __name__ == "__main__":
    main()
