"""Headless Debian Chromium against a launched dashboard with a little demo data.

Without /usr/bin/chromium the tests skip with how to install it, except in CI
(CRPM_REQUIRE_BROWSER=1) where a missing browser is a failure. Each page records console
errors and the host of every request; a test fails on either (nothing may leave the machine).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from crpm.clock import FixedClock
from crpm.demo import generate
from crpm.services import open_services
from tests.support import BROWSER_ADMIN, CHROMIUM, CHROMIUM_ARGS, TODAY

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
STAFF_LOGIN = ("clerk", "browser-staff-Secret-5k")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = (
            f"browser tests need Debian's Chromium at {CHROMIUM}: "
            "install it with `sudo apt-get install -y chromium`"
        )
        if os.environ.get("CRPM_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (CRPM_REQUIRE_BROWSER=1: not skipping)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser):
    """new_context(**options): a browser context that is closed when the test ends. A context
    left open keeps its pages running (and polling) for the rest of the session."""
    made = []

    def new_context(**options):
        made.append(browser.new_context(**options))
        return made[-1]

    yield new_context
    for context in made:
        context.close()


@pytest.fixture(scope="session")
def site(launch_app, tmp_path_factory):
    """The dashboard over a store with demo data, so every chart has something to draw."""
    db_path = tmp_path_factory.mktemp("browser") / "crpm.db"
    seeding = open_services(db_path, FixedClock(TODAY))
    generate(seeding.store, customers=80, products=30, purchases=800, seed=7)
    seeding.store.close()
    url, services = launch_app(db_path)
    accounts = services.accounts
    accounts.ensure_admin(BROWSER_ADMIN[1])
    accounts.create_user(accounts.actor_for("admin"), *STAFF_LOGIN, role="staff")
    return SimpleNamespace(url=url, services=services)


@pytest.fixture
def open_page(browser, site):
    """open_page(login, viewport): a logged-in page in a browser context of its own. Every page
    is checked when the test ends: no console error, no request to another host."""
    opened = []

    def open_page(login=STAFF_LOGIN, viewport=None):
        context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000})
        problems = SimpleNamespace(console=[], hosts=set())
        opened.append((context, problems))

        def screen(route):
            host = urlparse(route.request.url).hostname
            if host and host not in LOOPBACK:
                problems.hosts.add(host)
                return route.abort()
            return route.continue_()

        context.route("**/*", screen)
        page = context.new_page()
        page.crpm_problems = problems  # for log_out(): what the page reported so far
        page.on("console", lambda msg: msg.type == "error" and problems.console.append(msg.text))
        page.on("pageerror", lambda error: problems.console.append(str(error)))
        page.set_default_timeout(60_000)  # a loaded CI machine can be slow; failures still fail
        page.goto(site.url)
        page.locator("#username").fill(login[0])
        page.locator("#password").fill(login[1])
        page.get_by_role("button", name="Log in").click()
        # The role-tabs load event selects the first tab; wait for it before clicking around
        # (the first page of a session builds every tab: give a busy machine its time).
        expect(page.locator(".crpm-who").last).to_contain_text(login[0], timeout=60_000)
        return page

    yield open_page
    for context, _problems in opened:
        context.close()
    for _context, problems in opened:
        assert problems.console == [], "the browser console reported errors"
        assert problems.hosts == set(), "the page tried to reach other hosts"


@pytest.fixture
def page(open_page):
    return open_page()


@pytest.fixture
def shoot():
    """shoot(page, name): a full-page screenshot under tests/artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)

    def shoot(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot
