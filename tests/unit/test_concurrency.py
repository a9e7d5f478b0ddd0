"""Many clerks selling the same product at once: exactly the stock on hand gets sold.

Threads share one Store, whose connections are per thread; processes each open their own.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

from crpm.db import Store
from crpm.errors import OutOfStock
from crpm.permissions import SYSTEM
from crpm.services import Services

STOCK = 100
ATTEMPTS = 50


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


def process_worker(path: str, customer_id: int, product_id: int, start, results) -> None:
    store = Store(path)
    try:
        results.put(dict(buy_repeatedly(Services(store), customer_id, product_id, start)))
    finally:
        store.close()


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

    def work():
        results.append(buy_repeatedly(services, customer.id, product.id, start))

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == workers
    assert_sold_out(services, product.id, sum(results, Counter()), workers)
    assert len(services.store._connections) >= workers  # each thread used its own connection


def test_four_processes_sell_exactly_the_stock(services, shop, db_path):
    customer, product = setup_sale(shop)
    workers = 4
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(
            target=process_worker, args=(str(db_path), customer.id, product.id, start, results)
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
