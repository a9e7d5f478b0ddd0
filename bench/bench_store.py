"""Store benchmark: purchases per second through the service against the bare driver (raw
sqlite3, or raw psycopg on PostgreSQL), and the time of a 50-row customer page, plain and
searched, near the start and deep in the list.

    .venv/bin/python bench/bench_store.py [--purchases 1000] [--runs 3] [--rebuild]
    .venv/bin/python bench/bench_store.py --db postgresql://postgres@127.0.0.1:5432/test

Purchases are timed at 1, 8 and 32 threads in this process, and with 4 processes of 8 threads
each (every process its own store, pool and threads), each figure against the driver writing
the same rows. With --db the store is a copy of the SQLite one in the schema `bench_store` (or
the one the URL's search_path names), made once with migrate-store's copy and reused.

Stores are built once under bench/data/ (git-ignored) with crpm.demo.generate and reused:
100k customers, 10k products and 1M purchase lines, and a customers-only store with 1M
customers. The write benchmark adds a few thousand purchases to the first store per run, which
does not change its scale. Figures are medians; ratios compare runs made in this process.
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_analytics import load_text  # noqa: E402
from bench.pgschema import pg_copy_of  # noqa: E402
from crpm import demo  # noqa: E402
from crpm.db import Store, open_store  # noqa: E402
from crpm.permissions import SYSTEM  # noqa: E402
from crpm.services import Services  # noqa: E402
from crpm.services.search import word_search  # noqa: E402
from crpm.services.stock import INSERT_MOVEMENT  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
SALES_STORE = ("store_100k.db", 100_000, 10_000, 1_000_000)
MILLION_STORE = ("customers_1m.db", 1_000_000, 0, 0)
LINES_PER_PURCHASE = 2
HOT_PRODUCTS = 200
THREAD_COUNTS = (1, 8, 32)
PROCESSES, THREADS = 4, 8
PG_SCHEMA = "bench_store"
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


def make_orders(store, count: int, seed: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """`count` purchases of LINES_PER_PURCHASE distinct hot products, for active customers; the
    lines in product order, so that writers without the store's write lock (raw psycopg) take
    the rows' locks in one order and never deadlock."""
    rng = random.Random(seed)
    customers = [
        row[0]
        for row in store.query(
            "SELECT id FROM customers WHERE status = 'active' ORDER BY id LIMIT 5000"
        )
    ]
    products = hot_products(store)
    return [
        (rng.choice(customers), [(pid, rng.randint(1, 3)) for pid in picked])
        for picked in (sorted(rng.sample(products, 2)) for _ in range(count))
    ]


def hot_products(store) -> list[int]:
    rows = store.query(
        "SELECT id FROM products WHERE status = 'active' ORDER BY id LIMIT ?", (HOT_PRODUCTS,)
    )
    return [row[0] for row in rows]


def stock_up(services: Services) -> None:
    """Give the benchmarked products enough stock for every run, through the service."""
    for product_id in hot_products(services.store):
        if services.products.get(SYSTEM, product_id).stock < 100_000:
            services.products.restock(SYSTEM, product_id, 500_000, "benchmark stock")


class ServiceWriter:
    """Purchases through the service: one unit of work each, the store's connection per thread."""

    name = "service"

    def __init__(self, store):
        self.services = Services(store)

    def begin(self) -> None:
        _ = self.services.store.conn  # this thread's connection, made before the clock starts

    def record(self, orders) -> None:
        for customer_id, lines in orders:
            self.services.purchases.record(SYSTEM, customer_id, lines)

    def end(self) -> None:
        pass

    def finish(self) -> None:
        """After a run: its threads' connections go (PostgreSQL: the pool is closed)."""
        self.services.store.close()


RAW_STATEMENTS = (
    "INSERT INTO purchases (customer_id, purchased_at, recorded_by, source)"
    " VALUES (?, ?, ?, ?) RETURNING id",
    "INSERT INTO purchase_lines (purchase_id, product_id, quantity, unit_price_cents, net_cents)"
    " SELECT ?1, ?2, ?3, price_cents, ?3 * price_cents FROM products WHERE id = ?4",
    "UPDATE products SET stock = stock - ?1 WHERE id = ?2 AND stock >= ?1 RETURNING stock",
    INSERT_MOVEMENT,  # the ledger's own statement
)


