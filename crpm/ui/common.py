"""What every tab shares: the error guard, the context handlers act in, paged tables, formatting.

Handlers stay thin because the repetitive parts live here: `guarded` turns service refusals
into toasts (and readable API errors), `UIContext.actor` resolves who is acting, and `Pager`
gives every list the same server-side paging.
"""

from __future__ import annotations

import functools
import html
import inspect
import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import gradio as gr
import pandas as pd

from crpm.config import Settings
from crpm.errors import CRPMError, ValidationError
from crpm.models import cents_to_decimal_text, is_digits, parse_money
from crpm.permissions import Actor
from crpm.shoplocale import ShopLocale, read_amount
from crpm.ui.fields import user_message
from crpm.ui.session import acting_user

log = logging.getLogger("crpm.ui")

PAGE_SIZES = [25, 50, 100]
MAX_ID = 2**63 - 1  # SQLite's largest integer
GENERIC_ERROR = "Something went wrong on the server; nothing was changed. Please try again."
# A change made, but a view it calls for could not be drawn again: the screen may be behind.
REDRAW_FAILED = "Saved, but part of the screen could not be brought up to date: open it again."


# --- user text in what the page renders as HTML -------------------------------------------
# Gradio renders toasts and Markdown as HTML and sanitises only scripts: an <img> or <a> in a
# name would reach the page. So every toast goes through `info`/`warning` (and refusals through
# `guarded`), and every user value put into Markdown through `md`.

# What turns text into a link, an image or code in Gradio's Markdown (marked, GFM): brackets,
# parentheses, "!", backticks, and the ":" and "www." of bare URLs it links. Emphasis (*, _)
# and e-mail addresses (a mailto link to the typed address) are left readable: they load nothing.
MARKDOWN_ACTIVE = re.compile(r"([\\`\[\]()!:])|(?<=www)(\.)", re.IGNORECASE)


def html_text(value) -> str:
    """Text as HTML shows it: <, > and & escaped (what a toast or gr.HTML may carry)."""
    return html.escape(str(value), quote=False)


def md(value) -> str:
    """A user value for a Markdown string: one line, never HTML, a link or an image (HTML
    escaped, the characters that make links backslashed)."""
    one_line = " ".join(str(value).split())
    return MARKDOWN_ACTIVE.sub(lambda found: "\\" + found.group(0), html_text(one_line))


# Where a long e-mail address may wrap: after the "@" and before each ".".
EMAIL_BREAKS = re.compile(r"(?<=@)|(?=\.)")


def login_line(username: str, rest: str = "", breaks: bool = False) -> str:
    """'Logged in as <login>' and `rest` (Markdown-free text, escaped by the caller) for a
    Markdown component, as one HTML paragraph: Markdown would make a customer's e-mail login a
    mailto link. The login is plain bold text; with `breaks` a narrow screen wraps it after the
    "@" and before each "." (<wbr>; the text stays the address) rather than letter by letter."""
    shown = html.escape(" ".join(str(username).split()))
    if breaks:
        shown = EMAIL_BREAKS.sub("<wbr>", shown)
    return f"<p>Logged in as <b class='crpm-login'>{shown}</b>{rest}</p>"


def plain(value) -> str:
    """A user value for a component's `info` line: Gradio escapes HTML there but still turns
    [text](url) into a link, so that pair is broken up."""
    return " ".join(str(value).split()).replace("](", "] (")


def info(message: str, **options) -> None:
    """An info toast; the message is text, never markup."""
    gr.Info(html_text(message), **options)


def warning(message: str, **options) -> None:
    """A warning toast; the message is text, never markup."""
    gr.Warning(html_text(message), **options)


