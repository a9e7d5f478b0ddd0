"""Where the browser's time goes from Log in to the Home figures: a CPU profile by JS function.

bench_browser.py says how long login to Home takes; this says why. It logs in on the
benchmark store in Chromium with the DevTools CPU profiler on and prints the functions with the
most time (self and inclusive), with the page's component and event counts, which drive Gradio's
own set-up work (it matches every component against every event).

    .venv/bin/python bench/profile_login.py [--lines 100000] [--customers 10000] [--runs 1]
"""

from __future__ import annotations

import collections
import time

from bench_browser import VIEWPORT, log_in, wait_for
from bench_ui import BENCH_USER, bench_store, free_port, start_app
from playwright.sync_api import expect, sync_playwright

from tests.support import CHROMIUM, CHROMIUM_ARGS

SHOWN = 25


def frame_key(node: dict) -> str:
    frame = node["callFrame"]
    return f"{frame['functionName'] or '(anonymous)'} {frame['url'].rsplit('/', 1)[-1]}"


def summarise(profile: dict) -> tuple[collections.Counter, collections.Counter]:
    """Milliseconds spent in each function itself and inside it (callees included)."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}
    spent = collections.Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        spent[sample] += delta / 1000
    own, inside = collections.Counter(), collections.Counter()
    for node_id, ms in spent.items():
        own[frame_key(nodes[node_id])] += ms
        seen, current = set(), node_id
        while current is not None:
            key = frame_key(nodes[current])
            if key not in seen:
                inside[key] += ms
                seen.add(key)
            current = parent.get(current)
    return own, inside


def profile_login(browser, url: str) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    log_in(page, url)  # a first login warms the server's caches and the browser's
    expect(page.locator("#tab-home .crpm-figure").first).to_contain_text("Revenue")
    context.clear_cookies()
    page.goto(url)
    page.locator("#username").fill(BENCH_USER[0])
    page.locator("#password").fill(BENCH_USER[1])
    cdp = context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
    cdp.send("Profiler.start")
    started = time.perf_counter()
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#tab-home .crpm-figure").first).to_contain_text("Revenue")
    print(f"login to Home figures: {time.perf_counter() - started:.2f} s")
    counts = page.evaluate(
        "() => [gradio_config.components.length, gradio_config.dependencies.length]"
    )
    print(f"the page's config: {counts[0]} components, {counts[1]} events")
    own, inside = summarise(cdp.send("Profiler.stop")["profile"])
    print(f"CPU profile: {sum(own.values()):,.0f} ms sampled")
    for title, counter in (("self", own), ("inclusive", inside)):
        print(f"\n{title} ms")
        for key, ms in counter.most_common(SHOWN):
            print(f"{ms:9,.0f}  {key}")
    context.close()


def main() -> None:
    args, db = bench_store(__doc__.splitlines()[0])
    port = free_port()
    app, _ = start_app(db, port)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url + "login")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                profile_login(browser, url)
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=30)


if __name__ == "__main__":
    main()
