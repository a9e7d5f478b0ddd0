"""demo-data: fill an empty store with realistic, reproducible data."""

from __future__ import annotations

import time

from crpm.commands import UsageError
from crpm.commands.data import ProgressBar
from crpm.db import open_store


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo-data", help="fill an EMPTY store with demo data")
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument(
        "--purchases",
        type=int,
        default=10_000,
        help="number of purchase LINES (purchases hold 1 to 5 lines)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.set_defaults(handler=run_demo)


def run_demo(args) -> int:
    from crpm.demo import generate

    for name in ("customers", "products", "purchases"):
        if getattr(args, name) < 0:
            raise UsageError(f"--{name} must be 0 or more")
    store = open_store(args.db)
    started = time.perf_counter()
    with ProgressBar(" purchase lines", total=args.purchases, unit_scale=True) as report:
        counts = generate(
            store, args.customers, args.products, args.purchases, seed=args.seed, progress=report
        )
    elapsed = time.perf_counter() - started
    print(", ".join(f"{rows:,} {entity.replace('_', ' ')}s" for entity, rows in counts.items()))
    print(f"done in {elapsed:.1f} s")
    return 0
