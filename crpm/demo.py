"""Realistic, reproducible demo data written straight into an empty store.

`generate` bypasses the per-purchase service for speed (bulk executemany in one unit of work,
`store.write()`) but keeps every invariant the services keep: each stock change is a movement
with the running stock after it, written by the ledger's batch writer (`stock.record_movements`)
so products.stock equals the sum of movements; cancellations and returns are rows, and the
generation leaves audit rows. Events are written in time order, so movement ids follow
time and `stock_after` reads like a real ledger.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_left
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate

from crpm.bulkload import indexes_built_after
from crpm.db import BaseStore
from crpm.errors import Conflict, ValidationError
from crpm.models import TIME_FORMAT
from crpm.permissions import SYSTEM, Actor
from crpm.services import audit, stock

BATCH_LINES = 50_000
BULK_TABLES = ("customers", "products", "purchases", "purchase_lines", "stock_movements")
DESK_TABLES = {"tickets", "ticket_events", "quotes", "quote_lines"}
# The tables demo data writes with ids of its own.
ID_TABLES = (
    "customers",
    "products",
    "purchases",
    "purchase_lines",
    "purchase_returns",
    "tickets",
    "quotes",
)
DAYS = 730
CANCEL_RATE = 0.02
RETURN_RATE = 0.03
DEMO_USER = "demo"

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Karin",
    "Leo",
    "Maria",
    "Nils",
    "Olga",
    "Paul",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Alice",
    "Bruno",
    "Chloe",
    "Diego",
    "Elena",
    "Farid",
    "Greta",
    "Henrik",
    "Ida",
    "Jamal",
    "Kofi",
    "Lena",
    "Marco",
    "Nora",
    "Oscar",
    "Priya",
    "Rafael",
    "Sofia",
    "Tomas",
    "Ursula",
    "Viktor",
    "Wen",
    "Yara",
    "Zain",
]
LAST_NAMES = [
    "Smith",
    "Muller",
    "Rossi",
    "Garcia",
    "Martin",
    "Nowak",
    "Jensen",
    "Silva",
    "Kowalski",
    "Dubois",
    "Novak",
    "Horvat",
    "Janssen",
    "Berg",
    "Costa",
    "Lopez",
    "Schmidt",
    "Weber",
    "Fischer",
    "Moreau",
    "Laurent",
    "Ricci",
    "Romano",
    "Santos",
    "Ferreira",
    "Nielsen",
    "Larsen",
    "Andersen",
    "Olsen",
    "Hansen",
    "Kim",
    "Lee",
    "Chen",
    "Wang",
    "Singh",
    "Patel",
    "Khan",
    "Ali",
    "Okafor",
    "Mensah",
    "Tanaka",
    "Sato",
    "Ivanov",
    "Petrov",
    "Murphy",
    "Kelly",
    "Walsh",
    "Byrne",
    "Brown",
    "Taylor",
    "Wilson",
]
COMPANY_SUFFIXES = ("Ltd", "GmbH", "& Co", "Trading", "Studio", "Partners", "SARL", "BV")
STREETS = ("High", "Church", "Station", "Mill", "Park", "King", "Queen", "Market", "Bridge", "Oak")
STREET_KINDS = ("Street", "Road", "Lane", "Avenue", "Way")
DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "shop.example")
PLACES = (
    ("London", "United Kingdom", "44"),
    ("Manchester", "United Kingdom", "44"),
    ("Berlin", "Germany", "49"),
    ("Munich", "Germany", "49"),
    ("Paris", "France", "33"),
    ("Lyon", "France", "33"),
    ("Madrid", "Spain", "34"),
    ("Rome", "Italy", "39"),
    ("Milan", "Italy", "39"),
    ("Amsterdam", "Netherlands", "31"),
    ("Warsaw", "Poland", "48"),
    ("Lisbon", "Portugal", "351"),
    ("Dublin", "Ireland", "353"),
    ("Vienna", "Austria", "43"),
    ("Copenhagen", "Denmark", "45"),
    ("Stockholm", "Sweden", "46"),
    ("New York", "USA", "1"),
    ("Chicago", "USA", "1"),
    ("Toronto", "Canada", "1"),
    ("Sydney", "Australia", "61"),
)
# category: (SKU prefix, nouns, price range in cents)
CATEGORIES = {
    "Office": ("OFF", ("Stapler", "Notebook", "Pen Set", "Desk Lamp", "Folder"), (199, 4999)),
    "Electronics": ("ELE", ("Headphones", "Charger", "Keyboard", "Mouse", "Speaker"), (999, 29999)),
    "Kitchen": ("KIT", ("Kettle", "Mug", "Knife", "Pan", "Grinder"), (499, 15999)),
    "Garden": ("GAR", ("Hose", "Shears", "Planter", "Seeds", "Gloves"), (299, 9999)),
    "Toys": ("TOY", ("Puzzle", "Robot", "Kite", "Blocks", "Board Game"), (499, 7999)),
    "Books": ("BOO", ("Cookbook", "Novel", "Atlas", "Guide", "Journal"), (799, 4999)),
    "Sports": ("SPO", ("Ball", "Racket", "Yoga Mat", "Bottle", "Helmet"), (599, 19999)),
    "Clothing": ("CLO", ("T-Shirt", "Scarf", "Jacket", "Socks", "Cap"), (599, 24999)),
}
ADJECTIVES = [
    "Classic",
    "Compact",
    "Deluxe",
    "Eco",
    "Essential",
    "Premium",
    "Pro",
    "Smart",
    "Travel",
    "Ultra",
    "Vintage",
    "Urban",
    "Basic",
]
# Seasonality: relative sales per month (Jan..Dec) and per weekday (Mon..Sun); business hours.
MONTH_WEIGHTS = (0.8, 0.75, 0.9, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.1, 1.45, 1.8)
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.05, 1.1, 1.25, 1.35, 0.7)
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 11, 12, 11, 10, 10, 10, 11, 12, 11, 9, 6, 4, 2)
LINES_PER_PURCHASE = ((1, 2, 3, 4, 5), (35, 25, 20, 12, 8))
QUANTITIES = ((1, 2, 3, 4, 5, 10), (70, 15, 7, 4, 3, 1))

PURCHASE_SQL = (
    "INSERT INTO purchases (id, customer_id, purchased_at, recorded_by, source, order_ref,"
    " cancelled_at, cancelled_by, cancel_reason) VALUES (?, ?, ?, ?, 'demo', NULL, ?, ?, ?)"
)
# Demo sales carry no tax and no discount: net = quantity x unit price, and so for returns.
# (The CAST: psycopg sends a small int as a smallint, and their product would overflow it.)
LINE_SQL = (
    "INSERT INTO purchase_lines (id, purchase_id, product_id, quantity, unit_price_cents,"
    " net_cents) VALUES (?1, ?2, ?3, ?4, ?5, CAST(?4 AS INTEGER) * ?5)"
)
RETURN_SQL = (
    "INSERT INTO purchase_returns (id, line_id, quantity, returned_at, recorded_by, reason,"
    " net_cents) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
    " ?3 * (SELECT unit_price_cents FROM purchase_lines WHERE id = ?2))"
)


@dataclass
class _Ledger:
    """The simulation's running stock per product, and its movements waiting to be written
    (by `stock.record_movements`, which also moves products.stock)."""

    stock: list[int]
    restock_batch: list[int]
    movements: list[tuple] = field(default_factory=list)

    def move(
        self, product_id: int, quantity: int, kind: str, at: str, purchase_id=None, reason: str = ""
    ) -> None:
        after = self.stock[product_id] + quantity
        self.stock[product_id] = after
        self.movements.append(
            (product_id, kind, quantity, after, purchase_id, reason, at, DEMO_USER)
        )

    def sell(self, product_id: int, quantity: int, at: str, purchase_id: int) -> None:
        if self.stock[product_id] < quantity:
            self.move(
                product_id,
                self.restock_batch[product_id] + quantity,
                "restock",
                at,
                reason="supplier delivery",
            )
        self.move(product_id, -quantity, "sale", at, purchase_id)


def generate(
    store: BaseStore,
    customers: int,
    products: int,
    purchases: int,
    seed: int = 1,
    progress=None,
    actor: Actor = SYSTEM,
    end: datetime | None = None,
) -> dict:
    """Fill an empty store; `purchases` counts purchase lines. Returns the row counts.

    `progress(done_lines, total_lines)` is called after each batch. `end` (default: midnight UTC
    of the store clock's day) closes the two-year window, so a seed gives the same data all day.
    """
    _check_sizes(customers, products, purchases)
    rng = random.Random(seed)
    end = end or store.clock.midnight()
    start = end - timedelta(days=DAYS)
    with store.write() as conn:
        _require_empty(conn)
        desk = store.table_names(conn) >= DESK_TABLES
        with _bulk_load(store, conn):
            counts = _fill(conn, rng, customers, products, purchases, start, end, progress, desk)
        for table in ID_TABLES:
            store.continue_ids(conn, table)
        for entity, rows in counts.items():
            audit.record(conn, actor, "demo-data", entity, None, after={"rows": rows, "seed": seed})
    return counts


@contextmanager
def _bulk_load(store: BaseStore, conn):
    """SQLite: a larger page cache, and the indexes built once after the rows are in.
    PostgreSQL keeps its indexes up as the rows come."""
    if store.dialect != "sqlite":
        yield
        return
    conn.execute("PRAGMA cache_size=-131072")
    try:
        with indexes_built_after(conn, BULK_TABLES):
            yield
    finally:
        conn.execute("PRAGMA cache_size=-32000")


def _check_sizes(customers: int, products: int, purchases: int) -> None:
    for name, value in (("customers", customers), ("products", products), ("purchases", purchases)):
        if not isinstance(value, int) or value < 0:
            raise ValidationError(name, "must be a whole number, 0 or more")
    if purchases and not (customers and products):
        raise ValidationError("purchases", "need at least one customer and one product")


def _require_empty(conn) -> None:
    for table in ("customers", "products", "purchases"):
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if count:
            raise Conflict("store", f"demo data needs an empty store, this one has {count} {table}")


def _fill(conn, rng, customers, products, purchases, start, end, progress, desk: bool) -> dict:
    conn.executemany(
        "INSERT INTO customers (id, name, email, phone, company, address, city, country, notes,"
        " status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?)",
        _customer_rows(rng, customers, start),
    )
    catalogue = _product_rows(rng, products, start)
    conn.executemany(
        "INSERT INTO products (id, sku, name, category, description, price_cents, stock,"
        " reorder_level, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, 'active',"
        " ?, ?)",
        catalogue,
    )
    ledger = _Ledger(stock=[0] * (products + 1), restock_batch=[0] * (products + 1))
    popularity = _Popularity(rng, products, 1.05)
    _opening_stock(rng, ledger, popularity, purchases, _text(start))
    sales = _Sales(conn, rng, ledger, catalogue, popularity, customers, purchases, progress)
    sales.run(start, end)
    _retire_some(conn, rng, customers, products, end)
    counts = {
        "customer": customers,
        "product": products,
        "purchase": sales.purchase_id,
        "purchase_line": sales.line_id,
        "purchase_return": sales.return_id,
        "stock_movement": sales.movement_count,
    }
    if customers and desk:
        counts["ticket"] = _tickets(conn, rng, customers, max(1, purchases // 200), start, end)
        if products:
            counts["quote"] = _quotes(conn, rng, customers, products, max(1, purchases // 500), end)
    return counts


def _text(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)


def _customer_rows(rng: random.Random, count: int, start: datetime):
    for customer_id in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, country, code = rng.choice(PLACES)
        company = (
            f"{rng.choice(LAST_NAMES)} {rng.choice(COMPANY_SUFFIXES)}" if rng.random() < 0.4 else ""
        )
        phone = f"+{code} {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        address = f"{rng.randint(1, 250)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"
        email = f"{first}.{last}.{customer_id}@{rng.choice(DOMAINS)}".lower()
        created = _text(start - timedelta(seconds=rng.randint(0, 365 * 86400)))
        yield (
            customer_id,
            f"{first} {last}",
            email,
            phone,
            company,
            address,
            city,
            country,
            "active",
            created,
            created,
        )


def _product_rows(rng: random.Random, count: int, start: datetime) -> list[tuple]:
    names = list(CATEGORIES)
    rows = []
    for product_id in range(1, count + 1):
        category = names[rng.randrange(len(names))]
        prefix, nouns, (low, high) = CATEGORIES[category]
        noun = rng.choice(nouns)
        name = f"{rng.choice(ADJECTIVES)} {noun} {rng.randint(100, 999)}"
        # log-uniform prices, rounded to end in 99 like a shop would
        price = int(low * (high / low) ** rng.random()) // 100 * 100 + 99
        created = _text(start - timedelta(seconds=rng.randint(0, 90 * 86400)))
        rows.append(
            (
                product_id,
                f"{prefix}-{product_id:06d}",
                name,
                category,
                f"{name}, {category.lower()}",
                price,
                rng.choice((0, 5, 10, 20)),
                created,
                created,
            )
        )
    return rows


class _Popularity:
    """A long tail: the record at rank k is drawn with weight 1/k^exponent; ranks are shuffled
    over the ids so that popularity does not follow id order."""

    def __init__(self, rng: random.Random, count: int, exponent: float):
        self.cumulative = list(accumulate(1 / rank**exponent for rank in range(1, count + 1)))
        self.ids = list(range(1, count + 1))
        rng.shuffle(self.ids)
        self.rng = rng

    def draw_rank(self) -> int:
        return bisect_left(self.cumulative, self.rng.random() * self.cumulative[-1])

    def share(self, rank: int) -> float:
        below = self.cumulative[rank - 1] if rank else 0.0
        return (self.cumulative[rank] - below) / self.cumulative[-1]


def _opening_stock(rng, ledger: _Ledger, popularity: _Popularity, lines: int, at: str) -> None:
    """Opening stock and restock size near two months of each product's expected sales."""
    for rank, product_id in enumerate(popularity.ids):
        expected = popularity.share(rank) * lines * 1.6 / 12
        batch = max(5, int(expected * rng.uniform(0.7, 1.4)))
        ledger.restock_batch[product_id] = batch
        opening = rng.randint(0, batch * 2)
        if opening:
            ledger.move(product_id, opening, "initial", at, reason="opening stock")


class _Sales:
    """Walks the two years in time order, writing purchases, lines, returns and movements."""

    def __init__(self, conn, rng, ledger, catalogue, popularity, customers, lines, progress):
        self.conn, self.rng, self.ledger = conn, rng, ledger
        self.prices = [0] + [row[5] for row in catalogue]
        self.product_count = len(catalogue)
        self.popularity = popularity
        self.customers = _Popularity(rng, customers, 0.6)
        self.total_lines, self.progress = lines, progress
        self.purchase_id = self.line_id = self.return_id = self.movement_count = 0
        self.pending: list[tuple] = []  # heap of (time, order, kind, data): cancels and returns
        self.rows = {PURCHASE_SQL: [], LINE_SQL: [], RETURN_SQL: []}

    def run(self, start: datetime, end: datetime) -> None:
        sizes = self._purchase_sizes()
        moments = _purchase_moments(self.rng, len(sizes), start)
        end_text = _text(end)
        for size, moment in zip(sizes, moments, strict=False):
            at = _text(moment)
            self._due_events(at)
            self._purchase(size, moment, at, end_text)
            if len(self.rows[LINE_SQL]) >= BATCH_LINES:
                self._flush()
        self._due_events(end_text)
        self._flush()

    def _purchase_sizes(self) -> list[int]:
        sizes, total = [], 0
        values, weights = LINES_PER_PURCHASE
        while total < self.total_lines:
            size = min(
                self.rng.choices(values, weights)[0], self.total_lines - total, self.product_count
            )
            sizes.append(size)
            total += size
        return sizes

    def _purchase(self, size: int, moment: datetime, at: str, end: str) -> None:
        self.purchase_id += 1
        purchase_id, rng = self.purchase_id, self.rng
        customer = self.customers.ids[self.customers.draw_rank()]
        products = self._distinct_products(size)
        quantities = rng.choices(*QUANTITIES, k=size)
        lines = []
        for product_id, quantity in zip(products, quantities, strict=False):
            self.line_id += 1
            price = self.prices[product_id]
            if rng.random() < 0.05:
                price = price * 9 // 10  # a discount given at the till
            lines.append((self.line_id, product_id, quantity))
            self.rows[LINE_SQL].append((self.line_id, purchase_id, product_id, quantity, price))
            self.ledger.sell(product_id, quantity, at, purchase_id)
        cancelled_at = self._maybe_later(moment, rng.uniform(0.05, 3), end, CANCEL_RATE)
        if cancelled_at:
            self._schedule(cancelled_at, "cancel", (purchase_id, lines))
        else:
            returned_at = self._maybe_later(moment, rng.uniform(1, 30), end, RETURN_RATE)
            if returned_at:
                line_id, product_id, quantity = rng.choice(lines)
                self._schedule(
                    returned_at,
                    "return",
                    (purchase_id, line_id, product_id, rng.randint(1, quantity)),
                )
        self.rows[PURCHASE_SQL].append(
            (
                purchase_id,
                customer,
                at,
                DEMO_USER,
                cancelled_at,
                DEMO_USER if cancelled_at else None,
                "customer changed their mind" if cancelled_at else "",
            )
        )

    def _distinct_products(self, size: int) -> list[int]:
        chosen: list[int] = []
        for _ in range(size):
            rank = self.popularity.draw_rank()
            while self.popularity.ids[rank] in chosen:
                rank = (rank + 1) % self.product_count
            chosen.append(self.popularity.ids[rank])
        return chosen

    def _maybe_later(self, moment: datetime, days: float, end: str, rate: float) -> str | None:
        if self.rng.random() >= rate:
            return None
        later = _text(moment + timedelta(days=days))
        return later if later < end else None

    def _schedule(self, at: str, kind: str, data: tuple) -> None:
        heapq.heappush(self.pending, (at, self.purchase_id, kind, data))

    def _due_events(self, now: str) -> None:
        while self.pending and self.pending[0][0] <= now:
            at, _, kind, data = heapq.heappop(self.pending)
            if kind == "cancel":
                purchase_id, lines = data
                for _, product_id, quantity in lines:
                    self.ledger.move(
                        product_id,
                        quantity,
                        "cancel",
                        at,
                        purchase_id,
                        "customer changed their mind",
                    )
            else:
                purchase_id, line_id, product_id, quantity = data
                self.return_id += 1
                self.rows[RETURN_SQL].append(
                    (self.return_id, line_id, quantity, at, DEMO_USER, "not as expected")
                )
                self.ledger.move(product_id, quantity, "return", at, purchase_id, "not as expected")

    def _flush(self) -> None:
        # Purchases before lines, lines before returns and movements: foreign keys are immediate.
        for sql in (PURCHASE_SQL, LINE_SQL, RETURN_SQL):
            self.conn.executemany(sql, self.rows[sql])
            self.rows[sql].clear()
        self.movement_count += stock.record_movements(self.conn, self.ledger.movements)
        self.ledger.movements.clear()
        if self.progress:
            self.progress(self.line_id, self.total_lines)


def _purchase_moments(rng: random.Random, count: int, start: datetime) -> list[datetime]:
    """`count` sorted moments over the window, seasonal by month, weekday and hour."""
    day_weights = []
    for day in range(DAYS):
        moment = start + timedelta(days=day)
        growth = 1 + 0.3 * day / DAYS  # the shop grows over the two years
        day_weights.append(
            MONTH_WEIGHTS[moment.month - 1] * WEEKDAY_WEIGHTS[moment.weekday()] * growth
        )
    days = sorted(rng.choices(range(DAYS), cum_weights=list(accumulate(day_weights)), k=count))
    hours = rng.choices(range(24), HOUR_WEIGHTS, k=count)
    offsets = sorted(
        day * 86400 + hour * 3600 + rng.randrange(3600)
        for day, hour in zip(days, hours, strict=False)
    )
    return [start + timedelta(seconds=offset) for offset in offsets]


def _retire_some(conn, rng: random.Random, customers: int, products: int, end: datetime) -> None:
    """A few records deactivated at the end, as a shop's data would have."""
    at = _text(end - timedelta(days=rng.randint(1, 30)))
    inactive_customers = rng.sample(range(1, customers + 1), customers // 100)
    inactive_products = rng.sample(range(1, products + 1), products // 50)
    conn.executemany(
        "UPDATE customers SET status = 'inactive', updated_at = ? WHERE id = ?",
        [(at, cid) for cid in inactive_customers],
    )
    conn.executemany(
        "UPDATE products SET status = 'inactive', updated_at = ? WHERE id = ?",
        [(at, pid) for pid in inactive_products],
    )


# --- service desk (migration 002): only when the store has its tables ------------------------

TICKET_SUBJECTS = (
    ("order", "Where is my order?"),
    ("delivery", "Parcel arrived damaged"),
    ("product", "How do I set this up?"),
    ("billing", "Charged twice"),
    ("account", "Cannot log in"),
    ("general", "Opening hours over the holidays"),
    ("other", "Feedback on the shop"),
)
TICKET_STATUSES = (("open", "in_progress", "resolved", "closed"), (15, 10, 25, 50))
QUOTE_STATUSES = (("requested", "priced", "rejected", "expired"), (20, 30, 20, 30))


def _tickets(conn, rng, customers: int, count: int, start: datetime, end: datetime) -> int:
    """Tickets spread over the window, most of them long closed, each with its history."""
    tickets, events = [], []
    for ticket_id in range(1, count + 1):
        category, subject = rng.choice(TICKET_SUBJECTS)
        status = rng.choices(*TICKET_STATUSES)[0]
        opened = start + timedelta(seconds=rng.randrange(DAYS * 86400))
        changed = _text(min(opened + timedelta(hours=rng.uniform(1, 96)), end))
        opened_text = _text(opened)
        if status == "open":
            changed = opened_text
        priority = rng.choices(("low", "normal", "high", "urgent"), (20, 55, 20, 5))[0]
        tickets.append(
            (
                ticket_id,
                rng.randint(1, customers),
                subject,
                f"{subject} (demo ticket {ticket_id})",
                category,
                priority,
                status,
                opened_text,
                changed,
                changed,
            )
        )
        events.append((ticket_id, "created", "public", "", None, "open", opened_text))
        if status != "open":
            events.append((ticket_id, "status", "public", "", "open", status, changed))
    conn.executemany(
        "INSERT INTO tickets (id, customer_id, subject, description, category, priority, status,"
        " created_at, updated_at, status_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        tickets,
    )
    conn.executemany(
        "INSERT INTO ticket_events (ticket_id, kind, visibility, body, old_value, new_value,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        events,
    )
    return count


def _quotes(conn, rng, customers: int, products: int, count: int, end: datetime) -> int:
    """Quotes from the last six months: requested, priced, rejected or expired (an accepted
    quote would need its purchase, so the demo has none)."""
    quotes, lines = [], []
    for quote_id in range(1, count + 1):
        status = rng.choices(*QUOTE_STATUSES)[0]
        asked = end - timedelta(seconds=rng.randrange(180 * 86400))
        asked_text = _text(asked)
        priced_at = valid_until = None
        if status != "requested":
            priced_at = _text(asked + timedelta(hours=rng.uniform(2, 48)))
            until = end + timedelta(days=30)
            if status == "expired":  # stored as priced-then-lapsed: the day is already past
                until = min(asked + timedelta(days=7), end - timedelta(days=1))
            valid_until = f"{_text(until)[:10]} 23:59:59"
        quotes.append(
            (
                quote_id,
                rng.randint(1, customers),
                "demo request for a bulk order",
                status,
                valid_until,
                priced_at,
                asked_text,
                priced_at or asked_text,
            )
        )
        for product_id in rng.sample(range(1, products + 1), min(products, rng.randint(1, 3))):
            price = None if status == "requested" else rng.randint(100, 20000)
            lines.append((quote_id, product_id, rng.choice((5, 10, 20, 50)), price))
    conn.executemany(
        "INSERT INTO quotes (id, customer_id, request_text, status, valid_until, priced_at,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        quotes,
    )
    conn.executemany(
        "INSERT INTO quote_lines (quote_id, product_id, quantity, unit_price_cents)"
        " VALUES (?, ?, ?, ?)",
        lines,
    )
    return count
