"""Store benchmark: purchases per second through the service against raw sqlite3, and the
time of a 50-row customer page, plain and searched, near the start and deep in the list.

    .venv/bin/python bench/bench_store.py [--purchases 1000] [--runs 3] [--rebuild]

Stores are built once under bench/data/ (git-ignored) with crpm.demo.generate and reused:
100k customers, 10k products and 1M purchase lines, and a customers-only store with 1M
customers. The write benchmark adds a few thousand purchases to the first store per run, which
does not change its scale. Figures are medians; ratios compare runs made in this process.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crpm import demo  # noqa: E402
from crpm.db import Store  # noqa: E402
from crpm.permissions import SYSTEM  # noqa: E402
from crpm.services import Services  # noqa: E402
from crpm.services.search import fts_query  # noqa: E402
from crpm.services.stock import INSERT_MOVEMENT  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
SALES_STORE = ("store_100k.db", 100_000, 10_000, 1_000_000)
MILLION_STORE = ("customers_1m.db", 1_000_000, 0, 0)
LINES_PER_PURCHASE = 2
HOT_PRODUCTS = 200
THREADS = 8
PAGE = 50
SEARCH_TERM = "anna"


# --- stores -----------------------------------------------------------------------


def ensure_store(spec: tuple, rebuild: bool) -> Path:
    """The store file for (name, customers, products, lines), built with demo data if missing."""
    name, customers, products, lines = spec
    path = DATA / name
    if path.exists() and not rebuild:
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    building = path.with_suffix(".building")
    for stale in (building, path):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{stale}{suffix}").unlink(missing_ok=True)
    print(f"building {name}: {customers:,} customers, {products:,} products, {lines:,} lines")
    started = time.perf_counter()
    store = Store.open(building)
    demo.generate(store, customers=customers, products=products, purchases=lines)
    store.close()
    building.rename(path)
    print(f"  built in {time.perf_counter() - started:.0f} s")
    return path


# --- writing purchases --------------------------------------------------------------


def make_orders(store: Store, count: int, seed: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """`count` purchases of LINES_PER_PURCHASE distinct hot products, for active customers."""
    rng = random.Random(seed)
    customers = [
        row[0]
        for row in store.query(
            "SELECT id FROM customers WHERE status = 'active' ORDER BY id LIMIT 5000"
        )
    ]
    products = hot_products(store)
    return [
        (rng.choice(customers), [(pid, rng.randint(1, 3)) for pid in rng.sample(products, 2)])
        for _ in range(count)
    ]


def hot_products(store: Store) -> list[int]:
    rows = store.query(
        "SELECT id FROM products WHERE status = 'active' ORDER BY id LIMIT ?", (HOT_PRODUCTS,)
    )
    return [row[0] for row in rows]


def stock_up(services: Services) -> None:
    """Give the benchmarked products enough stock for every run, through the service."""
    for product_id in hot_products(services.store):
        if services.products.get(SYSTEM, product_id).stock < 100_000:
            services.products.restock(SYSTEM, product_id, 500_000, "benchmark stock")


def service_writer(services: Services) -> Callable:
    def record(orders) -> None:
        for customer_id, lines in orders:
            services.purchases.record(SYSTEM, customer_id, lines)

    return record


RAW_STATEMENTS = (
    "INSERT INTO purchases (customer_id, purchased_at, recorded_by, source) VALUES (?, ?, ?, ?)",
    "INSERT INTO purchase_lines (purchase_id, product_id, quantity, unit_price_cents, net_cents)"
    " SELECT ?1, ?2, ?3, price_cents, ?3 * price_cents FROM products WHERE id = ?4",
    "UPDATE products SET stock = stock - ?1 WHERE id = ?2 AND stock >= ?1 RETURNING stock",
    INSERT_MOVEMENT,  # the ledger's own statement
)


def raw_writer(store: Store) -> Callable:
    """The same rows as the service writes, with plain sqlite3 on a connection per thread."""
    local = threading.local()

    def record(orders) -> None:
        if not hasattr(local, "conn"):
            local.conn = store.connect()
        conn = local.conn
        purchase_sql, line_sql, stock_sql, movement_sql = RAW_STATEMENTS
        for customer_id, lines in orders:
            at = store.clock.stamp()
            conn.execute("BEGIN IMMEDIATE")
            purchase_id = conn.execute(purchase_sql, (customer_id, at, "bench", "api")).lastrowid
            for product_id, quantity in lines:
                conn.execute(line_sql, (purchase_id, product_id, quantity, product_id))
                stock = conn.execute(stock_sql, (quantity, product_id)).fetchone()[0]
                movement = (product_id, "sale", -quantity, stock, purchase_id, "", at, "bench")
                conn.execute(movement_sql, movement)
            conn.execute("COMMIT")

    return record


def purchases_per_second(record: Callable, orders: list, threads: int) -> tuple[float, float]:
    """Run `record` over the orders split across `threads` threads: purchases per wall-clock
    second, and per CPU second of this process (less sensitive to other load on the machine)."""
    shares = [orders[index::threads] for index in range(threads)]
    workers = [threading.Thread(target=record, args=(share,)) for share in shares]
    started, cpu_started = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return len(orders) / wall, len(orders) / cpu


def write_rows(path: Path, count: int, runs: int) -> list[tuple]:
    store = Store.open(path)
    services = Services(store)
    stock_up(services)
    writers = {"service": service_writer(services), "raw sqlite3": raw_writer(store)}
    rows = []
    for threads in (1, THREADS):
        rates = {name: [] for name in writers}
        for run in range(runs):  # alternate, so that both see the same machine load
            for name, record in writers.items():
                orders = make_orders(store, count, seed=run * 100 + threads)
                rates[name].append(purchases_per_second(record, orders, threads))
        (service, service_cpu), (raw, raw_cpu) = (
            [statistics.median(rate[i] for rate in rates[name]) for i in (0, 1)] for name in writers
        )
        label = f"record purchase, {threads} thread(s)"
        rows.append(
            (label, service, raw, service / raw, service_cpu, raw_cpu, service_cpu / raw_cpu)
        )
    assert store.check_integrity() == [], "the benchmark broke the store"
    store.close()
    return rows


# --- reading pages --------------------------------------------------------------------


def median_ms(call: Callable, runs: int) -> float:
    call()  # warm the page cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def page_rows(path: Path, offsets: tuple[int, ...], runs: int) -> list[tuple]:
    """Median ms of a 50-row page by offset and by key (after_id), plain and searched."""
    store = Store.open(path)
    customers = Services(store).customers
    matches = store.query_one(
        "SELECT count(*) FROM customers_fts WHERE customers_fts MATCH ?", (fts_query(SEARCH_TERM),)
    )[0]
    search_offsets = tuple(int(matches * share) for share in (0, 0.5, 0.9))
    rows = []
    for search, offsets_here in (("", offsets), (SEARCH_TERM, search_offsets)):
        what = f"search '{search}' ({matches:,} hits)" if search else "list"
        for offset in offsets_here:
            key = key_before(customers, search, offset)
            by_offset = median_ms(page_call(customers, search=search, offset=offset), runs)
            by_key = median_ms(page_call(customers, search=search, after_id=key), runs)
            rows.append((f"{path.stem}: {what}, row {offset:,}", by_offset, by_key))
    store.close()
    return rows


def page_call(customers, **options) -> Callable:
    return lambda: customers.list(SYSTEM, limit=PAGE, **options)


def key_before(customers, search: str, offset: int) -> int | None:
    """The after_id that starts a keyset page at the same row as `offset` (found untimed)."""
    if offset == 0:
        return None
    return customers.list(SYSTEM, search=search, limit=1, offset=offset - 1).items[0].id


# --- output -------------------------------------------------------------------------------


def print_write_table(rows: list[tuple], count: int) -> None:
    print(f"\nPurchases ({LINES_PER_PURCHASE} lines each, {count:,} per run, median of runs)")
    print(f"{'':32} {'per wall-clock second':^38} {'per CPU second':^38}")
    header = f"{'service':>12} {'raw sqlite3':>12} {'ratio':>12}"
    print(f"{'':32} {header} {header}")
    for label, *figures in rows:
        wall, cpu = figures[:3], figures[3:]
        print(f"{label:32} {columns(wall)} {columns(cpu)}")


def columns(figures) -> str:
    service, raw, ratio = figures
    return f"{service:12,.0f} {raw:12,.0f} {ratio:12.2f}"


def print_page_table(rows: list[tuple]) -> None:
    print(f"\nCustomer pages ({PAGE} rows, median ms of the service call incl. its count)")
    print(f"{'':60} {'offset':>9} {'after_id':>9}")
    for label, by_offset, by_key in rows:
        print(f"{label:60} {by_offset:9.2f} {by_key:9.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--purchases", type=int, default=1000, help="purchases per timed run")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure")
    parser.add_argument("--page-runs", type=int, default=9, help="timed calls per page figure")
    parser.add_argument("--rebuild", action="store_true", help="build the stores again")
    parser.add_argument("--skip-million", action="store_true", help="no 1M-customer store")
    args = parser.parse_args(argv)

    sales_store = ensure_store(SALES_STORE, args.rebuild)
    write = write_rows(sales_store, args.purchases, args.runs)
    pages = page_rows(sales_store, (0, 50_000, 90_000), args.page_runs)
    if not args.skip_million:
        million = ensure_store(MILLION_STORE, args.rebuild)
        pages += page_rows(million, (0, 500_000, 990_000), args.page_runs)
    print_write_table(write, args.purchases)
    print_page_table(pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
