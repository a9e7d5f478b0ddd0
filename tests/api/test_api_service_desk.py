"""Login pages and sessions over HTTP, and the service-desk, account and admin endpoints through
gradio_client, on an app of this module's own (cheap scrypt; real store, real server).

Everything the app writes to stdout, stderr and the log while this module runs is kept and
checked at the end: no password may appear there, in the audit log or in any answer.
"""

from __future__ import annotations

import contextlib
import json
import logging
from concurrent.futures import CancelledError
from types import SimpleNamespace

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError

from crpm.services.passwords import PasswordHasher
from crpm.ui.session import SESSION_COOKIE

pytestmark = pytest.mark.api

PASSWORDS = {
    "admin": "desk-Admin-Secret-11",
    "sam": "desk-Staff-Secret-22",
    "cara@example.com": "desk-Cara-Secret-33",
    "dan@example.com": "desk-Dan-Secret-44",
    "new": "desk-Changed-Secret-55",
    "reset": "desk-Reset-Secret-66",
    "staffer": "desk-Staffer-Secret-77",
}
answers: list = []  # every answer this module got, checked for passwords at the end


@pytest.fixture(scope="module")
def desk_app(launch_app, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CRPM_SCRYPT_N", "1024")  # cheap_passwords, for a module-wide app
        # behind a proxy elsewhere (CRPM_TRUSTED_PROXY=1), as on a Hugging Face Space
        url, services = launch_app(tmp_path_factory.mktemp("desk") / "crpm.db", trusted_proxy=True)
        accounts = services.accounts
        accounts.hasher = PasswordHasher(n=1024)
        accounts.ensure_admin(PASSWORDS["admin"])
        admin = accounts.actor_for("admin")
        accounts.create_user(admin, "sam", PASSWORDS["sam"], "staff")
        staff = accounts.actor_for("sam")
        mug = services.products.add(staff, "MUG-9", "Green mug", price="8.00", stock_quantity=6)
        yield SimpleNamespace(url=url, services=services, staff=staff, mug=mug)


LOGGERS = ("", "crpm", "gradio", "uvicorn", "uvicorn.access", "uvicorn.error", "httpx")
printed: list[str] = []  # what the process wrote to stdout and stderr during each test


class Keep(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(f"{record.getMessage()} {self.format(record)}")


@pytest.fixture(autouse=True)
def keep_output(capfd):
    yield
    printed.append("".join(capfd.readouterr()))


@pytest.fixture(scope="module", autouse=True)
def no_password_anywhere(desk_app):
    """Keep what the app logs while the module runs; then look for passwords there, in what
    it printed, in the audit log and in every answer."""
    keep = Keep()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(keep)
        logger.setLevel(logging.DEBUG)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(keep)
        logger.setLevel(level)
    records = keep.records
    audit = desk_app.services.store.query("SELECT before, after, actor, action FROM audit_log")
    places = {
        "log": "\n".join(records),
        "stdout/stderr": "\n".join(printed),
        "audit log": json.dumps([tuple(row) for row in audit]),
        "answers": json.dumps(answers, default=str),
    }
    for password in PASSWORDS.values():
        for place, text in places.items():
            assert password not in text, f"a password appears in the {place}"
    assert len(answers) > 20 and records, "the checks above looked at nothing"


def login(app, username, password, **headers) -> httpx.Response:
    return httpx.post(
        f"{app.url}login",
        data={"username": username, "password": password, "form": "1"},
        headers=headers,
    )


def register(app, email, password, confirm=None, name="Cara Client", **headers) -> httpx.Response:
    form = {"name": name, "email": email, "phone": "+1 555 0101", "password": password}
    form["confirm"] = password if confirm is None else confirm
    answer = httpx.post(f"{app.url}register", data=form, headers=headers)
    answers.append(answer.text)
    return answer


def session_of(answer) -> dict:
    return {SESSION_COOKIE: answer.cookies[SESSION_COOKIE]}


def client(app, username) -> Client:
    return Client(app.url, auth=(username, PASSWORDS[username]), verbose=False)


def call(api: Client, endpoint: str, *args):
    result = api.predict(*args, api_name=f"/{endpoint}")
    answers.append(result)
    return result


# --- the pages and the session cookie ----------------------------------------------------


def test_login_page_links_registration_and_never_echoes_a_password(desk_app):
    page = httpx.get(f"{desk_app.url}login")
    assert page.status_code == 200 and 'href="register"' in page.text
    wrong = "desk-Wrong-Secret-99"
    refused = login(desk_app, "sam", wrong)
    assert refused.status_code == 401 and "do not match" in refused.text
    assert wrong not in refused.text and 'value="sam"' in refused.text
    assert SESSION_COOKIE not in refused.cookies


def test_registering_answers_one_neutral_page_and_the_new_login_works(desk_app):
    answer = register(desk_app, "cara@example.com", PASSWORDS["cara@example.com"])
    assert answer.status_code == 303 and answer.headers["location"] == "login?notice=registered"
    assert SESSION_COOKIE not in answer.cookies
    notice = httpx.get(f"{desk_app.url}login?notice=registered")
    assert "If this e-mail address was not registered yet" in notice.text
    logged_in = login(desk_app, "cara@example.com", PASSWORDS["cara@example.com"])
    cookie = logged_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http here; over https the cookie is Secure
    dashboard = httpx.get(desk_app.url, cookies=session_of(logged_in))
    assert dashboard.status_code == 200 and "gradio" in dashboard.text.lower()
    actor = desk_app.services.accounts.actor_for("cara@example.com")
    assert actor.role == "customer" and actor.customer_id is not None


def test_registering_a_known_email_answers_exactly_like_a_new_one(desk_app):
    accounts = desk_app.services.accounts
    admin = accounts.actor_for("admin")
    desk_app.services.customers.add(admin, "Walk In", "walkin@example.com")
    accounts.create_user(admin, "desk.staff@example.com", "desk-Staff-Secret-76", "staff")
    emails = ("nobody.yet@example.com", "walkin@example.com", "desk.staff@example.com")
    answers = [register(desk_app, email, "desk-Probe-Secret-77") for email in emails]
    shapes = [
        (answer.status_code, {**answer.headers, "date": ""}, answer.text) for answer in answers
    ]
    assert shapes[1] == shapes[0] and shapes[2] == shapes[0]
    assert not accounts.authenticate("walkin@example.com", "desk-Probe-Secret-77")
    assert accounts.authenticate("nobody.yet@example.com", "desk-Probe-Secret-77")


def test_registration_refusals_keep_the_typed_fields_but_not_the_password(desk_app):
    password = "desk-Typo-Secret-88"
    differs = register(desk_app, "dora@example.com", password, confirm=password + "x")
    assert differs.status_code == 400 and "passwords differ" in differs.text
    assert "dora@example.com" in differs.text and password not in differs.text
    bad = register(desk_app, "not-an-email", password)
    assert bad.status_code == 400 and "email" in bad.text
    assert password not in bad.text


def test_failed_logins_lock_the_failing_address_not_the_account(desk_app):
    # (uvicorn itself takes X-Forwarded-For from a proxy on 127.0.0.1, as this test client is;
    # desk_app trusts a proxy elsewhere, CRPM_TRUSTED_PROXY=1, as on a Hugging Face Space)
    stranger = {"x-forwarded-for": "10.0.0.1, 203.0.113.50"}  # the proxy appended the last
    for _ in range(5):
        assert login(desk_app, "sam", "desk-Wrong-Secret-99", **stranger).status_code == 401
    assert login(desk_app, "sam", PASSWORDS["sam"], **stranger).status_code == 401
    owner = login(desk_app, "sam", PASSWORDS["sam"], **{"x-forwarded-for": "203.0.113.51"})
    assert owner.status_code == 303 and SESSION_COOKIE in owner.cookies
    attempts = desk_app.services.store.query_one(
        "SELECT attempts FROM address_attempts WHERE address = '203.0.113.50'"
    )
    assert attempts[0] == 6


def test_secure_cookie_behind_https_and_foreign_origins_refused(desk_app):
    secure = login(desk_app, "sam", PASSWORDS["sam"], **{"x-forwarded-proto": "https"})
    assert secure.status_code == 303 and "secure" in secure.headers["set-cookie"].lower()
    sessions = desk_app.services.store.query_one("SELECT count(*) FROM sessions")[0]
    forged = login(desk_app, "sam", PASSWORDS["sam"], origin="https://evil.example")
    assert forged.status_code == 403 and SESSION_COOKIE not in forged.cookies
    signup = register(desk_app, "eve@example.com", "desk-Eve-Secret-00", origin="null")
    assert signup.status_code == 403
    assert desk_app.services.store.query_one("SELECT count(*) FROM sessions")[0] == sessions
    eve = "SELECT count(*) FROM users WHERE username = 'eve@example.com'"
    assert desk_app.services.store.query_one(eve)[0] == 0


def test_logout_revokes_the_session_at_once(desk_app):
    cookie = session_of(login(desk_app, "sam", PASSWORDS["sam"]))
    assert httpx.get(f"{desk_app.url}config", cookies=cookie, timeout=60).status_code == 200
    out = httpx.post(f"{desk_app.url}logout", cookies=cookie)
    assert out.status_code == 303 and out.headers["location"] == "login?notice=out"
    assert httpx.get(f"{desk_app.url}config", cookies=cookie, timeout=60).status_code == 401
    join = httpx.post(
        f"{desk_app.url}gradio_api/queue/join",
        json={"data": [], "fn_index": 0, "session_hash": "x"},
        cookies=cookie,
    )
    assert join.status_code == 401
    old_page = httpx.get(desk_app.url, cookies=cookie)
    assert old_page.status_code == 303 and old_page.headers["location"] == "login?notice=expired"


def test_deactivation_and_erasure_end_open_sessions(desk_app):
    accounts, admin = desk_app.services.accounts, desk_app.services.accounts.actor_for("admin")
    accounts.create_user(admin, "staffer", PASSWORDS["staffer"], "staff")
    api = client(desk_app, "staffer")
    assert call(api, "ticket_queue", "all", "All", "all", None, 1, 25)
    accounts.deactivate_user(admin, "staffer")
    assert httpx.get(f"{desk_app.url}config", cookies=api.cookies, timeout=60).status_code == 401
    with pytest.raises(Exception):  # noqa: B017  (the client's error type varies by route)
        api.predict("all", "All", "all", None, 1, 25, api_name="/ticket_queue")
    register(desk_app, "dan@example.com", PASSWORDS["dan@example.com"], name="Dan Doe")
    old = session_of(login(desk_app, "dan@example.com", PASSWORDS["dan@example.com"]))
    accounts.erase_person(admin, user="dan@example.com")
    register(desk_app, "dan@example.com", PASSWORDS["dan@example.com"], name="Dan Two")
    again = login(desk_app, "dan@example.com", PASSWORDS["dan@example.com"])
    assert again.status_code == 303  # the e-mail is free again after the erasure
    assert httpx.get(f"{desk_app.url}config", cookies=old, timeout=60).status_code == 401
    assert httpx.get(f"{desk_app.url}config", cookies=session_of(again)).status_code == 200


def test_gradio_client_needs_a_login(desk_app):
    with pytest.raises(AuthenticationError):
        Client(desk_app.url, verbose=False)
    with pytest.raises(AuthenticationError):
        Client(desk_app.url, auth=("sam", "desk-Wrong-Secret-99"), verbose=False)


# --- the service desk through the API -----------------------------------------------------


def ticket_text(html: str) -> str:
    return html.replace("&#x27;", "'")


def test_ticket_round_trip(desk_app):
    cara, sam = client(desk_app, "cara@example.com"), client(desk_app, "sam")
    ticket_id, html = call(
        cara, "raise_ticket", "Mug arrived chipped", "Photo sent", "Order", "High"
    )
    assert "Mug arrived chipped" in html
    mine = call(cara, "my_tickets", "all", 1, 25)[0]
    assert [row[0] for row in mine["data"]] == [ticket_id]
    queue = call(sam, "ticket_queue", "active", "All", "unassigned", None, 1, 25)[0]
    assert ticket_id in [row[0] for row in queue["data"]]
    assert "Photo sent" in call(sam, "desk_ticket", ticket_id)[0]
    call(sam, "assign_ticket", ticket_id, "me")
    call(sam, "set_ticket_priority", ticket_id, "Urgent")
    call(sam, "note_ticket", ticket_id, "check the supplier batch")
    call(sam, "reply_ticket", ticket_id, "A new mug is on its way")
    view = call(sam, "set_ticket_status", ticket_id, "resolved", "")
    assert view[1] == "resolved" and "check the supplier batch" in view[0]
    heading, cards = view[4:6]  # the ticket's page: its heading and figure cards
    assert f"Ticket #{ticket_id} · Mug arrived chipped" in heading and "Cara Client" in heading
    for shown in ("Resolved", "Urgent", "sam", "Opened", "Last change"):
        assert shown in cards
    seen = ticket_text(call(cara, "ticket_detail", ticket_id))
    assert "A new mug is on its way" in seen and "resolved" in seen
    assert "check the supplier batch" not in seen and "sam" not in seen  # staff show as support
    reopened = call(cara, "comment_ticket", ticket_id, "It broke again")[0]
    assert "open since" in reopened
    closed = call(cara, "close_ticket", ticket_id, "Sorted, thanks")[0]
    assert "closed since" in closed
    statuses = desk_app.services.store.query(
        "SELECT new_value FROM ticket_events WHERE ticket_id = ? AND kind = 'status' ORDER BY id",
        (ticket_id,),
    )
    assert [row[0] for row in statuses] == ["resolved", "open", "closed"]


def test_quote_round_trip_becomes_a_purchase_and_moves_stock(desk_app):
    cara, sam = client(desk_app, "cara@example.com"), client(desk_app, "sam")
    mug = desk_app.mug
    picker = call(cara, "find_catalogue", "green")
    choice = picker["choices"][0][0]
    assert choice.startswith(f"#{mug.id} MUG-9")
    lines = [{"product_id": mug.id, "quantity": 4}]
    quote_id, html, *_ = call(cara, "request_quote", lines, "gift wrap please")
    assert "gift wrap please" in html
    queued = call(sam, "quote_queue", "requested", None, 1, 25)[0]
    assert quote_id in [row[0] for row in queued["data"]]
    _view, prices, _message, valid, *_page = call(sam, "desk_quote", quote_id)
    product_id, unit_price = map(prices["headers"].index, ("Product ID", "Unit price"))
    assert prices["data"][0][product_id] == mug.id and prices["data"][0][unit_price] == "8.00"
    prices["data"][0][unit_price] = "7.25"
    call(sam, "price_quote", quote_id, prices, valid, "Wrapped for free")
    offered = call(cara, "quote_detail", quote_id)
    assert "$29.00" in offered and "Wrapped for free" in offered
    assert call(cara, "my_quotes", "priced", 1, 25)[0]["data"][0][0] == quote_id
    accepted = call(cara, "accept_quote", quote_id)
    assert "accepted" in accepted
    purchase_id = desk_app.services.desk.get_quote(desk_app.staff, quote_id).purchase_id
    bought = call(cara, "my_purchases", 1, 25)
    assert [row[0] for row in bought[0]["data"]] == [purchase_id] and "$29.00" in bought[1]
    assert desk_app.services.products.get(desk_app.staff, mug.id).stock == 2
    second, *_ = call(cara, "request_quote", lines, "")
    call(
        sam,
        "price_quote",
        second,
        {"headers": prices["headers"], "data": prices["data"]},
        valid,
        "",
    )
    with pytest.raises(AppError, match="only 2 of MUG-9"):
        cara.predict(second, api_name="/accept_quote")
    assert "rejected" in call(cara, "reject_quote", second)
    assert desk_app.services.products.get(desk_app.staff, mug.id).stock == 2


def test_staff_answer_a_quote_for_the_customer_on_its_page(desk_app):
    cara, sam = client(desk_app, "cara@example.com"), client(desk_app, "sam")
    jug = desk_app.services.products.add(
        desk_app.staff, "JUG-3", "Tall jug", price="9.00", stock_quantity=5
    )
    asked = [{"product_id": jug.id, "quantity": 2}]
    quote_id, *_ = call(cara, "request_quote", asked, "")
    _notes, prices, _message, valid, heading, cards, lines, total, bought, _note = call(
        sam, "desk_quote", quote_id
    )
    assert f"Quote #{quote_id} · Cara Client" in heading and "not priced yet" in cards
    assert lines["data"][0][:4] == ["Tall jug", 2, "—", "—"] and total == "Not priced yet."
    assert bought["data"] in ([], [[None] * 5])  # no purchase yet
    prices["data"][0][prices["headers"].index("Unit price")] = "7.50"
    priced = call(sam, "price_quote", quote_id, prices, valid, "")
    assert priced[6]["data"][0][:4] == ["Tall jug", 2, "$7.50", "$15.00"]
    assert "Total $15.00" in priced[7] and "$15.00" in priced[5]

    with pytest.raises(AppError, match="permission denied"):
        cara.predict(quote_id, api_name="/accept_quote_for_customer")
    accepted = call(sam, "accept_quote_for_customer", quote_id)
    purchase_id = desk_app.services.desk.get_quote(desk_app.staff, quote_id).purchase_id
    assert "Accepted" in accepted[5]
    assert accepted[8]["data"][0][1:4] == [f"Purchase #{purchase_id}", "2 units, 1 line", "$15.00"]
    assert desk_app.services.products.get(desk_app.staff, jug.id).stock == 3
    with pytest.raises(AppError, match="already accepted"):
        sam.predict(quote_id, api_name="/reject_quote_for_customer")

    second, *_ = call(cara, "request_quote", asked, "")
    assert "Rejected" in call(sam, "reject_quote_for_customer", second)[5]
    assert "rejected" in call(cara, "quote_detail", second)


def test_a_customer_is_refused_staff_and_admin_endpoints(desk_app):
    cara = client(desk_app, "cara@example.com")
    for endpoint, args in (
        ("ticket_queue", ("all", "All", "all", None, 1, 25)),
        ("list_users", ("all", "all", "", 1, 25)),
        ("audit_log", ("", None, 1, 25)),
    ):
        with pytest.raises(AppError, match="permission denied"):
            cara.predict(*args, api_name=f"/{endpoint}")


def test_own_account_profile_and_password(desk_app):
    cara = client(desk_app, "cara@example.com")
    summary, name, phone, *_rest = call(cara, "my_profile")
    assert "cara@example.com" in summary and name == "Cara Client"
    updated = call(cara, "update_profile", "Cara C. Client", "+1 555 0102", "Cara Co", "", "", "")
    assert updated[1] == "Cara C. Client" and updated[3] == "Cara Co"
    with pytest.raises(AppError, match="Current password: is not right"):
        cara.predict(
            "desk-Wrong-Secret-99", PASSWORDS["new"], PASSWORDS["new"], api_name="/change_password"
        )
    old, new = PASSWORDS["cara@example.com"], PASSWORDS["new"]
    job = cara.submit(old, new, new, api_name="/change_password")
    with contextlib.suppress(CancelledError):  # the change also closes the caller's session
        job.result()
    assert httpx.get(f"{desk_app.url}config", cookies=cara.cookies, timeout=60).status_code == 401
    assert login(desk_app, "cara@example.com", PASSWORDS["new"]).status_code == 303


def test_admin_manages_users_erases_and_reads_the_audit_log(desk_app):
    admin = client(desk_app, "admin")
    outcome, cleared = call(admin, "create_user", "helper", PASSWORDS["reset"], "staff", None)
    assert "helper" in outcome and cleared == ""
    users = call(admin, "list_users", "staff", "active", "help", 1, 25)[0]
    assert [row[1] for row in users["data"]] == ["helper"]
    assert "admin" in call(admin, "set_role", "helper", "admin")
    assert "inactive" in call(admin, "deactivate_user", "helper")
    assert "active" in call(admin, "reactivate_user", "helper")
    assert "helper" in call(admin, "unlock_user", "helper")
    assert call(admin, "reset_password", "helper", PASSWORDS["new"])[1] == ""
    assert login(desk_app, "helper", PASSWORDS["new"]).status_code == 303
    victim = desk_app.services.accounts.register_customer(
        "Vic Tim", "vic@example.com", PASSWORDS["reset"], ""
    )
    preview = call(admin, "preview_erasure", victim.customer_id, "")
    assert "Vic Tim" in preview
    with pytest.raises(AppError, match="type ERASE"):
        admin.predict(victim.customer_id, "", "yes", api_name="/erase_person")
    done, _ = call(admin, "erase_person", victim.customer_id, "", "ERASE")
    assert "Erased" in done
    row = desk_app.services.store.query_one(
        "SELECT status FROM customers WHERE id = ?", (victim.customer_id,)
    )
    assert row["status"] == "erased"
    audit = call(admin, "audit_log", "user", None, 1, 25)[0]
    actions = {row[3] for row in audit["data"]}
    assert {"create", "role_change", "deactivate", "password_change"} <= actions


def test_a_customer_login_is_made_for_the_customer_picked_and_its_audit_rows_filter(desk_app):
    """The Users tab's customer picker gives create_user the customer's number, and the audit
    log's record picker gives audit_log a kind and a number: the endpoints take the same."""
    admin = client(desk_app, "admin")
    staff = desk_app.services.accounts.actor_for("admin")
    wes = desk_app.services.customers.add(staff, "Wes Picked", "wes.picked@example.com")
    outcome, _ = call(admin, "create_user", "", PASSWORDS["reset"], "customer", wes.id)
    assert "wes.picked@example.com" in outcome
    user_id = desk_app.services.accounts.get_user(staff, "wes.picked@example.com").id
    rows = call(admin, "audit_log", "user", user_id, 1, 25)[0]["data"]
    assert {(row[4], row[5]) for row in rows} == {("user", user_id)}
    assert rows[0][3] == "create" and "wes.picked@example.com" in rows[0][6]
    with pytest.raises(AppError, match="Customer: 'x' is not an ID"):
        call(admin, "create_user", "", PASSWORDS["reset"], "customer", "x")