class RawWriter:
    """The same rows as the service writes, with the driver alone on a connection per thread:
    the purchase, each line priced from its product, the conditional stock update and the
    ledger row, in one transaction."""

    name = "raw sqlite3"
    begin_sql = "BEGIN IMMEDIATE"

    def __init__(self, store):
        self.store = store
        self.local = threading.local()

    def connect(self):
        return self.store.connect()

    def execute(self, conn, sql: str, params=None):
        return conn.execute(sql, params or ())

    def begin(self) -> None:
        self.local.conn = self.connect()

    def record(self, orders) -> None:
        conn, run = self.local.conn, self.execute
        purchase_sql, line_sql, stock_sql, movement_sql = RAW_STATEMENTS
        for customer_id, lines in orders:
            at = self.store.clock.stamp()
            run(conn, self.begin_sql)
            purchase_id = run(conn, purchase_sql, (customer_id, at, "bench", "api")).fetchone()[0]
            for product_id, quantity in lines:
                run(conn, line_sql, (purchase_id, product_id, quantity, product_id))
                stock = run(conn, stock_sql, (quantity, product_id)).fetchone()[0]
                movement = (product_id, "sale", -quantity, stock, purchase_id, "", at, "bench")
                run(conn, movement_sql, movement)
            run(conn, "COMMIT")

    def end(self) -> None:
        self.local.conn.close()

    def finish(self) -> None:
        pass


class RawPsycopgWriter(RawWriter):
    """RawWriter on psycopg: plain BEGIN (no advisory lock: the rows' own locks order the
    writers), the statements' marks turned into psycopg's once (crpm.pgstore.driver_sql)."""

    name = "raw psycopg"
    begin_sql = "BEGIN"

    def connect(self):
        import psycopg

        return psycopg.connect(self.store.url, autocommit=True)

    def execute(self, conn, sql: str, params=None):
        from crpm.pgstore import driver_params, driver_sql

        text, order = driver_sql(sql)
        return conn.execute(text, driver_params(order, params) if params else None)


def make_writer(name: str, store):
    if name == "service":
        return ServiceWriter(store)
    return RawPsycopgWriter(store) if store.dialect == "postgresql" else RawWriter(store)