def guarded(fn=None, /, *, labels: dict | None = None):
    """Run a handler; a refusal becomes a warning toast, a crash a logged generic error.

    The refusal names the field by its label (crpm/ui/fields.py; `labels` for a form that
    names a field its own way: `@guarded(labels={"quantity": "Units"})`). It is re-raised as
    an invisible gr.Error so that the outputs stay untouched (the form keeps what the user
    typed) and an API client gets an AppError carrying the same message.
    """
    if fn is None:
        return functools.partial(guarded, labels=labels)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except CRPMError as exc:
            message = user_message(exc, labels)
            warning(message, title="Not done")
            raise gr.Error(message, visible=False, print_exception=False) from None
        except Exception:
            log.exception("dashboard handler %s failed", fn.__name__)
            raise gr.Error(GENERIC_ERROR, print_exception=False) from None

    return wrapper


# --- tables ------------------------------------------------------------------------------
# A column says what it holds, and its kind says how it is laid out: text wraps between words,
# money and counts stay on one line and line up on the right, dates and codes (SKU, invoice
# number) stay on one line. The browser then fits the table into its box (crpm/ui/style.py,
# TABLE_CSS); the columns' order is the order a phone shows them in before scrolling sideways,
# so the key columns come first.
TEXT, MONEY, COUNT, DATE, CODE = "text", "money", "count", "date", "code"
KINDS = (TEXT, MONEY, COUNT, DATE, CODE)
NUMBER_KINDS = (MONEY, COUNT)
MAX_COLUMNS = 16  # the style sheet lays out this many columns by kind
# The classes of a table whose columns are not known in advance (a file's): all text.
WRAP_ALL = ["crpm-table", "crpm-wrap-all"]


@dataclass(frozen=True)
class Column:
    key: str  # the row's key it shows
    label: str  # its heading
    kind: str = TEXT

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key!r}: kind must be one of {KINDS}")


def headings(columns) -> list[str]:
    return [column.label for column in columns]


def column_classes(columns) -> list[str]:
    """The CSS classes that lay out each column by its kind (numbered from 1, as nth-child)."""
    if len(columns) > MAX_COLUMNS:
        raise ValueError(f"a table lays out at most {MAX_COLUMNS} columns")
    classes = []
    for number, column in enumerate(columns, start=1):
        if column.kind in NUMBER_KINDS:
            classes.append(f"crpm-num-{number}")
        elif column.kind == TEXT:
            classes.append(f"crpm-wrap-{number}")
    return classes


def data_table(columns, label: str, **options) -> gr.Dataframe:
    """A table laid out by its columns' kinds, read-only unless `interactive=True`; the other
    `options` go to gr.Dataframe."""
    classes = options.pop("elem_classes", [])
    return gr.Dataframe(
        value=table([], columns),
        label=label,
        interactive=options.pop("interactive", False),
        wrap=True,
        elem_classes=["crpm-table", *column_classes(columns), *classes],
        **options,
    )


# The columns of a purchase-history table, as UIContext.history_line fills them.
HISTORY_COLUMNS = (
    Column("purchase_id", "Purchase", COUNT),
    Column("purchased_at", "Time", DATE),
    Column("product_name", "Product"),
    Column("quantity", "Qty", COUNT),
    Column("unit_price", "Unit price", MONEY),
    Column("line_total", "Line total", MONEY),
    Column("returned", "Returned", COUNT),
    Column("state", "Status"),
    Column("sku", "SKU", CODE),
    Column("invoice_number", "Invoice", CODE),
)


@dataclass(frozen=True)
class Opener:
    """How a record is opened from outside its tab (the global search): the tab it lives in,
    the handler `fn(record_id, request)` that draws it, the components it draws into, and the
    component holding the record's ID when `fn` does not set it; `inner` is (a gr.Tabs inside
    the tab, the id of the sub-tab to show); `anchor` is the elem_id of what the page scrolls to
    once the record is drawn."""

    tab: str
    fn: Callable
    outputs: list
    key: object = None
    inner: tuple | None = None
    anchor: str | None = None


