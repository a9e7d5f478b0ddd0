"""Sales side by side: on PostgreSQL they overlap (`write(concurrent=True)`), resting on the
rows' own locks; every other unit of work still runs alone. On SQLite every unit runs alone.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from crpm.clock import FixedClock
from crpm.permissions import SYSTEM

WORKERS = 8
SALES_EACH = 15
HELD = 30  # seconds a blocked unit is given to get through once it may
BLOCKED = 0.5  # seconds a unit that must wait is watched not getting through


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


def in_thread(work) -> threading.Event:
    """Run `work` in a thread of its own; the event is set once it has returned."""
    done = threading.Event()

    def run():
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done


def holding(store, concurrent: bool):
    """A unit of work held open in another thread until the returned `release` is set."""
    entered, release = threading.Event(), threading.Event()

    def hold():
        with store.write(concurrent=concurrent):
            entered.set()
            release.wait(HELD)

    finished = in_thread(hold)
    assert entered.wait(HELD)
    return release, finished


def test_a_sale_runs_beside_another_on_postgresql_only(services, shop):
    buyer, mug = shop.customer(), shop.product(stock=5)
    release, held = holding(services.store, concurrent=True)
    sale = in_thread(lambda: services.purchases.record(SYSTEM, buyer.id, [(mug.id, 1)]))
    if services.store.dialect == "postgresql":
        assert sale.wait(HELD)  # it got through while the other unit was open
    else:
        assert not sale.wait(BLOCKED)  # SQLite: one writer at a time
    release.set()
    assert sale.wait(HELD) and held.wait(HELD)
    assert services.products.get(SYSTEM, mug.id).stock == 4


@pytest.mark.parametrize("alone_first", [True, False])
def test_a_unit_that_runs_alone_and_a_sale_wait_for_each_other(services, shop, alone_first):
    buyer, mug = shop.customer(), shop.product(stock=5)
    store = services.store
    release, held = holding(store, concurrent=not alone_first)
    if alone_first:
        waiting = in_thread(lambda: services.purchases.record(SYSTEM, buyer.id, [(mug.id, 1)]))
    else:
        waiting = in_thread(lambda: services.products.restock(SYSTEM, mug.id, 3, "delivery"))
    assert not waiting.wait(BLOCKED)
    release.set()
    assert waiting.wait(HELD) and held.wait(HELD)
    assert services.products.get(SYSTEM, mug.id).stock == (4 if alone_first else 8)


def test_sales_of_the_same_products_in_crossed_order_all_get_through(services, shop):
    """Half the clerks sell (A, B), half (B, A): stock is taken in product order, so no two
    overlapping sales wait for each other's rows (on PostgreSQL a deadlock, refused as busy)."""
    buyer = shop.customer()
    first, second = shop.product(stock=1_000), shop.product(stock=1_000)
    start, outcomes, counting = threading.Barrier(WORKERS), Counter(), threading.Lock()

    def clerk(index: int):
        lines = [(first.id, 1), (second.id, 2)]
        lines = lines if index % 2 else lines[::-1]
        start.wait()
        for _ in range(SALES_EACH):
            try:
                services.purchases.record(SYSTEM, buyer.id, lines)
                outcome = "sold"
            except Exception as exc:  # the test names whatever else happened
                outcome = f"{type(exc).__name__}: {exc}"
            with counting:
                outcomes[outcome] += 1

    clerks = [threading.Thread(target=clerk, args=(index,)) for index in range(WORKERS)]
    for thread in clerks:
        thread.start()
    for thread in clerks:
        thread.join(timeout=120)
    sold = WORKERS * SALES_EACH
    assert outcomes == {"sold": sold}
    assert services.products.get(SYSTEM, first.id).stock == 1_000 - sold
    assert services.products.get(SYSTEM, second.id).stock == 1_000 - 2 * sold


class TickingClock(FixedClock):
    """A second later at every reading: the order of two readings shows in their stamps."""

    def __init__(self, moment):
        super().__init__(moment)
        self.lock = threading.Lock()

    def current(self):
        with self.lock:
            self.advance(seconds=1)
            return self.moment


def test_overlapping_sales_number_their_invoices_without_gaps_in_time_order(services, shop):
    """Each clerk sells a product of their own: only the invoice counter makes them wait."""
    buyer = shop.customer()
    products = [shop.product(stock=1_000) for _ in range(WORKERS)]
    start = threading.Barrier(WORKERS)
    # The clerks' threads connect afresh, with this clock.
    services.store.clock = TickingClock(services.store.clock.current())

    def clerk(product_id: int):
        start.wait()
        for _ in range(SALES_EACH):
            services.purchases.record(SYSTEM, buyer.id, [(product_id, 1)])

    clerks = [threading.Thread(target=clerk, args=(product.id,)) for product in products]
    for thread in clerks:
        thread.start()
    for thread in clerks:
        thread.join(timeout=120)
    rows = services.store.query("SELECT number, issued_at FROM invoices")
    by_number = sorted((int(number.rsplit("-", 1)[1]), at) for number, at in rows)
    assert [number for number, _ in by_number] == list(range(1, WORKERS * SALES_EACH + 1))
    times = [at for _, at in by_number]
    assert times == sorted(times)


def test_a_unit_that_runs_alone_cannot_open_inside_a_sale(services):
    """It would silently run beside other sales (a savepoint of the shared unit)."""
    store = services.store
    with store.write(concurrent=True):
        with pytest.raises(RuntimeError, match="runs alone"), store.write():
            pass
        with store.write(concurrent=True):  # a concurrent part inside is fine
            pass
    with store.write(), store.write(concurrent=True):
        pass
