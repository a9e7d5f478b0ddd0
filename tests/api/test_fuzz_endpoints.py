"""Every endpoint of the running app, fed odd values over HTTP (hypothesis).

Each event with a Python handler in the app's served config (one per handler and input shape,
private ones included) is called through the queue, as the page calls it, by a staff login and
by a customer login, with values drawn for its input components: empty, huge, negative,
unicode digits ("²", "１", "٣"), impossible and far dates, markup, SQL and FTS syntax, very long
text, wrong JSON shapes, files that were never uploaded. Every answer must be a result or a
refusal that says what was wrong: never the generic crash text, never an empty error, never an
HTTP error; and a refused call leaves the store exactly as it was.

All findings are collected and listed together (handler, inputs, what went wrong). CI runs
CRPM_FUZZ_EXAMPLES (default 3) examples per handler and role, derandomized;
`bench/fuzz.py --examples N` runs more.
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from crpm.clock import FixedClock
from crpm.demo import generate
from crpm.services import open_services
from crpm.ui.common import GENERIC_ERROR
from tests.support import (
    TODAY,
    call_queue,
    handler_name,
    log_in,
    served_events,
    store_snapshot,
    upload,
)

pytestmark = [pytest.mark.api, pytest.mark.slow]

EXAMPLES = int(os.environ.get("CRPM_FUZZ_EXAMPLES", "3"))
ADMIN_PASSWORD = "fuzz-admin-Secret-3e"
LOGINS = {
    "admin": ("admin", ADMIN_PASSWORD),
    "staff": ("fuzz-clerk", "fuzz-staff-Secret-1q"),
    "customer": ("fuzz.customer@example.com", "fuzz-customer-Secret-2w"),
}

ODD_TEXT = [
    "",
    " ",
    "\x00",
    "\n\r\t",
    "²",
    "１２",
    "٣",
    "-1",
    "0",
    "1e400",
    "NaN",
    "0999-01-01",
    "9999-12-31",
    "2026-02-30",
    "<img src=http://evil.example/x onerror=alert(1)>",
    "<a href=http://evil.example>x</a>",
    "**bold** [link](http://evil.example)",
    "' OR 1=1 --",
    '"; DROP TABLE customers; --',
    'name:"x" OR * NEAR(a b) ^c -d "',
    "%_\\",
    "#1",
    "#99999999999999999999",
    "=cmd|' /C calc'!A0",
    "x" * 10_000,
    "é" * 3_000,
    "\U0001f600" * 500,
    "\u202eevil",
]
ODD_NUMBERS = [0, -1, 1, 2, 3, -(2**63), 2**63, 10**30, 1.5, -0.0, 1e300, "", "²", "１", "3", None]
ODD_DATES = ["0999-01-01", "9999-12-31", "0001-01-01", "2026-02-30", "2026-13-01", "", None]
ODD_DATES += ["2026-06-15", "2026-06-15 25:61:61", -1, 0, 253402300800, 1e18, "tomorrow"]


def odd_text():
    return st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=40))


def odd_number():
    return st.one_of(
        st.sampled_from(ODD_NUMBERS),
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False),
    )


def odd_json():
    scalars = st.one_of(st.none(), st.booleans(), odd_number(), odd_text())
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(odd_text(), inner, max_size=3)
        ),
        max_leaves=6,
    )


def odd_lines():
    """Order or quote lines as the page keeps them, with odd ids and quantities."""
    line = st.fixed_dictionaries({"product_id": odd_number(), "quantity": odd_number()})
    return st.one_of(st.lists(line, max_size=3), odd_json())


def odd_table(headers: list):
    cell = st.one_of(odd_number(), odd_text())
    rows = st.lists(st.lists(cell, min_size=len(headers), max_size=len(headers)), max_size=3)
    return st.one_of(st.fixed_dictionaries({"headers": st.just(headers), "data": rows}), odd_json())


def strategy_for(component: dict, files: list):
    """Values for one input component: its own choices among the odd ones."""
    kind, props = component["type"], component.get("props", {})
    if kind in ("textbox", "markdown"):
        return odd_text()
    if kind in ("number", "slider"):
        return odd_number()
    if kind in ("dropdown", "radio"):
        choices = [choice[1] for choice in props.get("choices") or []]
        return st.one_of(st.sampled_from(choices or [""]), odd_text(), odd_number())
    if kind == "checkbox":
        return st.one_of(st.booleans(), st.sampled_from(["yes", None, 2]))
    if kind == "datetime":
        return st.one_of(st.sampled_from(ODD_DATES), odd_text())
    if kind == "dataframe":
        return odd_table((props.get("value") or {}).get("headers") or ["1"])
    if kind == "file":
        return st.sampled_from(files)
    if kind == "api" and component.get("api_info", {}).get("type") == "integer":
        return odd_number()
    if kind == "api":
        return st.one_of(st.sampled_from(ODD_DATES), odd_text(), odd_number())
    return st.one_of(odd_lines(), odd_json())  # json and anything else


def odd_event_data():
    """What a click on a table row sends (SelectData), or an odd shape of it."""
    select = st.fixed_dictionaries(
        {
            "index": st.one_of(st.lists(odd_number(), max_size=3), odd_number()),
            "value": st.one_of(odd_number(), odd_text()),
            "row_value": st.lists(st.one_of(odd_number(), odd_text()), max_size=3),
            "selected": st.booleans(),
        }
    )
    return st.one_of(st.none(), select)


ODD_CSVS = {
    "header-only.csv": b"name,email\n",
    "bom-semicolons.csv": "\ufeffsku;name;price;stock\nA-1;Mug;１２.50;²\n".encode(),
    "far-dates.csv": b"order_ref,customer_email,sku,quantity,unit_price,purchased_at\n"
    b"R1,a@example.com,A-1,1,1.00,0999-01-01\nR2,a@example.com,A-1,1,1.00,9999-12-31 23:59:59\n",
    "markup.csv": b"name,email,notes\n<b>x</b>,x@example.com,<img src=http://evil.example/x>\n",
    "not-utf8.csv": b"name,email\n\xff\xfe\x00bad,\x81@example.com\n",
    "long-field.csv": b"name,email,notes\nLong,long@example.com," + b"y" * 200_000 + b"\n",
    "many-columns.csv": (",".join(f"c{n}" for n in range(5_000)) + "\n1\n").encode(),
}


@pytest.fixture(scope="module")
def fuzzed(launch_app, tmp_path_factory):
    """An app on a small demo store; the events, components, logins and uploaded files."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CRPM_SCRYPT_N", "1024")
        db_path = tmp_path_factory.mktemp("fuzz") / "crpm.db"
        seeding = open_services(db_path, FixedClock(TODAY))
        generate(seeding.store, customers=20, products=10, purchases=120, seed=5)
        seeding.store.close()
        url, services = launch_app(db_path)
        accounts = services.accounts
        accounts.ensure_admin(ADMIN_PASSWORD)
        accounts.create_user(accounts.actor_for("admin"), *LOGINS["staff"], role="staff")
        accounts.register_customer("Fuzz Customer", *LOGINS["customer"], "+1 555 0101")
        admin = log_in(url, "admin", ADMIN_PASSWORD)
        events, components = served_events(url, admin)
        files = [upload(url, admin, name, content) for name, content in ODD_CSVS.items()]
        never_uploaded = {"path": "/etc/passwd", "orig_name": "x.csv", "meta": {"_type": "x"}}
        files += [never_uploaded, None, "/etc/passwd", {}]
        yield SimpleNamespace(
            url=url, services=services, events=events, components=components, files=files
        )


