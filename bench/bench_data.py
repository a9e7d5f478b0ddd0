"""Demo-data generation, CSV export and CSV import at scale, against same-process baselines.

    .venv/bin/python bench/bench_data.py [--lines 1000000] [--customers 100000]
                                         [--products 10000] [--repeat 1] [--dir DIR]

Prints one table: median seconds over --repeat runs, rows per second, the peak resident memory
during the phase (sampled from /proc), and the ratio to the baselines measured in this same
process on the same file: a bare csv.reader pass, and csv.reader feeding executemany into a
plain table in one transaction (the least an import must do: read and write every row).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crpm import demo  # noqa: E402
from crpm.db import Store  # noqa: E402
from crpm.permissions import SYSTEM  # noqa: E402
from crpm.services.exporter import ExportService  # noqa: E402
from crpm.services.importer import ImportService  # noqa: E402

PAGE = 4096


class PeakRss:
    """Samples this process's resident memory every 20 ms while the block runs."""

    def __enter__(self):
        self.start = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def measure(repeat: int, prepare, action) -> tuple[float, float, int]:
    """Median wall and CPU seconds, and the largest RSS growth, over runs of action(prepare()).

    CPU seconds (this process, SQLite included: it runs in our thread) matter on a shared
    machine, where wall time also counts the waits for a core.
    """
    times, cpu, growth = [], [], []
    for _ in range(repeat):
        argument = prepare()
        with PeakRss() as rss:
            started, started_cpu = time.perf_counter(), time.process_time()
            action(argument)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        growth.append(rss.peak - rss.start)
    return statistics.median(times), statistics.median(cpu), max(growth)


def fresh_store(folder: Path, name: str) -> Store:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{folder / name}{suffix}").unlink(missing_ok=True)
    return Store.open(folder / name)


def baseline_parse(path: Path) -> int:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return sum(1 for _ in csv.reader(handle))


def baseline_executemany(path: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        columns = ", ".join(f"c{index} TEXT" for index in range(len(header)))
        conn.execute(f"CREATE TABLE rows ({columns})")
        marks = ", ".join("?" for _ in header)
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO rows VALUES ({marks})", reader)
        conn.execute("COMMIT")
    conn.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-data-"))
    folder.mkdir(parents=True, exist_ok=True)
    sizes = (args.customers, args.products, args.lines)
    results = []

    def phase(name: str, rows: int, prepare, action, repeat: int = args.repeat):
        results.append((name, rows, *measure(repeat, prepare, action)))

    def generate(store):
        demo.generate(store, *sizes, seed=1)
        store.close()

    phase("demo-data generate", args.lines, lambda: fresh_store(folder, "demo.db"), generate)
    source = Store.open(folder / "demo.db")
    files = {kind: folder / f"{kind}.csv" for kind in ("customers", "products", "purchases")}
    for kind in ("customers", "products"):
        ExportService(source).export(SYSTEM, kind, files[kind])
    phase(
        "export purchases",
        args.lines,
        lambda: files["purchases"],
        lambda path: ExportService(source).export(SYSTEM, "purchases", path),
    )
    source.close()
    phase("baseline: csv.reader only", args.lines, lambda: files["purchases"], baseline_parse)
    phase(
        "baseline: csv.reader + executemany",
        args.lines,
        lambda: folder / "raw.db",
        lambda target: baseline_executemany(files["purchases"], target),
    )

    base = fresh_store(folder, "base.db")
    for kind, rows in (("customers", args.customers), ("products", args.products)):
        phase(
            f"import {kind}",
            rows,
            lambda: base,
            lambda store, kind=kind: _import(store, kind, files[kind]),
            repeat=1,
        )
    base.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    base.close()

    def copy_of_base() -> Store:
        for suffix in ("-wal", "-shm"):
            Path(f"{folder / 'import.db'}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(folder / "base.db", folder / "import.db")
        return Store.open(folder / "import.db")

    def import_purchases(store):
        _import(store, "purchases", files["purchases"])
        store.close()

    phase("import purchases", args.lines, copy_of_base, import_purchases)
    print_table(results, args)
    if args.dir is None:
        shutil.rmtree(folder, ignore_errors=True)


def _import(store: Store, kind: str, path: Path) -> None:
    report = ImportService(store).run(SYSTEM, kind, path)
    assert report.ok and report.written and report.created, report.text()


def print_table(results, args) -> None:
    baseline = {name: wall for name, _, wall, _, _ in results if name.startswith("baseline")}
    parse = baseline["baseline: csv.reader only"]
    raw = baseline["baseline: csv.reader + executemany"]
    print(
        f"\nbench_data: {args.lines:,} purchase lines, {args.customers:,} customers, "
        f"{args.products:,} products; median of {args.repeat} run(s)"
    )
    print(
        f"{'phase':<36}{'rows':>11}{'wall s':>9}{'cpu s':>8}{'rows/s':>10}{'+RSS':>9}"
        f"{'x parse':>9}{'x raw':>7}"
    )
    for name, rows, wall, cpu, growth in results:
        print(
            f"{name:<36}{rows:>11,}{wall:>9.2f}{cpu:>8.2f}{rows / wall:>10,.0f}"
            f"{growth / 2**20:>6.0f} MB{wall / parse:>9.1f}{wall / raw:>7.2f}"
        )
    print(
        "wall: elapsed; cpu: this process's CPU time; +RSS: peak resident memory growth during"
        " the phase; x parse / x raw: wall time over the baselines'"
    )


if __name__ == "__main__":
    main()
