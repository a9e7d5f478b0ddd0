"""Two app processes on one PostgreSQL store behind nginx (deploy/nginx.conf), as a business
with more staff than one process serves runs CRPM: a browser logs in through the proxy and
records a sale, and the Analytics tab of either process includes it at its next report.

The nginx configuration is the shipped one, with only its ports and file paths changed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from playwright.sync_api import expect

from crpm.clock import FixedClock
from crpm.models import format_money, parse_money
from crpm.permissions import SYSTEM
from crpm.services import open_services
from tests.browser.test_browser_dashboard import open_tab, toast
from tests.support import BROWSER_ADMIN, TODAY, log_in

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
STAFF = ("proxy.clerk", "proxy-clerk-Secret-9")
PRICE = "1234.56"
SOLD = "SELECT id FROM purchases WHERE cancelled_at IS NULL"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}login", timeout=2)
            return
        except httpx.TransportError:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args} exited with {process.returncode}") from None
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {seconds} s")


def nginx_config(folder: Path, listen: int, apps: list[int]) -> Path:
    """deploy/nginx.conf listening on `listen`, in front of `apps`, writing under `folder`."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "".join(f"server 127.0.0.1:{port};\n        " for port in apps).rstrip()
    text = re.sub(r"(server 127\.0\.0\.1:\d+;\s*)+", servers + "\n    ", text, count=1)
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    text = text.replace("/var/log/nginx/", f"{folder}/")
    path = folder / "nginx.conf"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """Two app processes on a fresh PostgreSQL schema, nginx in front; the store holds an admin
    and a clerk, and no sale yet."""
    from tests.pgserver import fresh_schema

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    folder = tmp_path_factory.mktemp("proxy")
    with fresh_schema() as url:
        seeding = open_services(url, FixedClock(TODAY))
        accounts = seeding.accounts
        accounts.ensure_admin(BROWSER_ADMIN[1])
        accounts.create_user(accounts.actor_for("admin"), *STAFF, role="staff")
        ports = [free_port(), free_port()]
        apps = [
            subprocess.Popen([sys.executable, "-m", "tests.app_process", url, str(port)], cwd=ROOT)
            for port in ports
        ]
        listen = free_port()
        config = nginx_config(folder, listen, ports)
        directives = f"daemon off; pid {folder}/nginx.pid; error_log {folder}/error.log;"
        proxy = subprocess.Popen([nginx, "-p", str(folder), "-c", str(config), "-g", directives])
        try:
            for port, app in zip(ports, apps, strict=True):
                wait_for(f"http://127.0.0.1:{port}/", app)
            wait_for(f"http://127.0.0.1:{listen}/", proxy)
            yield SimpleNamespace(
                url=f"http://127.0.0.1:{listen}/",
                apps=[f"http://127.0.0.1:{port}/" for port in ports],
                services=seeding,
                store=seeding.store,
                access_log=folder / "crpm-access.log",
            )
        finally:
            for process in [proxy, *apps]:
                process.terminate()
            for process in [proxy, *apps]:
                process.wait(timeout=30)
            seeding.store.close()


def logged_in(new_context, url: str):
    context = new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.locator("#username").fill(STAFF[0])
    page.locator("#password").fill(STAFF[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".crpm-who").last).to_contain_text(STAFF[0], timeout=60_000)
    return page


def all_time_revenue(page):
    open_tab(page, "Analytics")
    page.get_by_role("radio", name="All time").check()
    expect(page.locator("#analytics-heading")).to_contain_text("All time")
    return page.locator("#analytics-sales")


def test_a_sale_made_through_the_proxy_is_in_either_process_analytics(new_context, proxied):
    """Each run sells a customer and a product of its own; a rerun after a first run that sold
    expects the revenue that sale left plus its own."""
    services, tag = proxied.services, uuid.uuid4().hex[:6]
    services.customers.add(SYSTEM, "Proxy Person", f"proxy.person.{tag}@example.com")
    sku = f"PRX-{tag}"
    services.products.add(SYSTEM, sku, "Proxied lamp", PRICE, stock_quantity=5)
    sold = [services.purchases.get(SYSTEM, row[0]) for row in proxied.store.query(SOLD)]
    revenue = format_money(sum(sale.total_cents for sale in sold) + parse_money(PRICE), "$")
    for app in proxied.apps:  # each process has built its mirror before the sale
        expect(all_time_revenue(logged_in(new_context, app))).not_to_contain_text(revenue)

    page = logged_in(new_context, proxied.url)
    open_tab(page, "Purchases")
    settled = f"of {len(sold)}" if sold else "No purchases yet"
    expect(page.locator("#purchases-table-info")).to_contain_text(settled)
    new = page.locator("#purchase-new")
    new.get_by_label("Find customer").press_sequentially(f"proxy.person.{tag}")
    expect(new.locator("input[aria-label='Customer']")).to_have_value(re.compile("Proxy Person"))
    new.get_by_label("Find product").press_sequentially(sku)
    expect(new.locator("input[aria-label='Product']")).to_have_value(re.compile(sku))
    new.get_by_role("button", name="Add", exact=True).click()
    new.get_by_role("button", name="Confirm purchase").click()
    expect(toast(page, "recorded for Proxy Person")).to_be_visible()
    expect(all_time_revenue(page)).to_contain_text(revenue)

    for app in proxied.apps:
        expect(all_time_revenue(logged_in(new_context, app))).to_contain_text(revenue)
    assert proxied.store.query_one("SELECT stock FROM products WHERE sku = ?", (sku,))[0] == 4


def test_a_browser_stays_on_one_process_and_its_login_holds_on_every_one(proxied):
    cookies = log_in(proxied.url, *STAFF)
    for _ in range(6):
        assert httpx.get(f"{proxied.url}config", cookies=cookies, timeout=60).status_code == 200
    same_origin = {"Origin": proxied.url.rstrip("/")}
    served = [
        line.rsplit("upstream=", 1)[1].strip()
        for line in proxied.access_log.read_text().splitlines()
        if "GET /config" in line
    ]
    assert len(served) >= 6 and len(set(served[-6:])) == 1, served
    for app in proxied.apps:
        assert httpx.get(f"{app}config", cookies=cookies, timeout=60).status_code == 200
    out = httpx.post(f"{proxied.url}logout", cookies=cookies, headers=same_origin, timeout=60)
    assert out.status_code == 303
    for app in proxied.apps:
        assert httpx.get(f"{app}config", cookies=cookies, timeout=60).status_code == 401