def distinct_events(events: list[dict], components: dict) -> list[dict]:
    """One event per handler name and input shape (the repeats only add triggers)."""
    chosen = {}
    for dep in sorted(events, key=lambda dep: dep["api_visibility"] != "public"):
        name = handler_name(dep["api_name"])
        shape = tuple(components[i]["type"] for i in dep["inputs"])
        chosen.setdefault((name, shape), dep)
    return list(chosen.values())


def problem_with(outcome, before: dict, after) -> str | None:
    """What is wrong with one answer, or None."""
    if outcome.kind not in ("ok", "error"):
        return f"{outcome.kind}: {outcome.message[:200]}"
    if outcome.kind == "ok":
        return None
    if outcome.message == GENERIC_ERROR:
        return "the generic crash message"
    if not outcome.message.strip():
        return "an error without a message"
    if "Traceback" in outcome.message or "sqlite3." in outcome.message:
        return f"internals in the message: {outcome.message[:200]}"
    if before != after():
        return f"a refused call changed the store ({outcome.message[:120]})"
    return None


def shown(value) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) < 160 else f"{text[:100]}...({len(text)} chars)"


def fuzz_event(http, dep: dict, inputs: list, snapshot, findings: dict, calls: dict) -> None:
    """EXAMPLES calls of one event; each problem found is kept once per handler and kind."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(args=st.tuples(*inputs), event_data=odd_event_data())
    def call(args, event_data):
        calls[dep["api_name"]] = calls.get(dep["api_name"], 0) + 1
        before = snapshot()
        outcome = call_queue(http, dep["id"], list(args), event_data, timeout=120)
        problem = problem_with(outcome, before, snapshot)
        if problem:
            key = (dep["api_name"], problem[:60])
            findings.setdefault(key, f"{dep['api_name']}{shown(list(args))}: {problem}")

    call()


def fuzz_role(fuzzed, role: str) -> tuple[list[str], dict]:
    """The findings, and how many calls each event got."""
    store = fuzzed.services.store
    cookies = log_in(fuzzed.url, *LOGINS[role])
    findings: dict[tuple, str] = {}
    calls: dict[str, int] = {}

    def snapshot():
        return store_snapshot(store, leave_out=("sessions",))

    with httpx.Client(base_url=fuzzed.url, cookies=cookies, timeout=120) as http:
        for dep in distinct_events(fuzzed.events, fuzzed.components):
            inputs = [strategy_for(fuzzed.components[i], fuzzed.files) for i in dep["inputs"]]
            fuzz_event(http, dep, inputs, snapshot, findings, calls)
    return sorted(findings.values()), calls


@pytest.mark.parametrize("role", ["staff", "customer"])
def test_every_endpoint_answers_odd_values_with_a_result_or_a_clear_refusal(fuzzed, role):
    findings, calls = fuzz_role(fuzzed, role)
    every_handler = {handler_name(dep["api_name"]) for dep in fuzzed.events}
    assert {handler_name(name) for name in calls} == every_handler  # private ones too
    assert min(calls.values()) >= 1
    assert findings == [], f"{len(findings)} finding(s):\n" + "\n".join(findings)


SELECT_HUGE = {"index": [0, 0], "value": 1, "row_value": [10**30], "selected": True}
SELECT_ODD = {"index": -7, "value": "", "row_value": [], "selected": False}
# inputs the fuzz found answered with a crash, an empty error or a broken stream (now refused)
FOUND = [
    ("pick_user_row", "admin", [], SELECT_HUGE),  # the huge ID broke the answer's stream
    ("pick_user_row", "admin", [], SELECT_ODD),
    ("remove_line", "staff", [[{"product_id": 1, "quantity": 1}]], SELECT_ODD),
    ("remove_quote_line", "customer", [5], SELECT_HUGE),
    ("request_quote", "customer", [-552, "' OR 1=1 --"], None),
    ("audit_log", "staff", ["", None, "²", 25], None),  # Gradio's own refusal of a number box
]


@pytest.mark.parametrize(("handler", "role", "args", "event_data"), FOUND)
def test_inputs_the_fuzz_found_are_refused_with_a_reason(fuzzed, handler, role, args, event_data):
    cookies = log_in(fuzzed.url, *LOGINS[role])
    events = [dep for dep in fuzzed.events if handler_name(dep["api_name"]) == handler]
    assert events
    with httpx.Client(base_url=fuzzed.url, cookies=cookies, timeout=120) as http:
        for dep in events:  # every table's click handler, not just the first
            before = store_snapshot(fuzzed.services.store, leave_out=("sessions",))
            outcome = call_queue(http, dep["id"], args, event_data)
            after = lambda: store_snapshot(fuzzed.services.store, leave_out=("sessions",))  # noqa: E731
            assert outcome.kind == "error", (dep["api_name"], outcome)
            assert problem_with(outcome, before, after) is None, (dep["api_name"], outcome)
