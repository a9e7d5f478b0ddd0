"""Load through the real server: simulated users against a dashboard this script launches.

Builds a temporary store with demo data, starts the dashboard in a subprocess of its own (its
clock fixed at tests.support.TODAY), logs every simulated user in through /login and lets them
work for a bounded time through the queue, as the page does (loopback only):

- clerks record purchases (1-3 random products) and page through customers, products and
  purchases;
- managers open the Analytics tab and Home;
- customers raise tickets and read their tickets and purchases;
- one importer uploads a customers CSV and runs it through the Import tab's handler.

Then it prints requests per second, the median, 95th percentile and maximum per endpoint, the
refusals (out of stock: intended) and the errors, the same for the requests that ran while the
import did, and checks the store: SQLite's own checks, stock never below zero and equal to its
ledger, every purchase with its lines, every purchase the server confirmed present with the
lines and sale movements asked for, and the import all there. Exit status 1 if a check fails.

    .venv/bin/python bench/load.py [--users 20] [--seconds 60] [--think 0.5] [--lines 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("CRPM_SCRYPT_N", "1024")  # logins are not what this measures
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from crpm.clock import FixedClock  # noqa: E402
from crpm.demo import generate  # noqa: E402
from crpm.permissions import SYSTEM  # noqa: E402
from crpm.services import open_services  # noqa: E402
from tests.support import TODAY, assert_invariants, call_queue, log_in, upload  # noqa: E402

ADMIN_PASSWORD = "load-admin-Secret-1x"
PASSWORD = "load-user-Secret-2y"
IMPORT_DOMAIN = "imported.load.example"
RESTOCK = 50  # units added to every product first, so that most sales find stock
# refusals the rules intend under load: the last unit sold by someone else a moment before
INTENDED = ("in stock,",)
PAGE_ENDPOINTS = (
    "list_customers",
    "list_products",
    "list_purchases",
    "my_tickets",
    "my_purchases",
    "home_overview",
)
TARGET_ENDPOINTS = (*PAGE_ENDPOINTS, "record_purchase", "raise_ticket")
TARGET_P95_S = 1.0


@dataclass
class Call:
    endpoint: str
    started: float
    seconds: float
    kind: str  # ok, refused (intended), error
    message: str = ""


@dataclass
class World:
    url: str
    events: dict  # api name -> fn_index
    customers: list
    products: list
    deadline: float
    think: float
    calls: list = field(default_factory=list)
    purchases: dict = field(default_factory=dict)  # purchase id -> {product id: quantity}
    import_window: list = field(default_factory=list)  # [start, end]
    lock: threading.Lock = field(default_factory=threading.Lock)


class User:
    """One simulated user: their own HTTP client with their own session cookie."""

    def __init__(self, world: World, login: str, seed: int):
        self.world = world
        self.random = random.Random(seed)
        cookies = log_in(world.url, login, PASSWORD)
        self.http = httpx.Client(base_url=world.url, cookies=cookies, timeout=120)

    def call(self, endpoint: str, *args):
        world = self.world
        started = time.monotonic()
        outcome = call_queue(self.http, world.events[endpoint], list(args), timeout=120)
        seconds = time.monotonic() - started
        kind = outcome.kind
        if kind != "ok":
            intended = kind == "error" and any(word in outcome.message for word in INTENDED)
            kind = "refused" if intended else "error"
        with world.lock:
            world.calls.append(Call(endpoint, started, seconds, kind, outcome.message[:200]))
        return outcome

    def run(self, actions) -> None:
        while time.monotonic() < self.world.deadline:
            self.random.choice(actions)()
            time.sleep(self.random.uniform(0.5, 1.5) * self.world.think)
        self.http.close()

    def page(self) -> list:
        return [self.random.choice([1, 1, 1, 2, 3, 10]), 25]

    # clerks
    def record_purchase(self):
        world, pick = self.world, self.random
        products = pick.sample(world.products, pick.randint(1, 3))
        lines = [{"product_id": product, "quantity": pick.randint(1, 2)} for product in products]
        outcome = self.call("record_purchase", pick.choice(world.customers), lines, "")
        if outcome.kind == "ok":
            asked = {line["product_id"]: line["quantity"] for line in lines}
            with world.lock:
                world.purchases[int(outcome.data[0])] = asked

    def list_customers(self):
        search = self.random.choice(["", "", "son", "@example", "#12"])
        self.call("list_customers", search, "active", *self.page())

    def list_products(self):
        self.call("list_products", "", "active", "All categories", False, *self.page())

    def list_purchases(self):
        customer = self.random.choice([None, None, self.random.choice(self.world.customers)])
        self.call("list_purchases", customer, None, None, None, "all", *self.page())

    # managers
    def analytics(self):
        preset = self.random.choice(["Last 30 days", "This year", "All time"])
        self.call("analytics_page", preset, None, None, "auto")

    def home(self):
        self.call("home_overview")

    # customers
    def raise_ticket(self):
        self.call("raise_ticket", "Where is my parcel?", "Ordered last week.", "Delivery", "Normal")

    def my_tickets(self):
        self.call("my_tickets", "all", 1, 25)

    def my_purchases(self):
        self.call("my_purchases", 1, 25)

    # the importer
    def import_once(self, rows: int, cookies: dict):
        lines = "".join(f"Imported {n},load{n}@{IMPORT_DOMAIN},Leeds\n" for n in range(rows))
        file = upload(self.world.url, cookies, "load.csv", f"name,email,city\n{lines}".encode())
        time.sleep(min(5.0, (self.world.deadline - time.monotonic()) / 4))
        started = time.monotonic()
        self.world.import_window[:] = [started, started + 3600]
        outcome = self.call("import_run", "customers", file, False)
        self.world.import_window[1] = time.monotonic()
        if outcome.kind != "ok":
            print(f"the import failed: {outcome.message}")


def build_store(db: Path, args) -> tuple[list, list]:
    """Demo data, an admin, staff and customer logins; returns the active customers and
    products to buy."""
    services = open_services(db, FixedClock(TODAY))
    generate(
        services.store,
        customers=args.customers,
        products=args.products,
        purchases=args.lines,
        seed=3,
    )
    store = services.store
    for (product,) in store.query("SELECT id FROM products WHERE status = 'active'"):
        services.products.restock(SYSTEM, product, RESTOCK, "load bench delivery")
    accounts = services.accounts
    accounts.ensure_admin(ADMIN_PASSWORD)
    admin = accounts.actor_for("admin")
    for number in range(args.users):
        accounts.create_user(admin, f"clerk{number}", PASSWORD, "staff")
        accounts.register_customer(
            f"Load Customer {number}", f"buyer{number}@load.example", PASSWORD
        )
    customers = [row[0] for row in store.query("SELECT id FROM customers WHERE status='active'")]
    products = [
        row[0] for row in store.query("SELECT id FROM products WHERE status='active' AND stock > 0")
    ]
    store.close()
    return customers, products


def serve(db: str, port: int) -> None:
    """The dashboard on db at port, its clock fixed at TODAY (the --serve mode)."""
    from crpm.config import Settings
    from crpm.ui import build_app, launch

    services = open_services(Path(db), FixedClock(TODAY))
    settings = Settings(db_path=Path(db), port=port)
    launch(build_app(services, settings), settings, quiet=True)


def start_server(db: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(db), str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            if httpx.get(f"{url}login", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            if process.poll() is not None:
                raise RuntimeError("the server exited before answering") from None
        time.sleep(0.1)
    raise RuntimeError("the server did not answer within a minute")


def roles(users: int) -> list[str]:
    """One importer, a tenth managers, a third customers, the rest clerks."""
    managers = max(1, users // 10)
    customers = max(1, users // 3)
    return (
        ["importer"]
        + ["manager"] * managers
        + ["customer"] * customers
        + ["clerk"] * max(1, users - 1 - managers - customers)
    )


def work(world: World, role: str, number: int, import_rows: int, admin_cookies: dict) -> None:
    login = f"buyer{number}@load.example" if role == "customer" else f"clerk{number}"
    user = User(world, login, seed=number)
    clerk = [user.record_purchase] * 3 + [user.list_customers, user.list_products]
    clerk += [user.list_purchases]
    actions = {
        "clerk": clerk,
        "manager": [user.analytics, user.analytics, user.home],
        "customer": [user.raise_ticket, user.my_tickets, user.my_purchases],
    }
    if role == "importer":
        user.import_once(import_rows, admin_cookies)
        role = "clerk"  # then back to the counter
    user.run(actions[role])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def print_table(title: str, calls: list[Call], seconds: float) -> dict:
    """Per endpoint: requests, req/s, p50, p95, max (ms), refused, errors; returns the p95s."""
    by_endpoint = defaultdict(list)
    for call in calls:
        by_endpoint[call.endpoint].append(call)
    print(f"\n{title}")
    header = f"{'endpoint':<18}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}"
    print(header + f"{'max ms':>9}{'refused':>9}{'errors':>8}")
    p95s = {}
    for endpoint in sorted(by_endpoint):
        rows = by_endpoint[endpoint]
        times = [call.seconds for call in rows]
        kinds = Counter(call.kind for call in rows)
        p95s[endpoint] = percentile(times, 0.95)
        print(
            f"{endpoint:<18}{len(rows):>9}{len(rows) / seconds:>8.1f}"
            f"{statistics.median(times) * 1000:>9.0f}{p95s[endpoint] * 1000:>9.0f}"
            f"{max(times) * 1000:>9.0f}{kinds['refused']:>9}{kinds['error']:>8}"
        )
    kinds = Counter(call.kind for call in calls)
    print(
        f"{'all':<18}{len(calls):>9}{len(calls) / seconds:>8.1f}"
        f"{'':>27}{kinds['refused']:>9}{kinds['error']:>8}"
    )
    return p95s


def check_store(db: Path, world: World, import_rows: int) -> list[str]:
    """What the store must show after the run; returns the problems found."""
    services = open_services(db, FixedClock(TODAY))
    store, problems = services.store, []
    try:
        assert_invariants(store)
    except AssertionError as failure:
        problems.append(f"invariants: {failure}")
    negative = store.query("SELECT id FROM products WHERE stock < 0")
    if negative:
        problems.append(f"stock below zero: {[row[0] for row in negative]}")
    for purchase_id, asked in world.purchases.items():
        lines = store.query(
            "SELECT product_id, quantity FROM purchase_lines WHERE purchase_id = ?", (purchase_id,)
        )
        moved = store.query(
            "SELECT product_id, -sum(quantity) FROM stock_movements"
            " WHERE purchase_id = ? AND kind = 'sale' GROUP BY product_id",
            (purchase_id,),
        )
        if dict(map(tuple, lines)) != asked or dict(map(tuple, moved)) != asked:
            problems.append(f"purchase {purchase_id}: lines {lines} / movements {moved} != {asked}")
    imported = store.query_one(
        "SELECT count(*) FROM customers WHERE email LIKE ?", (f"%@{IMPORT_DOMAIN}",)
    )[0]
    if imported != import_rows:
        problems.append(f"the import wrote {imported} of {import_rows} customers")
    store.close()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=0.5, help="mean pause between clicks (s)")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--lines", type=int, default=20000, help="demo purchase lines")
    parser.add_argument("--import-rows", type=int, default=20000)
    parser.add_argument("--serve", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0
    with tempfile.TemporaryDirectory(prefix="crpm-load-") as folder:
        db = Path(folder) / "crpm.db"
        customers, products = build_store(db, args)
        server, url = start_server(db)
        try:
            admin_cookies = log_in(url, "admin", ADMIN_PASSWORD)
            events = {}
            for dep in httpx.get(f"{url}config", cookies=admin_cookies).json()["dependencies"]:
                events.setdefault(dep.get("api_name"), dep["id"])
            world = World(url, events, customers, products, 0, args.think)
            cast = roles(args.users)
            world.deadline = time.monotonic() + args.seconds
            threads = [
                threading.Thread(
                    target=work, args=(world, role, number, args.import_rows, admin_cookies)
                )
                for number, role in enumerate(cast)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.seconds + 600)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        print(
            f"{len(cast)} users ({Counter(cast)}), {args.seconds:.0f} s, think {args.think} s;"
            f" store: {args.customers} customers, {args.products} products, {args.lines} lines;"
            f" load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
        )
        p95s = print_table("all requests", world.calls, args.seconds)
        start, end = world.import_window or (0, 0)
        during = [
            call
            for call in world.calls
            if call.started < end and call.started + call.seconds > start
        ]
        print(f"\nthe import of {args.import_rows} customers took {end - start:.1f} s")
        p95s_during = print_table("requests that overlapped the import", during, end - start)
        errors = [call for call in world.calls if call.kind == "error"]
        for message, count in Counter(call.message for call in errors).most_common(10):
            print(f"error x{count}: {message}")
        verdicts = {
            "zero errors": not errors,
            "p95 < 1 s for page and purchase endpoints": all(
                p95s.get(name, 0) < TARGET_P95_S for name in TARGET_ENDPOINTS
            ),
            "p95 < 1 s while the import ran": all(
                p95s_during.get(name, 0) < TARGET_P95_S for name in TARGET_ENDPOINTS
            ),
        }
        print()
        for target, met in verdicts.items():
            print(f"target {target}: {'met' if met else 'NOT met'}")
        problems = check_store(db, world, args.import_rows)
        print(f"store checks: {len(world.purchases)} confirmed purchases checked;", end=" ")
        print("all sound" if not problems else f"{len(problems)} problem(s)")
        for problem in problems[:20]:
            print(f"  {problem}")
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
