"""The web layer against an outside security test (issue 13), on the launched app: user text
comes back escaped, logins do not block the server, uploads are capped and refused to customers,
a stale session is 401, foreign origins get nothing, queue results stay with their user, and every
response carries the security headers."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from crpm.permissions import SYSTEM
from crpm.services.passwords import PasswordHasher
from crpm.ui.assetpatch import FIXES
from crpm.ui.session import SESSION_COOKIE
from tests.api.conftest import ADMIN_PASSWORD, STAFF_LOGIN

pytestmark = pytest.mark.api

EVIL = "<img src=http://evil.example/x>"
ESCAPED = "&lt;img src=http://evil.example/x&gt;"
CSV = b"name,email\nUp Loaded,up@example.com\n"


def login(url: str, username: str, password: str) -> dict:
    answer = httpx.post(f"{url}login", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {SESSION_COOKIE: answer.cookies[SESSION_COOKIE]}


def customer_cookie(url: str, services) -> dict:
    email, password = f"web{uuid.uuid4().hex[:8]}@example.com", "web-Secret-4242"
    services.accounts.register_customer("Web Customer", email, password)
    return login(url, email, password)


def fn_index(url: str, cookies: dict, api_name: str) -> int:
    config = httpx.get(f"{url}config", cookies=cookies, timeout=60).json()
    return next(dep["id"] for dep in config["dependencies"] if dep["api_name"] == api_name)


def join(url: str, cookies: dict, api_name: str, args: list, session: str) -> httpx.Response:
    body = {
        "data": args,
        "fn_index": fn_index(url, cookies, api_name),
        "session_hash": session,
        "trigger_id": None,
    }
    return httpx.post(f"{url}gradio_api/queue/join", json=body, cookies=cookies)


def read_queue(url: str, cookies: dict, session: str) -> tuple[int, list[dict]]:
    """(status, messages) of /queue/data for a session, up to the completed message."""
    params, messages = {"session_hash": session}, []
    with httpx.stream(
        "GET", f"{url}gradio_api/queue/data", params=params, cookies=cookies, timeout=30
    ) as stream:
        if stream.status_code != 200:
            return stream.status_code, []
        for line in stream.iter_lines():
            if line.startswith("data:"):
                messages.append(json.loads(line[5:]))
                if messages[-1].get("msg") == "process_completed":
                    break
    return stream.status_code, messages


def run_event(url: str, cookies: dict, api_name: str, *args) -> list[dict]:
    session = uuid.uuid4().hex
    joined = join(url, cookies, api_name, list(args), session)
    assert joined.status_code == 200, joined.text
    status, messages = read_queue(url, cookies, session)
    assert status == 200
    return messages


def toasts(messages: list[dict]) -> list[str]:
    return [message["log"] for message in messages if message.get("msg") == "log"]


def output(messages: list[dict]) -> list:
    return messages[-1]["output"]["data"]


@pytest.fixture(scope="module")
def staff(app) -> dict:
    return dict(app.client.cookies)


@pytest.fixture(scope="module")
def admin(app) -> dict:
    app.services.accounts.ensure_admin(ADMIN_PASSWORD)
    return login(app.url, "admin", ADMIN_PASSWORD)


# --- 1. user text is escaped in toasts and in Markdown ---


def test_a_name_with_html_comes_back_escaped_in_toasts_and_markdown(app, staff, new_product):
    added = run_event(app.url, staff, "add_customer", EVIL, f"{uuid.uuid4().hex}@example.com",
                      "", "", "", "", "", "")  # fmt: skip
    assert any(ESCAPED in toast for toast in toasts(added)), toasts(added)
    assert not any(EVIL in toast for toast in toasts(added))
    customer_id = output(added)[0]
    lines = [{"product_id": new_product(), "quantity": 1}]
    preview = output(run_event(app.url, staff, "preview_purchase", customer_id, lines, ""))
    assert EVIL not in json.dumps(preview) and "&lt;img" in preview[1]
    recorded = run_event(app.url, staff, "record_purchase", customer_id, lines, "")
    assert any(ESCAPED in toast for toast in toasts(recorded)), toasts(recorded)
    assert EVIL not in json.dumps(output(recorded))
    details = output(run_event(app.url, staff, "get_purchase", output(recorded)[0]))
    assert EVIL not in details[1] and "&lt;img" in details[1]


def test_a_refusal_naming_user_text_is_escaped_in_its_toast(app, staff):
    refused = run_event(app.url, staff, "get_customer", EVIL)
    warnings = toasts(refused)
    assert warnings and not any(EVIL in toast for toast in warnings), warnings
    assert any("&lt;img" in toast for toast in warnings), warnings


def test_no_tab_module_raises_a_toast_except_through_the_escaping_helpers():
    ui = Path(__file__).parents[2] / "crpm" / "ui"
    direct = [
        f"{path.name}: {line.strip()}"
        for path in sorted(ui.glob("*.py"))
        if path.name != "common.py"
        for line in path.read_text().splitlines()
        if any(call in line for call in ("gr.Info(", "gr.Warning(", "gr.Error("))
    ]
    assert direct == []


# --- 2. logins run off the event loop ---


class SlowHasher(PasswordHasher):
    """The real hasher, a second slower and without using the CPU: a login that blocked the event
    loop would hold every other request for that second, however busy the machine is."""

    def verify(self, password, encoded):
        time.sleep(1.0)
        return super().verify(password, encoded)


def test_a_cheap_page_answers_while_slow_logins_are_in_flight(app):
    """Wrong passwords still pay for the full hash: while a batch of them is hashing, the login
    page (no hashing) must not queue behind them."""
    batch = 8
    clients = [httpx.Client(base_url=app.url, timeout=120) for _ in range(batch + 1)]
    sending = threading.Barrier(batch + 1)
    finished: list[float] = []

    def wrong_login(number: int) -> int:
        sending.wait()
        answer = clients[number].post(
            "login", data={"username": f"nobody{number}@example.com", "password": "wrong-Secret-1"}
        )
        finished.append(time.monotonic())
        return answer.status_code

    accounts = app.services.accounts
    real, accounts.hasher = accounts.hasher, SlowHasher(n=1024)
    try:
        with ThreadPoolExecutor(batch) as pool:
            logins = [pool.submit(wrong_login, number) for number in range(batch)]
            sending.wait()
            time.sleep(0.3)  # every login has reached the server and is in its slow hash
            page = clients[batch].get("login")
            page_done = time.monotonic()
            assert [login.result() for login in logins] == [401] * batch
    finally:
        accounts.hasher = real
        for client in clients:
            client.close()
    assert page.status_code == 200
    before = sum(done < page_done for done in finished)
    assert before == 0, f"the login page waited for {before} of {batch} logins"


# --- 3. uploads: capped, and only for roles that import ---


@pytest.fixture(scope="module")
def small_app(launch_app, tmp_path_factory):
    """An app with a 1 MB upload cap and its own upload folder."""
    uploads = tmp_path_factory.mktemp("uploads")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_TEMP_DIR", str(uploads))
        patch.setenv("CRPM_SCRYPT_N", "1024")
        url, services = launch_app(tmp_path_factory.mktemp("small") / "crpm.db", max_upload_mb=1)
    services.accounts.ensure_admin(ADMIN_PASSWORD)
    services.accounts.create_user(services.accounts.actor_for("admin"), *STAFF_LOGIN, "staff")
    return url, services, uploads


def stored(uploads: Path) -> list[Path]:
    return [path for path in uploads.rglob("*") if path.is_file()]


def upload(url: str, cookies: dict, content: bytes) -> httpx.Response:
    files = {"files": ("people.csv", content, "text/csv")}
    return httpx.post(f"{url}gradio_api/upload", files=files, cookies=cookies, timeout=60)


def test_a_customer_may_not_upload_and_nothing_is_stored(small_app):
    url, services, uploads = small_app
    refused = upload(url, customer_cookie(url, services), CSV)
    assert refused.status_code == 403, refused.text
    assert stored(uploads) == []
    assert upload(url, {}, CSV).status_code == 401


def test_a_staff_upload_over_the_limit_is_refused_and_a_normal_one_works(small_app):
    url, _services, uploads = small_app
    cookies = login(url, *STAFF_LOGIN)
    too_big = upload(url, cookies, CSV + b"x" * (1024 * 1024 + 10))
    assert too_big.status_code == 413, too_big.text
    assert stored(uploads) == []
    fine = upload(url, cookies, CSV)
    assert fine.status_code == 200, fine.text
    assert Path(fine.json()[0]).read_bytes() == CSV


def test_the_app_keeps_only_the_most_recently_used_sessions(launch_app, tmp_path, monkeypatch):
    """Every page load and API client is a session that holds a copy of the page's settings;
    the oldest are let go, so the process does not grow with every visit."""
    import crpm.ui

    monkeypatch.setattr(crpm.ui, "SESSIONS_KEPT", 3)
    url, services = launch_app(tmp_path / "crpm.db")
    services.accounts.create_user(SYSTEM, *STAFF_LOGIN, role="staff")
    cookies = login(url, *STAFF_LOGIN)
    held = launch_app.demo_of(services).state_holder.session_data
    for _ in range(6):
        run_event(url, cookies, "list_customers", "", "all", 1, 25)
    assert len(held) == 3
    launch_app.close(services)


# --- 7. a stale session on a download is 401 ---


@pytest.mark.parametrize("route", ["download/backup", "download/export/customers.csv"])
def test_a_stale_session_on_a_download_is_401(app, route):
    answer = httpx.get(f"{app.url}{route}", cookies={SESSION_COOKIE: "no-such-session"})
    assert answer.status_code == 401, answer.text


# --- 9. foreign origins get nothing ---


def other_origin(url: str) -> str:
    return f"http://localhost:{urlparse(url).port + 1}"


def test_another_local_port_cannot_read_the_backup_with_the_admins_cookie(app, admin):
    headers = {"Origin": other_origin(app.url)}
    answer = httpx.get(f"{app.url}download/backup", cookies=admin, headers=headers, timeout=60)
    assert answer.status_code == 403
    assert b"SQLite format" not in answer.content
    assert "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-credentials" not in answer.headers
    preflight = httpx.options(
        f"{app.url}gradio_api/queue/join",
        headers={**headers, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    same = {"Origin": app.url.rstrip("/")}
    answer = httpx.get(f"{app.url}download/backup", cookies=admin, headers=same, timeout=60)
    if app.services.store.dialect == "sqlite":
        assert answer.status_code == 200 and answer.content.startswith(b"SQLite format")
    else:  # the same origin reaches the route, which gives the pg_dump command instead
        assert answer.status_code == 400 and "pg_dump" in answer.json()["error"]


def test_a_foreign_origin_cannot_call_an_endpoint(app, staff):
    headers = {"Origin": other_origin(app.url)}
    config = httpx.get(f"{app.url}config", cookies=staff, headers=headers, timeout=60)
    assert config.status_code == 403 and "dependencies" not in config.text
    assert "access-control-allow-origin" not in config.headers


# --- 12. queue results stay with the user who asked ---


def test_another_user_cannot_read_a_queue_result_by_its_session_hash(app, staff, admin):
    session = uuid.uuid4().hex
    customer_id = app.services.customers.add(
        app.services.accounts.actor_for("admin"), "Secret Sally", f"{session}@example.com"
    ).id
    assert join(app.url, staff, "get_customer", [customer_id], session).status_code == 200
    for intruder in (admin, customer_cookie(app.url, app.services)):
        status, messages = read_queue(app.url, intruder, session)
        assert status == 403 and messages == []
        beat = httpx.get(f"{app.url}gradio_api/heartbeat/{session}", cookies=intruder, timeout=5)
        assert beat.status_code == 403
    status, messages = read_queue(app.url, staff, session)
    assert status == 200 and output(messages)[1] == "Secret Sally"


# --- headers and the API docs ---


def test_every_response_carries_the_security_headers(app, staff):
    for path, cookies in (("login", {}), ("", staff), ("config", staff), ("nowhere", {})):
        headers = httpx.get(f"{app.url}{path}", cookies=cookies, timeout=60).headers
        assert "frame-ancestors 'self'" in headers["content-security-policy"], path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path


@pytest.mark.parametrize(
    "path", ["openapi.json", "docs", "redoc", "gradio_api/openapi.json", "gradio_api/docs"]
)
def test_the_api_schema_is_not_served_to_anonymous_visitors(app, path):
    assert httpx.get(f"{app.url}{path}").status_code in (401, 404)


def test_gradios_hashed_assets_are_cached_for_a_year_and_the_page_is_not(app, staff):
    page = httpx.get(app.url, cookies=staff, timeout=60)
    assets = re.findall(r'(assets/[^"]+-[A-Za-z0-9_-]{8,}\.js)"', page.text)
    assert assets, "the page names no hashed script"
    script = httpx.get(f"{app.url}{assets[0]}", cookies=staff, timeout=60)
    assert script.status_code == 200
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "immutable" not in page.headers.get("cache-control", "")
    missing = httpx.get(f"{app.url}assets/Nothing-ABCDEFGH.js", cookies=staff, timeout=60)
    assert "immutable" not in missing.headers.get("cache-control", "")


def test_gradios_patched_scripts_are_served_with_the_fixes_and_revalidated(app, staff):
    for fix in FIXES:
        script = httpx.get(f"{app.url}assets/{fix.file}", cookies=staff, timeout=60)
        assert script.status_code == 200 and fix.new in script.text, fix.why
        assert script.headers["cache-control"] == "no-cache"
        again = httpx.get(
            f"{app.url}assets/{fix.file}",
            headers={"if-none-match": script.headers["etag"]},
            cookies=staff,
            timeout=60,
        )
        assert again.status_code == 304