@dataclass
class UIContext:
    """What a tab needs to build its handlers: the services, the settings, who is acting, and
    how each kind of record is opened (`openers`, filled by the tabs as they are built; `links`:
    the timeline tables whose rows open the record they name; `jumps`: (button, kind, the
    component holding the open record's ID): the button opens that record's customer)."""

    services: object
    settings: Settings
    openers: dict[str, Opener] = field(default_factory=dict)
    links: list = field(default_factory=list)  # timelines whose rows open their record
    jumps: list = field(default_factory=list)  # (button, "purchase", the purchase's ID box)
    _analytics: object = field(default=None, repr=False)
    _analytics_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def warm_up_analytics_in_background(self) -> threading.Thread:
        """Load the analytics engine's copy of the store (seconds at millions of rows) in a
        daemon thread as soon as the app is serving, so that the first Analytics/Home view does
        not pay for it; `crpm.ui.launch` calls this. Waiting for the server first keeps the load
        from slowing the app's start on two shared cores; a report asked meanwhile waits for the
        load instead of starting its own."""
        thread = threading.Thread(
            target=self._warm_up_analytics, name="analytics-warm-up", daemon=True
        )
        thread.start()
        return thread

    def _warm_up_analytics(self) -> None:
        wait_for_server(self.settings.host, self.settings.port, timeout_s=60)
        self.analytics.warm_up()

    def resync_analytics_in_background(self) -> threading.Thread | None:
        """After an erasure: an engine already open syncs now, in a daemon thread, so that its
        kept file loses the person at once rather than at the next report (the sync sees the
        store's new epoch and loads a new file). None if no engine is open."""
        with self._analytics_lock:
            engine = self._analytics
        return None if engine is None else engine.warm_up_in_background()

    def actor(self, request) -> Actor:
        return acting_user(self.services, request)

    @property
    def clock(self):
        """The store's clock: the dashboard's "today" is the services' today."""
        return self.services.store.clock

    @property
    def shop(self) -> ShopLocale:
        """The shop's time zone, locale and currency symbol, read now (an admin's change shows
        at once): every time and amount a page shows goes through it."""
        return self.services.taxes.shop_locale(self.settings.currency)

    def money(self, cents) -> str:
        return self.shop.money(cents)

    def shop_day(self):
        """The shop's current day by the store's clock."""
        return self.shop.day(self.clock)

    def amount(self, value, field_name: str):
        """An amount typed the shop's way ("4,95" in de_DE) as the plain decimal the services
        read; empty stays empty."""
        if value in (None, "") or not isinstance(value, str):
            return value
        cents = parse_money(value, field_name, self.shop.locale)
        return cents_to_decimal_text(cents)

    def discount(self, value, field_name: str = "discount"):
        """A discount typed the shop's way ("2,5%" or "1,50" in de_DE) as the plain text the
        services read; what is not a number goes on for the service to name."""
        if not isinstance(value, str) or not value.strip().endswith("%"):
            return self.amount(value, field_name)
        number = read_amount(value.strip()[:-1].strip(), self.shop.locale)
        return value if number is None else f"{number}%"

    def history_line(self, row: dict, shop: ShopLocale | None = None) -> dict:
        """A purchase-history line (PurchaseService.history) with money and time shown and its
        state."""
        shop = shop or self.shop
        state = "cancelled" if row["cancelled_at"] else returned_state(row)
        return {
            **row,
            "purchased_at": shop.time(row["purchased_at"]),
            "unit_price": shop.money(row["unit_price_cents"]),
            "line_total": shop.money(row["line_total_cents"]),
            "state": state,
        }

    @property
    def analytics(self):
        """The DuckDB engine, created on first use so the app starts without touching it."""
        with self._analytics_lock:  # the warm-up thread and a first request may race here
            if self._analytics is None:
                from crpm.analytics import Analytics

                self._analytics = Analytics(self.services.store)
        return self._analytics

    def close(self) -> None:
        """Let go of the analytics engine (on PostgreSQL it holds a connection of its own)."""
        with self._analytics_lock:
            if self._analytics is not None:
                self._analytics.close()
                self._analytics = None


def wait_for_server(host: str, port: int, timeout_s: float) -> None:
    """Return once something listens on host:port, or after timeout_s."""
    address = ("127.0.0.1" if host in ("0.0.0.0", "") else host, port)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(address, timeout=1):
                return
        except OSError:
            time.sleep(0.2)


