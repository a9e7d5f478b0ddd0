"""Dashboard speed through the HTTP API on a big store (default 1M purchase lines, 100k customers).

Measures, with gradio_client against `python app.py` in a subprocess:
- start: from launching app.py until it answers HTTP (target < 5 s; nothing loads every row);
- a Customers page and a Purchases page (first, deep, searched), medians (target < 0.5 s);
- the Analytics tab's full refresh vs the engine's own `Analytics.page()` for the same range,
  timed in this process on the same store (target: ratio within 1.5), through gradio_client and
  through the raw queue as a browser reads it; and one table's CSV link when clicked.

The store is built once with crpm.demo.generate under bench/data/ (git-ignored) and reused.

    .venv/bin/python bench/bench_ui.py [--lines 1000000] [--customers 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from gradio_client import Client  # noqa: E402

from crpm.analytics import Analytics  # noqa: E402
from crpm.analytics.periods import preset_range  # noqa: E402
from crpm.demo import generate  # noqa: E402
from crpm.errors import Conflict  # noqa: E402
from crpm.permissions import SYSTEM  # noqa: E402
from crpm.services import open_services  # noqa: E402
from crpm.ui.analytics_tables import TABLES  # noqa: E402

BENCH_USER = ("bench", "bench-staff-Secret-1x")
ADMIN_PASSWORD = "bench-admin-Secret-2y"


def build_store(path: Path, lines: int, customers: int) -> Path:
    services = open_services(path)
    if services.store.query_one("SELECT count(*) FROM purchase_lines")[0] == 0:
        started = time.perf_counter()
        generate(
            services.store,
            customers=customers,
            products=max(100, customers // 100),
            purchases=lines,
            seed=1,
        )
        print(f"built {path.name} in {time.perf_counter() - started:.1f} s")
    accounts = services.accounts
    accounts.ensure_admin(ADMIN_PASSWORD)
    try:
        accounts.create_user(accounts.actor_for("admin"), *BENCH_USER, role="staff")
    except Conflict:
        pass
    services.store.close()
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(db: Path, port: int) -> tuple[subprocess.Popen, float]:
    """Launch app.py and wait until it answers HTTP; returns the process and the seconds."""
    env = {**os.environ, "CRPM_ADMIN_PASSWORD": ADMIN_PASSWORD}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--db", str(db), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1)
            return process, time.perf_counter() - started
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("app.py exited before answering") from None
            time.sleep(0.05)


def event_id(http: httpx.Client, api_name: str) -> int:
    config = http.get("config").json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def queue_call(http: httpx.Client, fn_index: int, data: list):
    """Join the queue for one event and read its answer from the event stream."""
    session = uuid.uuid4().hex
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None}
    http.post("gradio_api/queue/join", json=body).raise_for_status()
    stream = http.stream("GET", "gradio_api/queue/data", params={"session_hash": session})
    with stream as answer:
        for line in answer.iter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                assert message.get("success"), message
                return message["output"]["data"]
    raise RuntimeError(f"no answer for event {fn_index}")


def median_time(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_store(description: str) -> tuple[argparse.Namespace, Path]:
    """The command line's sizes and runs, and the benchmark store of that size (built once)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    db = ROOT / "bench" / "data" / f"ui_{args.lines}_{args.customers}.db"
    build_store(db, args.lines, args.customers)
    return args, db


def main() -> None:
    args, db = bench_store(__doc__.splitlines()[0])

    port = free_port()
    process, start_seconds = start_app(db, port)
    try:
        client = Client(f"http://127.0.0.1:{port}/", auth=BENCH_USER, verbose=False)
        predict = client.predict
        deep_page = args.customers // 25 // 2
        pages = {
            "Customers page 1": lambda: predict("", "active", 1, 25, api_name="/list_customers"),
            f"Customers page {deep_page}": lambda: predict(
                "", "active", deep_page, 25, api_name="/list_customers"
            ),
            "Customers search 'anna'": lambda: predict(
                "anna", "active", 1, 25, api_name="/list_customers"
            ),
            "Purchases page 1": lambda: predict(
                None, None, "", "", "all", 1, 25, api_name="/list_purchases"
            ),
            "Purchases of one customer": lambda: predict(
                42, None, "", "", "all", 1, 25, api_name="/list_purchases"
            ),
            "Purchases page 1000": lambda: predict(
                None, None, "", "", "all", 1000, 25, api_name="/list_purchases"
            ),
        }
        results = [("App start until it answers", start_seconds, "< 5 s", "")]
        for name, call in pages.items():
            call()  # warm: the first call on a connection pays for its cache
            results.append((name, median_time(call, args.runs), "< 0.5 s", ""))

        refresh = lambda: predict("All time", None, None, "auto", api_name="/analytics_page")  # noqa: E731
        refresh()  # the app's first call loads its analytics mirror
        ui_seconds = median_time(refresh, args.runs)
        # gradio_client checks for answers every 50 ms; a browser reads the event stream as it
        # comes, so the same call through the raw queue is what a person waits for.
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}/", cookies=client.cookies)
        page_args = ["All time", None, None, "auto"]
        page_event = event_id(http, "analytics_page")
        raw_seconds = median_time(lambda: queue_call(http, page_event, page_args), args.runs)
        top_link = refresh()[list(TABLES).index("top_customers") - len(TABLES)]
        link = html.unescape(re.search(r'href="([^"]+)"', top_link).group(1))
        csv_seconds = median_time(lambda: http.get(link).raise_for_status(), args.runs)
        http.close()
        services = open_services(db)
        engine = Analytics(services.store)
        start, end = preset_range("All time", services.store.clock.utc_day())
        engine_call = lambda: engine.page(SYSTEM, start, end, grain="month")  # noqa: E731
        engine_call()
        engine_seconds = median_time(engine_call, args.runs)
        engine.close()
        services.store.close()
        results.append(("Analytics page() in this process", engine_seconds, "baseline", ""))
        for name, seconds, target in (
            ("Analytics tab full refresh (client)", ui_seconds, "<= 1.5x"),
            ("  ... through the raw queue", raw_seconds, "<= 1.5x"),
            ("  a table's CSV link, when clicked", csv_seconds, ""),
        ):
            results.append((name, seconds, target, f"{seconds / engine_seconds:.2f}x"))
    finally:
        process.terminate()
        process.wait(timeout=30)

    print(f"\nstore: {db.name}; medians of {args.runs} runs after one warm-up call\n")
    print(f"{'measure':<38} {'seconds':>9}  {'target':<9} {'ratio':>6}")
    print("-" * 66)
    for name, seconds, target, ratio in results:
        print(f"{name:<38} {seconds:>9.3f}  {target:<9} {ratio:>6}")


if __name__ == "__main__":
    main()
