"""Random sequences of valid and invalid operations keep every invariant of the store.

A small Python model predicts each outcome (success or which refusal) and the stock of every
product; after each step the store must agree with it and pass its own checks.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from crpm.errors import Conflict, InactiveRecord, NotFound, OutOfStock, ValidationError
from crpm.permissions import SYSTEM
from crpm.services import open_services
from crpm.services.stock import ledger_mismatches

EMAILS = ["ann@example.com", "ANN@example.com", "bob@example.com", "cara@example.com", "bad"]
SKUS = ["A-1", "a-1", "B-2", "C-3", "D-4", ""]
PRICES = {"1.00": 100, "0": 0, "12.34": 1234, "-1": None, "1.234": None, "abc": None}
pick = st.integers(min_value=0, max_value=10_000)


@dataclass
class Line:
    product_id: int
    quantity: int
    returned: int = 0


@dataclass
class Model:
    """What the store should hold."""

    customers: dict[int, bool] = field(default_factory=dict)  # id -> active
    emails: set[str] = field(default_factory=set)
    products: dict[int, dict] = field(default_factory=dict)  # id -> {stock, active, sku}
    purchases: dict[int, list[Line]] = field(default_factory=dict)
    lines: dict[int, tuple[int, Line]] = field(default_factory=dict)  # line id -> (purchase, line)
    cancelled: set[int] = field(default_factory=set)
    movements: int = 0
    returns: int = 0


def chosen(mapping: dict, index: int):
    keys = sorted(mapping)
    return keys[index % len(keys)]


class StoreMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="crpm-prop-"))
        self.services = open_services(self.folder / "crpm.db")
        self.model = Model()

    def teardown(self):
        self.services.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def attempt(self, expected, call):
        """Run call; expected is None (must succeed) or the error type it must raise."""
        try:
            result = call()
        except (ValidationError, Conflict, NotFound, InactiveRecord, OutOfStock) as exc:
            assert type(exc) is expected, f"got {exc!r}, expected {expected}"
            return None
        assert expected is None, f"succeeded, expected {expected}"
        return result

    @initialize(stocks=st.lists(st.integers(0, 30), min_size=2, max_size=3))
    def open_shop(self, stocks):
        """Two customers and a few products, so that sales can start at the first step."""
        for email in ("first@example.com", "second@example.com"):
            self.add_customer(email)
        for number, stock in enumerate(stocks):
            self.add_product(f"INIT-{number}", "1.00", stock)

    # --- customers ------------------------------------------------------------

    @rule(email=st.sampled_from(EMAILS))
    def add_customer(self, email):
        expected = (
            ValidationError
            if "@" not in email
            else Conflict
            if email.lower() in self.model.emails
            else None
        )
        customer = self.attempt(
            expected, lambda: self.services.customers.add(SYSTEM, "Someone", email)
        )
        if customer:
            self.model.customers[customer.id] = True
            self.model.emails.add(email.lower())

    @precondition(lambda self: self.model.customers)
    @rule(index=pick, active=st.booleans())
    def set_customer_status(self, index, active):
        customer_id = chosen(self.model.customers, index)
        change = (
            self.services.customers.reactivate if active else self.services.customers.deactivate
        )
        change(SYSTEM, customer_id)
        self.model.customers[customer_id] = active

    # --- products --------------------------------------------------------------

    @rule(
        sku=st.sampled_from(SKUS), price=st.sampled_from(sorted(PRICES)), stock=st.integers(0, 20)
    )
    def add_product(self, sku, price, stock):
        taken = {product["sku"].lower() for product in self.model.products.values()}
        expected = (
            ValidationError
            if not sku or PRICES[price] is None
            else Conflict
            if sku.lower() in taken
            else None
        )
        product = self.attempt(
            expected,
            lambda: self.services.products.add(SYSTEM, sku, "Thing", price, stock_quantity=stock),
        )
        if product:
            self.model.products[product.id] = {"stock": stock, "active": True, "sku": sku}
            self.model.movements += 1 if stock else 0

    @precondition(lambda self: self.model.products)
    @rule(index=pick, price=st.sampled_from(sorted(PRICES)))
    def change_price(self, index, price):
        product_id = chosen(self.model.products, index)
        expected = ValidationError if PRICES[price] is None else None
        self.attempt(
            expected, lambda: self.services.products.update(SYSTEM, product_id, price=price)
        )

    @precondition(lambda self: self.model.products)
    @rule(index=pick, active=st.booleans())
    def set_product_status(self, index, active):
        product_id = chosen(self.model.products, index)
        change = self.services.products.reactivate if active else self.services.products.deactivate
        change(SYSTEM, product_id)
        self.model.products[product_id]["active"] = active

    @precondition(lambda self: self.model.products)
    @rule(index=pick, quantity=st.integers(-2, 10))
    def restock(self, index, quantity):
        product_id = chosen(self.model.products, index)
        product = self.model.products[product_id]
        expected = (
            ValidationError if quantity < 1 else None if product["active"] else InactiveRecord
        )
        if self.attempt(
            expected, lambda: self.services.products.restock(SYSTEM, product_id, quantity)
        ):
            product["stock"] += quantity
            self.model.movements += 1

    @precondition(lambda self: self.model.products)
    @rule(index=pick, delta=st.integers(-15, 15))
    def adjust(self, index, delta):
        product_id = chosen(self.model.products, index)
        product = self.model.products[product_id]
        expected = (
            ValidationError
            if delta == 0
            else InactiveRecord
            if not product["active"]
            else OutOfStock
            if product["stock"] + delta < 0
            else None
        )
        if self.attempt(
            expected,
            lambda: self.services.products.adjust_stock(SYSTEM, product_id, delta, "count"),
        ):
            product["stock"] += delta
            self.model.movements += 1

    # --- purchases ----------------------------------------------------------------

    def purchase_outcome(self, customer_id: int, wanted: dict[int, int]):
        if customer_id not in self.model.customers:
            return NotFound
        if not self.model.customers[customer_id]:
            return InactiveRecord
        for product_id, quantity in wanted.items():
            product = self.model.products.get(product_id)
            if product is None:
                return NotFound
            if not product["active"]:
                return InactiveRecord
            if quantity > product["stock"]:
                return OutOfStock
        return None

    @precondition(lambda self: self.model.customers and self.model.products)
    @rule(
        customer=pick,
        lines=st.lists(st.tuples(pick, st.integers(1, 8)), min_size=1, max_size=3),
        unknown_product=st.integers(0, 9).map(lambda n: n == 0),  # now and then
    )
    def record_purchase(self, customer, lines, unknown_product):
        customer_id = chosen(self.model.customers, customer)
        pairs = [(chosen(self.model.products, index), quantity) for index, quantity in lines]
        if unknown_product:
            pairs.append((999_999, 1))
        wanted: dict[int, int] = {}
        for product_id, quantity in pairs:
            wanted[product_id] = wanted.get(product_id, 0) + quantity
        purchase = self.attempt(
            self.purchase_outcome(customer_id, wanted),
            lambda: self.services.purchases.record(SYSTEM, customer_id, pairs),
        )
        if purchase:
            assert [(line.product_id, line.quantity) for line in purchase.lines] == list(
                wanted.items()
            )
            self.model.purchases[purchase.id] = []
            for line in purchase.lines:
                modelled = Line(line.product_id, line.quantity)
                self.model.purchases[purchase.id].append(modelled)
                self.model.lines[line.id] = (purchase.id, modelled)
                self.model.products[line.product_id]["stock"] -= line.quantity
                self.model.movements += 1

    @precondition(lambda self: self.model.purchases)
    @rule(index=pick)
    def cancel(self, index):
        purchase_id = chosen(self.model.purchases, index)
        expected = Conflict if purchase_id in self.model.cancelled else None
        if self.attempt(expected, lambda: self.services.purchases.cancel(SYSTEM, purchase_id)):
            self.model.cancelled.add(purchase_id)
            for line in self.model.purchases[purchase_id]:
                if line.quantity > line.returned:
                    self.model.products[line.product_id]["stock"] += line.quantity - line.returned
                    self.model.movements += 1

    @precondition(lambda self: self.model.lines)
    @rule(index=pick, quantity=st.integers(0, 6))
    def return_items(self, index, quantity):
        line_id = chosen(self.model.lines, index)
        purchase_id, line = self.model.lines[line_id]
        expected = (
            ValidationError
            if quantity < 1
            else Conflict
            if purchase_id in self.model.cancelled
            else ValidationError
            if quantity > line.quantity - line.returned
            else None
        )
        if self.attempt(
            expected, lambda: self.services.purchases.return_items(SYSTEM, line_id, quantity)
        ):
            line.returned += quantity
            self.model.products[line.product_id]["stock"] += quantity
            self.model.movements += 1
            self.model.returns += 1

    # --- invariants ------------------------------------------------------------------

    def count(self, table: str) -> int:
        return self.services.store.query_one(f"SELECT count(*) FROM {table}")[0]

    @invariant()
    def stock_matches_the_model_and_the_ledger(self):
        store = self.services.store
        stocks = {row["id"]: row["stock"] for row in store.query("SELECT id, stock FROM products")}
        assert stocks == {pid: product["stock"] for pid, product in self.model.products.items()}
        assert all(stock >= 0 for stock in stocks.values())
        assert ledger_mismatches(store.conn) == []

    @invariant()
    def refusals_left_no_rows(self):
        assert self.count("customers") == len(self.model.customers)
        assert self.count("purchases") == len(self.model.purchases)
        assert self.count("purchase_lines") == len(self.model.lines)
        assert self.count("stock_movements") == self.model.movements
        assert self.count("purchase_returns") == self.model.returns

    @invariant()
    def purchases_are_whole_and_returns_bounded(self):
        store = self.services.store
        assert (
            store.query(
                "SELECT id FROM purchases pu WHERE NOT EXISTS"
                " (SELECT 1 FROM purchase_lines l WHERE l.purchase_id = pu.id)"
            )
            == []
        )
        assert (
            store.query(
                "SELECT l.id FROM purchase_lines l JOIN purchase_returns r ON r.line_id = l.id"
                " GROUP BY l.id HAVING sum(r.quantity) > l.quantity"
            )
            == []
        )
        cancelled = store.query("SELECT id FROM purchases WHERE cancelled_at IS NOT NULL")
        assert {row[0] for row in cancelled} == self.model.cancelled

    @invariant()
    def sqlite_checks_are_clean(self):
        assert self.services.store.check_integrity() == []


StoreMachine.TestCase.settings = settings(
    max_examples=75, stateful_step_count=50, deadline=None, database=None
)
test_random_operations_keep_the_invariants = StoreMachine.TestCase
