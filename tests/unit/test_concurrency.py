"""Many clerks selling the same product at once: exactly the stock on hand gets sold.

Threads share one Store, whose connections are per thread; processes each open their own. The
sales run on both engines (SQLite's BEGIN IMMEDIATE, PostgreSQL's write advisory lock).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

import pytest

from crpm.db import open_store
from crpm.errors import OutOfStock
from crpm.permissions import SYSTEM
from crpm.services import Services
from tests.support import assert_invariants

STOCK = 100
ATTEMPTS = 50
THREADS = 8


def buy_repeatedly(services: Services, customer_id: int, product_id: int, start) -> Counter:
    """Try ATTEMPTS single-unit purchases once every worker is ready; count the outcomes."""
    outcomes = Counter()
    start.wait()
    for _ in range(ATTEMPTS):
        try:
            services.purchases.record(SYSTEM, customer_id, [(product_id, 1)])
            outcomes["sold"] += 1
        except OutOfStock:
            outcomes["out of stock"] += 1
        except Exception as exc:  # anything else is a failure the test reports by name
            outcomes[f"{type(exc).__name__}: {exc}"] += 1
    return outcomes


def process_worker(location: str, customer_id: int, product_id: int, start, results) -> None:
    store = open_store(location)
    try:
        results.put(dict(buy_repeatedly(Services(store), customer_id, product_id, start)))
    finally:
        store.close()


def threads_worker(location: str, customer_id: int, product_id: int, start, results) -> None:
    """THREADS clerks in one process, each trying once to sell one unit when all are ready."""
    store = open_store(location)
    services, ready, outcomes = Services(store), threading.Barrier(THREADS), Counter()

    def clerk():
        ready.wait()
        try:
            services.purchases.record(SYSTEM, customer_id, [(product_id, 1)])
            outcomes["sold"] += 1
        except OutOfStock:
            outcomes["out of stock"] += 1
        except Exception as exc:
            outcomes[f"{type(exc).__name__}: {exc}"] += 1

    try:
        start.wait()
        clerks = [threading.Thread(target=clerk) for _ in range(THREADS)]
        for thread in clerks:
            thread.start()
        for thread in clerks:
            thread.join(timeout=120)
        results.put(dict(outcomes))
    finally:
        store.close()


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


def setup_sale(shop):
    return shop.customer(), shop.product(stock=STOCK)


def assert_sold_out(services: Services, product_id: int, outcomes: Counter, workers: int) -> None:
    assert outcomes == {"sold": STOCK, "out of stock": workers * ATTEMPTS - STOCK}
    store = services.store
    assert services.products.get(SYSTEM, product_id).stock == 0
    sales = store.query(
        "SELECT count(*), sum(quantity), min(stock_after) FROM stock_movements WHERE kind = 'sale'"
    )[0]
    assert tuple(sales) == (STOCK, -STOCK, 0)
    assert store.query_one("SELECT count(*) FROM purchases")[0] == STOCK
    assert store.query_one("SELECT count(*) FROM purchase_lines")[0] == STOCK
    audited = store.query_one("SELECT count(*) FROM audit_log WHERE entity = 'purchase'")[0]
    assert audited == STOCK
    # each sale saw a different stock level: no two clerks sold the same unit
    levels = store.query("SELECT DISTINCT stock_after FROM stock_movements WHERE kind = 'sale'")
    assert len(levels) == STOCK


def test_sixteen_threads_sell_exactly_the_stock(services, shop):
    customer, product = setup_sale(shop)
    workers = 16
    start = threading.Barrier(workers)
    results: list[Counter] = []

    used = []

    def work():
        results.append(buy_repeatedly(services, customer.id, product.id, start))
        used.append(services.store.conn)  # while this thread lives, its connection is its own

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == workers
    assert_sold_out(services, product.id, sum(results, Counter()), workers)
    assert len({id(conn) for conn in used}) == workers  # each thread had a connection of its own


def test_four_processes_sell_exactly_the_stock(services, shop, store_location):
    customer, product = setup_sale(shop)
    workers = 4
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(
            target=process_worker,
            args=(str(store_location), customer.id, product.id, start, results),
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes = [Counter(results.get(timeout=120)) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert [process.exitcode for process in processes] == [0] * workers
    assert_sold_out(services, product.id, sum(outcomes, Counter()), workers)


def test_thirty_two_clerks_in_four_processes_race_for_the_last_unit(services, shop, store_location):
    customer, product = shop.customer(), shop.product(stock=1)
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(4), context.Queue()
    processes = [
        context.Process(
            target=threads_worker,
            args=(str(store_location), customer.id, product.id, start, results),
        )
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    outcomes = sum((Counter(results.get(timeout=120)) for _ in processes), Counter())
    for process in processes:
        process.join(timeout=30)
    assert outcomes == {"sold": 1, "out of stock": 4 * THREADS - 1}
    assert services.products.get(SYSTEM, product.id).stock == 0
    assert services.store.query_one("SELECT count(*) FROM purchases")[0] == 1


def test_an_import_and_dashboard_sales_share_one_write_lock(services, shop, actor, tmp_path):
    """A sale recorded while an import checks its file goes through at once (the check locks
    nothing in the store); one recorded while the import writes waits for the import's unit of
    work, then goes through. Neither breaks the other, and the ledger adds up."""
    customer, product = shop.customer(), shop.product(stock=10)
    path = tmp_path / "products.csv"
    rows = "".join(f"IMP-{number},Imported {number},1.00,5\n" for number in range(3000))
    path.write_text("sku,name,price,stock\n" + rows)
    sales, waited, threads = [], [], []

    def sell():
        sales.append(services.purchases.record(actor, customer.id, [(product.id, 1)]).id)

    def progress(done, total, stage):
        if stage == "check" and not sales:
            during_check = threading.Thread(target=sell)
            during_check.start()
            during_check.join(timeout=30)
            assert sales, "a sale waited for an import that was only checking its file"
        if stage == "write" and done == 0:  # inside the import's unit of work
            during_write = threading.Thread(target=sell)
            during_write.start()
            during_write.join(timeout=0.5)
            waited.append(during_write.is_alive())
            threads.append(during_write)

    report = services.imports.run(actor, "products", path, progress=progress)
    for thread in threads:
        thread.join(timeout=30)
    assert report.ok and report.written and report.created == 3000, report.text()
    assert len(sales) == 2 and waited == [True]
    store = services.store
    imported = store.query_one(
        "SELECT min(id), max(id), count(*) FROM stock_movements WHERE kind = 'import'"
    )
    sold = [row[0] for row in store.query("SELECT id FROM stock_movements WHERE kind = 'sale'")]
    assert tuple(imported)[2] == 3000
    assert sold[0] < imported[0] and sold[1] > imported[1]  # before the write, and after it
    assert services.products.get(actor, product.id).stock == 8
    assert_invariants(store)
