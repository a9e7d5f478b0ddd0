"""Analytics restart benchmark: an engine started from scratch against one restarted from its
kept mirror (crpm/analytics/mirrorfile.py).

    .venv/bin/python bench/bench_restart.py --purchases 1000000 [--runs 3] [--new 1000]
    .venv/bin/python bench/bench_restart.py --db postgresql://user@host/db [--purchases N]

Works on a throwaway copy of bench/data/analytics_N.db (built as bench_analytics.py builds it),
or with --db on its PostgreSQL copy, the schema `bench_analytics_N` that bench_analytics.py
makes and shares (or the one the URL's search_path names), which records --new purchases a run.
Each run is a new process, as a restarted app is; it times opening the engine and answering the
summary:
  memory     the mirror in memory, as every start was before mirrors were kept
  cold       no kept mirror: the whole store loaded into a new file
  restart    the kept mirror, nothing new in the store
  catch-up   the kept mirror, --new purchases recorded while no engine ran
Prints the median of --runs runs of each, the full loads each made and the kept file's size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.bench_analytics as base  # noqa: E402  (its stores, copies and load figures)
from bench.pgschema import pg_copy_of  # noqa: E402
from crpm.analytics import Analytics  # noqa: E402
from crpm.analytics.mirrorfile import base_path  # noqa: E402
from crpm.permissions import SYSTEM  # noqa: E402
from crpm.services import open_services  # noqa: E402


def child(location: str, keep: bool) -> None:
    """One start: open the engine, answer the summary; print the time and the full loads."""
    services = open_services(location)
    started = time.perf_counter()
    engine = Analytics(services.store, keep=keep)
    orders = engine.summary(SYSTEM).orders
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "loads": engine._mirror.loads, "orders": orders}))
    engine.close()
    services.store.close()


def start(location: str, keep: bool = True) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", location, *([] if keep else ["--memory"])],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def forget_mirror(location: str) -> None:
    """Delete the kept mirror: the next start is a cold one."""
    services = open_services(location)
    base.forget_kept(services.store)
    services.store.close()


def record(location: str, count: int) -> None:
    services = open_services(location)
    store = services.store
    customer_id = store.query_one("SELECT id FROM customers WHERE status='active' LIMIT 1")[0]
    product_id = store.query_one("SELECT id FROM products WHERE status='active' LIMIT 1")[0]
    for _ in range(count):
        base.record_one_purchase(services, customer_id, product_id)
    store.close()


def kept_size_mb(location: str) -> float:
    services = open_services(location)
    kept = base_path(services.store)
    services.store.close()
    return kept.stat().st_size / 1e6 if kept.exists() else 0.0


def measure(location: str, runs: int, new: int) -> dict[str, list[dict]]:
    results = {"memory": [], "cold": [], "restart": [], "catch-up": []}
    for _ in range(runs):  # interleaved, so that a shared machine's load hits all alike
        results["memory"].append(start(location, keep=False))
        forget_mirror(location)
        results["cold"].append(start(location))
        results["restart"].append(start(location))
        record(location, new)
        results["catch-up"].append(start(location))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=1_000_000, help="purchase lines")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--new", type=int, default=1000, help="purchases before a catch-up")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", help="a PostgreSQL store's URL instead of the SQLite one")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, keep=not args.memory)
        return
    path = base.store_for(args.purchases, args.seed)
    copy = None if args.db else base.throwaway_copy(path)
    location = pg_copy_of(args.db, f"bench_{path.stem}", path) if args.db else str(copy)
    print(f"store {location}; median of {args.runs} runs, each a new process; "
          f"catch-up after {args.new} purchases; load average {base.load_text()}")  # fmt: skip
    try:
        results = measure(location, args.runs, args.new)
        size = kept_size_mb(location)
    finally:
        if copy is not None:
            base.remove_copy(copy)
    print(f"{'start':<10}{'median s':>10}{'runs s':>28}{'full loads':>12}")
    for name, rows in results.items():
        times = [row["seconds"] for row in rows]
        each = ", ".join(f"{t:.2f}" for t in times)
        loads = sum(row["loads"] for row in rows)
        print(f"{name:<10}{statistics.median(times):>10.2f}{each:>28}{loads:>12}")
    print(f"kept mirror file: {size:.0f} MB; load average at the end {base.load_text()}")


if __name__ == "__main__":
    main()