# --- parsing what forms send --------------------------------------------------------------


def optional_id(value, field_name: str) -> int | None:
    """An ID box: empty means no filter; otherwise a positive whole number. A browser sends an
    emptied number box as 0, and no record has ID 0, so 0 means empty too."""
    if value in (None, "", 0):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip().lstrip("#")
    if not text:
        return None
    if not is_digits(text) or int(text) < 1:
        raise ValidationError(field_name, f"{value!r} is not an ID (a whole number from 1)")
    return int(text)


def required_id(value, field_name: str, hint: str) -> int:
    record_id = optional_id(value, field_name)
    if record_id is None:
        raise ValidationError(field_name, hint)
    return record_id


def whole_number(value):
    """A gr.Number sends floats; the services want whole numbers, so 3.0 becomes 3."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def clicked_id(event) -> int:
    """The ID in the first cell of the table row a click names (gr.SelectData)."""
    values = getattr(event, "row_value", None)
    first = values[0] if isinstance(values, list) and values else None
    if isinstance(first, float) and first.is_integer():
        first = int(first)
    if isinstance(first, bool) or not isinstance(first, int) or not 0 < first <= MAX_ID:
        raise ValidationError("row", "click a row of the table")
    return first


def open_clicked(event, show, request) -> tuple:
    """The clicked row's record (gr.SelectData): its number, then what `show(record_id,
    request)` draws for it; one call for a view whose outputs do not carry the number."""
    record_id = clicked_id(event)
    shown = show(record_id, request)
    return (record_id, *shown) if isinstance(shown, tuple) else (record_id, shown)


def without_clicked(lines, event) -> list:
    """The lines of a prepared order or request but the one a click names (gr.SelectData)."""
    index = getattr(event, "index", None)
    row = index[0] if isinstance(index, list) and index else None
    if not isinstance(lines, list) or isinstance(row, bool) or not isinstance(row, int):
        raise ValidationError("row", "click a line of the table")
    return [line for number, line in enumerate(lines) if number != row]


# --- showing results ---------------------------------------------------------------------


def table(rows: list[dict], columns, time=None) -> pd.DataFrame:
    """Rows as a DataFrame with the given columns (Column), headings kept when empty; with
    `time` (ShopLocale.time) the stored UTC times of DATE columns on the shop's clock."""
    shown = [(column.key, time if time and column.kind == DATE else None) for column in columns]
    frame = pd.DataFrame(
        [[_cell(row.get(key), convert) for key, convert in shown] for row in rows], dtype=object
    )
    if frame.empty:
        return pd.DataFrame(columns=headings(columns))
    frame.columns = headings(columns)
    return frame


def _cell(value, convert):
    """A value as its column shows it: a stored time (19 characters) converted, else as is."""
    if convert and isinstance(value, str) and len(value) == 19:
        return convert(value)
    return value


def returned_state(line) -> str:
    """A purchase line's return state in words: "returned" once every unit came back,
    "partly returned" when some did, empty when none did."""
    if not line["returned"]:
        return ""
    return "returned" if line["returned"] >= line["quantity"] else "partly returned"


def count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def totals_text(money, sums) -> str:
    """Priced lines' net, tax, any discounts and total (crpm.pricing.Totals) as one Markdown
    line, the total stressed: a cart's, a quote's."""
    discounts = f" · discounts {money(sums.discount_cents)}" if sums.discount_cents else ""
    return (
        f"Net {money(sums.net_cents)} · tax {money(sums.tax_cents)}{discounts}"
        f" · <span class='crpm-total'>**Total {money(sums.gross_cents)}**</span>"
    )


def chain(event, *steps: dict):
    """Run each step (event kwargs) after the previous one succeeded."""
    for step in steps:
        event = event.success(**step)
    return event


def one_trip(trigger, action: dict, *redraws: dict, resets: dict | None = None, **options):
    """Wire `trigger` (a listener: `button.click`) to run a change and the redraws it calls for
    in one Python handler: one queue event, where a chain of `.success` steps would be a round
    trip from the browser each.

    `action` (event kwargs: fn, inputs, outputs, api_name) stays published under its name for
    API callers, with the same inputs and answers, on an event the page never fires; the
    trigger runs it privately under "<name>_in_one_trip". Then `resets` ({component: value}) are
    set, as a browser step would set them (a `gr.update` with a value sets more than a value: a
    dropdown emptied with its choices; redraws read the value), and each redraw (event kwargs:
    fn, inputs, outputs) runs on the values the action and the resets left (a redraw reads its
    other inputs from the page). A refused action changes nothing; a redraw that fails leaves
    its outputs as they were, so a change that happened is still shown. `options` go to the
    trigger's event (e.g. `cancels`); returns its dependency, to chain browser-only steps (a
    list refresh) after it.
    Values pass from one handler to the next as Python values: an action whose answers are
    update objects cannot feed a redraw.
    """
    fn, inputs, outputs = action["fn"], _listed(action.get("inputs")), _listed(action["outputs"])
    name = getattr(fn, "__name__", "change")
    published = {key: value for key, value in action.items() if key != "fn"}
    gr.on([], fn, **{**published, "inputs": inputs, "outputs": outputs})
    resets = dict(resets or {})
    steps = [(fn, inputs, outputs)]
    steps += [
        (step["fn"], _listed(step.get("inputs")), _listed(step["outputs"])) for step in redraws
    ]
    reads, known = list(inputs), {*outputs, *resets}
    for _, wanted, made in steps[1:]:
        reads += [c for c in wanted if c not in known and c not in reads]
        known.update(made)
    writes = list(dict.fromkeys([*outputs, *resets, *(c for _, _, made in steps for c in made)]))

    def trip(*values):
        *values, request = values
        state = dict(zip(reads, values, strict=True))
        shown: dict = {}
        for number, (step, wanted, made) in enumerate(steps):
            args = [state[component] for component in wanted]
            try:
                answer = _call(step, args, request)
                answers = dict(zip(made, answer if len(made) > 1 else (answer,), strict=True))
            except Exception as exc:
                if number == 0:
                    raise  # the change was refused (or failed): nothing moves
                log.exception("a redraw after %s failed; its outputs stay", name)
                if not isinstance(exc, gr.Error) or exc.visible:  # a refusal was told already
                    warning(REDRAW_FAILED, title="Done")
                continue
            state.update(answers)
            shown.update(answers)
            if number == 0:
                # Gradio consumes an update as it draws it: each event gets its own copy.
                reset = {c: dict(v) if isinstance(v, dict) else v for c, v in resets.items()}
                state.update({component: _read(value) for component, value in reset.items()})
                shown.update(reset)
        return tuple(shown.get(component, gr.skip()) for component in writes)

    trip.__name__ = trip.__qualname__ = f"{name}_in_one_trip"
    trip.__doc__ = f"{name}, then what it changed drawn again, in one event (the page's)."
    _takes_values(trip, len(reads))
    kept = {key: action[key] for key in ("show_progress", "scroll_to_output") if key in action}
    return trigger(trip, reads, writes, api_visibility="private", **{**kept, **options})


def _read(value):
    """What a handler reads of a value set on the page: an update's value."""
    is_update = isinstance(value, dict) and value.get("__type__") == "update"
    return value.get("value") if is_update else value


def _takes_values(fn, count: int) -> None:
    """Give `fn(*values, request)` the signature Gradio reads: `count` values, then the
    request (Gradio passes it by the annotation, at its place in the signature)."""
    parameters = [
        inspect.Parameter(f"value_{n}", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for n in range(count)
    ]
    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    fn.__signature__ = inspect.Signature([*parameters, request.replace(annotation=gr.Request)])
    fn.__annotations__ = {"request": gr.Request}


def _listed(components) -> list:
    if components is None:
        return []
    return list(components) if isinstance(components, (list, tuple, set)) else [components]


def _call(fn, args: list, request):
    """Call a handler as Gradio would: the request passed when it asks for one."""
    if "request" in inspect.signature(fn).parameters:
        return fn(*args, request=request)
    return fn(*args)


# --- server-side paged tables ------------------------------------------------------------


@dataclass
class Pager:
    """A table that shows one page at a time; the page is fetched on the server.

    Every fetch of the table in the page (the tab shown, a filter, a page step, a refresh after
    a change) is one event, run once at a time per page: asking again while a fetch is pending
    runs it once more when that one lands, with the filters as they are then. So the last
    answer drawn is always the one for what the filter boxes show; two fetches side by side
    could land in either order (the tab's own refresh, unfiltered, after the search typed
    meanwhile). A fetch is asked for by counting `asked` up in the browser, and answers with
    the count it served in `drawn`.

    A change can draw the list in its own event instead (`Pager.one_trip`: `in_trip` among
    its redraws, then `checked`): one round trip where the fetch after it would be a second. Its
    list is for the filters as they were at the click, so `checked` asks for the fetch after
    all when that list may not be the last word: a fetch was asked for while the change ran
    (a filter changed) or was pending when it started (it could land after), or the redraw
    failed. Not guarded: two changes of one list sent before either lands both mark their
    list the last word, and the one landing last stays, though it may have read the store
    first (a person's two clicks are further apart than a change takes)."""

    table: gr.Dataframe
    page: gr.Number
    size: gr.Dropdown
    info: gr.Markdown
    prev: gr.Button
    next: gr.Button
    asked: gr.Number
    drawn: gr.Number
    in_trip: dict = field(default_factory=dict)
    checked: dict = field(default_factory=dict)

    @classmethod
    def build(cls, label: str, columns, noun: str, elem_id: str) -> Pager:
        grid = data_table(columns, label, max_height=620, elem_id=elem_id)
        # One line of controls without field labels (the caption says which page this is), so
        # the buttons, the page box and the size menu line up.
        with gr.Row(elem_classes="crpm-pager"):
            prev = gr.Button("← Previous", size="sm", scale=0, min_width=110)
            page = gr.Number(
                value=1, precision=0, label="Page", show_label=False, container=False,
                scale=0, min_width=80, elem_classes="crpm-pager-page",
            )  # fmt: skip
            nxt = gr.Button("Next →", size="sm", scale=0, min_width=110)
            size = gr.Dropdown(
                [(f"{size} rows a page", size) for size in PAGE_SIZES], value=PAGE_SIZES[0],
                label="Rows per page", show_label=False, container=False, scale=0, min_width=180,
            )  # fmt: skip
            info = gr.Markdown(
                f"No {noun}s loaded yet.", elem_classes="crpm-pager-info", elem_id=f"{elem_id}-info"
            )
            asked = gr.Number(0, precision=0, label="Fetches asked for", visible=False)
            drawn = gr.Number(0, label="Fetch drawn", visible=False)
        return cls(grid, page, size, info, prev, nxt, asked, drawn)

    @property
    def outputs(self) -> list:
        return [self.table, self.info, self.page]

    def wire(self, show, filters: list, resets: list, api_name: str) -> dict:
        """Connect paging to `show(*filters, page, size)`, published as `api_name`; `resets` are
        filter-change listeners that go back to page 1. Returns the event kwargs that refresh
        the current page (browser-only: they ask for a fetch; for chaining after changes)."""
        fetch = dict(
            fn=show,
            inputs=[*filters, self.page, self.size],
            outputs=self.outputs,
            show_progress="minimal",
        )
        # Published for API callers on an event the page never fires (public first: an unnamed
        # private event would otherwise take the name of `show`); in the page, Enter in the
        # page box asks for the one fetch like every other step.
        gr.on([], **fetch, api_name=api_name, api_visibility="public")
        # The one fetch in the page: asked for again while pending, it runs once more after.
        self.asked.change(
            _answering(show, len(fetch["inputs"])),
            [*fetch["inputs"], self.asked],
            [*self.outputs, self.drawn],
            show_progress="minimal",
            api_visibility="private",
            trigger_mode="always_last",
        )
        self.in_trip = dict(
            fn=_drawn_in_trip(show),
            inputs=[*fetch["inputs"], self.asked, self.drawn],
            outputs=[*self.outputs, self.drawn],
        )
        again = "(n || 0) + 1"
        # The change's list answers count n, or the list is fetched again (its answer will).
        self.checked = dict(
            fn=None, inputs=[self.drawn, self.asked], outputs=[self.asked, self.drawn],
            js=f"(d, n) => d === n + {IN_TRIP} ? [n, n] : [{again}, d]", show_progress="hidden",
        )  # fmt: skip
        refresh = dict(
            fn=None, inputs=self.asked, outputs=self.asked, js=f"(n) => {again}",
            show_progress="hidden",
        )  # fmt: skip
        self.page.submit(**refresh)
        # Stepping the page number is pure browser work; only the fetch goes to the server.
        pages = [self.page, self.asked]
        for button, step in ((self.prev, "Math.max(1, (p || 1) - 1)"), (self.next, "(p || 1) + 1")):
            button.click(None, pages, pages, js=f"(p, n) => [{step}, {again}]")
        for listener in [*resets, self.size.input]:
            listener(None, self.asked, pages, js=f"(n) => [1, {again}]", show_progress="hidden")
        return refresh

    def one_trip(self, trigger, action: dict, *redraws: dict, **options):
        """`one_trip` for a change that the list shows: the list drawn in the same event, then
        fetched again unless that list is the last word (see the class docstring)."""
        trip = one_trip(trigger, action, self.in_trip, *redraws, **options)
        return trip.success(**self.checked)


# What a change's own list writes in `drawn` when nothing else was asked for: the count it
# read and this mark. Counts are whole, so no fetch can write it.
IN_TRIP = 0.5


def _answering(show, count: int):
    """The page's fetch: `show`'s answer and the count it served (its last value)."""

    def fetch(*values):  # Gradio passes the request last, by the signature below
        *values, asked, request = values
        return (*show(*values, request=request), asked)

    fetch.__name__ = fetch.__qualname__ = f"{show.__name__}_in_page"
    _takes_values(fetch, count + 1)
    return fetch


def _drawn_in_trip(show):
    """A change's own list: `show`'s answer, and in `drawn` the count it read plus IN_TRIP
    when the list shown then answered that count (no fetch pending), else -1."""

    def redraw(*values, request: gr.Request):
        *values, asked, drawn = values
        mark = asked + IN_TRIP if drawn == asked else -1
        return (*show(*values, request=request), mark)

    redraw.__name__ = redraw.__qualname__ = f"{show.__name__}_in_trip"
    return redraw


def fetch_page(load, page_number, page_size):
    """Call `load(limit, offset)` for the requested page, clamped to the last page."""
    size = max(1, min(int(whole_number(page_size) or PAGE_SIZES[0]), PAGE_SIZES[-1]))
    number = max(1, int(whole_number(page_number) or 1))
    page = load(limit=size, offset=(number - 1) * size)
    last = max(1, math.ceil(page.total / size))
    if number > last and page.total:
        number = last
        page = load(limit=size, offset=(last - 1) * size)
    return page, number


def page_info(page, number: int, noun: str, filtered: bool = False) -> str:
    """'Customers 26–50 of 1,234 · page 2 of 50', or an empty-state sentence."""
    if not page.total:
        return f"No {noun}s match these filters." if filtered else f"No {noun}s yet."
    first = page.offset + 1
    last = page.offset + len(page.items)
    total = f"{page.total:,}+" if page.total_is_capped else f"{page.total:,}"
    pages = math.ceil(page.total / page.limit)
    of_pages = f"{pages:,}+" if page.total_is_capped else f"{pages:,}"
    return f"**{noun.capitalize()}s {first:,}–{last:,} of {total}** · page {number:,} of {of_pages}"