def timed_threads(writer, orders: list, threads: int, ready=None) -> tuple[float, float, float]:
    """Record the orders split across `threads` threads, each connected before the clock
    starts (and after `ready`, a barrier across processes, when given): (start and end on the
    machine's monotonic clock, CPU seconds of this process)."""
    warm, go = threading.Barrier(threads + 1), threading.Barrier(threads + 1)
    failures = []

    def work(share) -> None:
        try:
            writer.begin()
            warm.wait()
            go.wait()
            writer.record(share)
            writer.end()
        except Exception as exc:  # reported after the run: a failed run has no figure
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(orders[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    warm.wait()
    if ready is not None:
        ready.wait()
    started, cpu_started = time.monotonic(), time.process_time()
    go.wait()
    for worker in workers:
        worker.join()
    ended, cpu = time.monotonic(), time.process_time() - cpu_started
    writer.finish()
    if failures:
        raise failures[0]
    return started, ended, cpu


def thread_rate(store, name: str, count: int, threads: int, seed: int) -> tuple[float, float]:
    """Purchases per wall-clock second and per CPU second of this process."""
    orders = make_orders(store, count, seed)
    started, ended, cpu = timed_threads(make_writer(name, store), orders, threads)
    return count / (ended - started), count / cpu


def child_run(location: str, name: str, count: int, threads: int, seed: int, ready, out) -> None:
    """One of several processes: its own store (and pool) and threads."""
    store = open_store(location)
    orders = make_orders(store, count, seed)
    out.put(timed_threads(make_writer(name, store), orders, threads, ready))
    store.close()


def process_rate(location: str, name: str, count: int, seed: int) -> tuple[float, float]:
    """PROCESSES processes of THREADS threads recording `count` purchases between them: per
    wall-clock second (first start to last end) and per CPU second of all of them."""
    context = multiprocessing.get_context("spawn")
    ready, out = context.Barrier(PROCESSES), context.Queue()
    share = count // PROCESSES
    children = [
        context.Process(
            target=child_run, args=(location, name, share, THREADS, seed + index, ready, out)
        )
        for index in range(PROCESSES)
    ]
    for child in children:
        child.start()
    results = collect(out, children, name)
    started, ended = min(r[0] for r in results), max(r[1] for r in results)
    return share * PROCESSES / (ended - started), share * PROCESSES / sum(r[2] for r in results)


def collect(out, children: list, name: str) -> list[tuple]:
    """Each child's result, or an error as soon as one of them has died without one."""
    results = []
    while len(results) < len(children):
        try:
            results.append(out.get(timeout=5))
        except queue.Empty:
            if any(child.exitcode not in (None, 0) for child in children):
                raise RuntimeError(f"a {name} process failed") from None
    for child in children:
        child.join()
    return results


def write_rows(location, count: int, runs: int) -> list[tuple]:
    store = open_store(location)
    stock_up(Services(store))
    names = ("service", make_writer("raw", store).name)
    rows = []
    for threads in (*THREAD_COUNTS, None):  # None: PROCESSES processes of THREADS threads
        rates = {name: [] for name in names}
        for run in range(runs):  # alternate, so that both see the same machine load
            for name in names:
                seed = run * 100 + (threads or 99)
                rates[name].append(
                    thread_rate(store, name, count, threads, seed)
                    if threads
                    else process_rate(str(location), name, count, seed)
                )
        (service, service_cpu), (raw, raw_cpu) = (
            [statistics.median(rate[i] for rate in rates[name]) for i in (0, 1)] for name in names
        )
        label = f"{threads} thread(s)" if threads else f"{PROCESSES} processes x {THREADS}"
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


def page_rows(location, offsets: tuple[int, ...], runs: int) -> list[tuple]:
    """Median ms of a 50-row page by offset and by key (after_id), plain and searched."""
    store = open_store(location)
    customers = Services(store).customers
    found = word_search(store.dialect, "customers", SEARCH_TERM)
    matches = store.query_one(f"SELECT count(*) FROM {found.source} WHERE {found.condition}",
                              found.params)[0]  # fmt: skip
    name = Path(location).stem if store.dialect == "sqlite" else PG_SCHEMA
    search_offsets = tuple(int(matches * share) for share in (0, 0.5, 0.9))
    rows = []
    for search, offsets_here in (("", offsets), (SEARCH_TERM, search_offsets)):
        what = f"search '{search}' ({matches:,} hits)" if search else "list"
        for offset in offsets_here:
            key = key_before(customers, search, offset)
            by_offset = median_ms(page_call(customers, search=search, offset=offset), runs)
            by_key = median_ms(page_call(customers, search=search, after_id=key), runs)
            rows.append((f"{name}: {what}, row {offset:,}", by_offset, by_key))
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


def print_write_table(rows: list[tuple], count: int, engine: str) -> None:
    raw = "raw psycopg" if engine == "postgresql" else "raw sqlite3"
    print(f"\nPurchases on {engine} ({LINES_PER_PURCHASE} lines each, {count:,} per run, median"
          f" of runs; CPU: the client processes'; load average {load_text()})")  # fmt: skip
    print(f"{'':32} {'per wall-clock second':^38} {'per CPU second':^38}")
    header = f"{'service':>12} {raw:>12} {'ratio':>12}"
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
    parser.add_argument("--skip-pages", action="store_true", help="purchases only")
    parser.add_argument("--db", help="a PostgreSQL server's URL: bench a copy of the store there")
    args = parser.parse_args(argv)

    sales_store = bench_location(SALES_STORE, args)
    print(f"load average at the start {load_text()}")
    write = write_rows(sales_store, args.purchases, args.runs)
    pages = [] if args.skip_pages else page_rows(sales_store, (0, 50_000, 90_000), args.page_runs)
    if not (args.skip_million or args.skip_pages):
        million = bench_location(MILLION_STORE, args)
        pages += page_rows(million, (0, 500_000, 990_000), args.page_runs)
    print_write_table(write, args.purchases, "postgresql" if args.db else "sqlite")
    if pages:
        print_page_table(pages)
    return 0


def bench_location(spec: tuple, args) -> str | Path:
    """The SQLite store for `spec`, or with --db its copy in a schema named after it."""
    path = ensure_store(spec, args.rebuild)
    if not args.db:
        return path
    schema = PG_SCHEMA if spec is SALES_STORE else f"bench_{path.stem}"
    return pg_copy_of(args.db, schema, path)


if __name__ == "__main__":
    sys.exit(main())
