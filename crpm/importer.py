"""CSV import of customers, products and past purchases: checked whole, written all or nothing.

An import runs in two phases on its own connection:

1. check: the file is streamed once; each row is validated and the clean values go into a
   staging table in a scratch SQLite file beside the store (so memory stays flat for a file of
   any size). Checks that need the whole file (a key twice in the file, an order_ref whose rows
   disagree, rows already in the store) run as SQL over the staging table.
2. write (skipped by a dry run or when any row is bad): one transaction moves the staged rows
   into the store with set-based INSERT ... SELECT / UPDATE ... FROM and writes one audit row.

Past purchases are history: they add purchases, lines, cancellations and returns but no stock
movements, so stock is untouched and products.stock still equals the sum of its movements.
Product stock from a file is written as an 'import' movement (new product: the stock; update:
the difference).

The dashboard calls `preview(...)` (a dry run with the first rows) and then `run(...)`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from crpm.bulkload import indexes_built_after, worth_deferring
from crpm.csvcells import unprotect
from crpm.db import Store
from crpm.errors import CRPMError, StoreBusy, ValidationError
from crpm.models import (
    MAX_QUANTITY,
    clean_customer_fields,
    clean_email,
    clean_product_fields,
    in_year_range,
    is_digits,
    parse_int,
    parse_money,
    parse_quantity,
    parse_time,
)
from crpm.permissions import Actor, require
from crpm.pricing import Discount, LineInput, parse_rate, price_lines, returned_share
from crpm.services import audit

KINDS = ("customers", "products", "purchases")
MAX_PROBLEMS = 100
PREVIEW_ROWS = 20
BATCH_ROWS = 20_000
IMPORT_CACHE_KIB = 8_000
SAMPLE_KEYS = 20
DELIMITERS = (",", ";", "\t")
# Bounds on what one file may ask of the check: the widest file we write has 13 columns.
MAX_COLUMNS = 200
MAX_HEADER_CHARS = 2**20
MAX_FIELD_CHARS = csv.field_size_limit()  # 131,072: the csv module's own limit
STATUSES = ("active", "inactive")
# A dot-atom local part and a dotted LDH domain: what clean_email accepts without changes other
# than lower-casing the domain (anything else goes through clean_email itself).
ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
PLAIN_EMAIL = re.compile(rf"^({ATOM}(?:\.{ATOM})*)@({LABEL}(?:\.{LABEL})+)$")
ERASABLE = (*STATUSES, "erased")

Progress = Callable[..., None]  # progress(done, total, stage)


@dataclass(frozen=True)
class Problem:
    """A bad row: the physical line where its record starts in the file, a column, a reason."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.reason}"


@dataclass
class ImportReport:
    kind: str
    file: str
    dry_run: bool
    update: bool
    rows: int = 0  # data rows read
    columns: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS, by line
    problem_count: int = 0
    created: int = 0  # customers/products added, or purchases added
    updated: int = 0  # existing rows changed (--update)
    unchanged: int = 0  # existing rows whose values already match (--update)
    existing: int = 0  # existing rows (by key) in the file, left as they are without --update
    existing_keys: list[str] = field(default_factory=list)  # a sample of them
    lines: int = 0  # purchase lines added (purchases)
    cancelled: int = 0  # cancelled purchases among those added
    returns: int = 0  # return rows added
    stock_movements: int = 0  # 'import' movements written (products)
    preview: list[dict] = field(default_factory=list)  # the first rows as read, for a UI
    written: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def warnings(self) -> list[str]:
        if not self.unknown_columns:
            return []
        names = ", ".join(self.unknown_columns)
        return [f"unknown column(s) ignored: {names} (known: {', '.join(self.columns)})"]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ok"], data["warnings"] = self.ok, self.warnings
        return data

    def text(self) -> str:
        """The report as a person reads it (the CLI prints this)."""
        out = [f"{self.kind} from {self.file}: {self.rows:,} row(s) read"]
        out += [f"warning: {warning}" for warning in self.warnings]
        if not self.ok:
            out.append(f"REFUSED: {self.problem_count:,} problem(s); nothing was written")
            out += [f"  {problem}" for problem in self.problems]
            hidden = self.problem_count - len(self.problems)
            if hidden > 0:
                out.append(f"  ... and {hidden:,} more problem(s)")
            return "\n".join(out)
        verb = "would add" if not self.written else "added"
        counts = [f"{verb} {self.created:,} {self.kind}"]
        if self.kind == "purchases":
            counts.append(
                f"{self.lines:,} lines, {self.cancelled:,} cancelled, {self.returns:,} returns"
            )
        if self.update:
            counts.append(
                f"{'would update' if not self.written else 'updated'} {self.updated:,}, "
                f"{self.unchanged:,} unchanged"
            )
        if self.stock_movements:
            counts.append(f"{self.stock_movements:,} stock movement(s)")
        out.append("; ".join(counts))
        if self.existing:
            sample = ", ".join(self.existing_keys)
            more = " ..." if self.existing > len(self.existing_keys) else ""
            out.append(f"{self.existing:,} already in the store, left as they are: {sample}{more}")
        out.append(
            "dry run: nothing was written" if self.dry_run else f"written in {self.seconds:.1f} s"
        )
        return "\n".join(out)


class Problems:
    """Every problem is counted; the first `limit` (by line) are kept."""

    def __init__(self, limit: int = MAX_PROBLEMS):
        self.limit, self.count, self.kept = limit, 0, []

    def add(self, line: int, column: str, reason: str) -> None:
        self.count += 1
        self.kept.append(Problem(line, column, reason))
        if len(self.kept) > self.limit * 2:
            self._trim()

    def _trim(self) -> None:
        self.kept = sorted(self.kept, key=lambda p: p.line)[: self.limit]

    def sorted(self) -> list[Problem]:
        self._trim()
        return self.kept


# --- reading a CSV file ------------------------------------------------------------------------


def sniff_delimiter(header_line: str) -> str:
    """The separator of a file from its header line: the most frequent of , ; and tab."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def header_name(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip().lower())


class CsvSource:
    """A CSV file read row by row: Excel's BOM, , ; or tab, CRLF, quoted commas and newlines.

    Yields (line, {column: text}) where `line` is the physical line the record starts on.
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise ValidationError("file", f"no such file: {path}")
        self.size = self.path.stat().st_size

    @contextmanager
    def open(self):
        """The raw file (for progress by bytes) and its text, with the header line read."""
        with open(self.path, "rb") as raw:
            peek = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            first = peek.readline(MAX_HEADER_CHARS + 1)
            peek.detach()  # leaves `raw` open
            if len(first) > MAX_HEADER_CHARS:
                raise ValidationError(
                    "header",
                    f"the first line of {self.path.name} is longer than"
                    f" {MAX_HEADER_CHARS:,} characters",
                )
            raw.seek(0)  # csv reads the header again: the wrapper above read ahead
            yield raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""), first

    def rows(self, columns_seen: Callable[[list[str]], None], position: Callable[[int], None]):
        try:
            yield from self._rows(columns_seen, position)
        except UnicodeDecodeError:
            # the text layer decodes ahead in blocks, so the line is not known exactly
            raise ValidationError(
                "file", "is not UTF-8 text (in Excel: Save As > 'CSV UTF-8')"
            ) from None

    def _rows(self, columns_seen, position):
        with self.open() as (raw, text, first):
            if not first.strip():
                raise ValidationError("file", "is empty: the first line must name the columns")
            reader = csv.reader(text, delimiter=sniff_delimiter(first))
            try:
                yield from self._records(reader, columns_seen, position, raw)
            except csv.Error as exc:
                raise ValidationError("file", self._csv_error(reader.line_num, exc)) from None
            position(self.size)

    def _records(self, reader, columns_seen, position, raw):
        header = [header_name(name) for name in next(reader)]
        columns_seen(header)
        width = len(header)
        previous_end = reader.line_num
        for number, values in enumerate(reader):
            line, previous_end = previous_end + 1, reader.line_num
            if len(values) != width:
                values = _fit(values, width)
                if values is None:
                    continue
                if isinstance(values, ValueError):
                    yield line, values
                    continue
            yield line, dict(zip(header, map(unprotect, values), strict=True))
            if not number & 4095:
                position(raw.tell())

    def _csv_error(self, line: int, exc: csv.Error) -> str:
        reason = str(exc)
        if "field larger than field limit" in reason:
            reason = f"a field is longer than {MAX_FIELD_CHARS:,} characters"
        return f"{self.path.name} line {line}: {reason}"


def _fit(values: list[str], width: int) -> list[str] | ValueError | None:
    """A row of another width than the header: None for a blank line, padded when short
    (trailing empty cells left out), an error when it has more non-empty fields."""
    if not values or values == [""]:
        return None
    if len(values) > width and any(value.strip() for value in values[width:]):
        return ValueError(f"has {len(values)} fields, the header {width}")
    return (values + [""] * width)[:width]


# --- what each kind of file holds ------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    kind: str
    entity: str
    key: str  # the column that identifies a row in the store
    required: tuple[str, ...]
    optional: tuple[str, ...]
    staging: str  # CREATE TABLE for the staged, clean values
    informational: tuple[str, ...] = ()  # written by the export for people; ignored on import

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


SPECS = {
    "customers": Spec(
        "customers",
        "customer",
        "email",
        ("name", "email"),
        ("phone", "company", "address", "city", "country", "notes", "status"),
        "CREATE TABLE staged (line INTEGER PRIMARY KEY, email TEXT COLLATE NOCASE, name TEXT,"
        " phone TEXT, company TEXT, address TEXT, city TEXT, country TEXT, notes TEXT,"
        " status TEXT)",
    ),
    "products": Spec(
        "products",
        "product",
        "sku",
        ("sku", "name", "price"),
        ("stock", "category", "reorder_level", "description", "status"),
        "CREATE TABLE staged (line INTEGER PRIMARY KEY, sku TEXT COLLATE NOCASE, name TEXT,"
        " price_cents INTEGER, stock INTEGER, category TEXT, reorder_level INTEGER,"
        " description TEXT, status TEXT)",
    ),
    "purchases": Spec(
        "purchases",
        "purchase",
        "order_ref",
        ("order_ref", "customer_email", "sku", "quantity", "unit_price", "purchased_at"),
        (
            "cancelled_at",
            "returned_quantity",
            "returned_at",
            "discount",
            "tax_rate",
            "prices_include_tax",
        ),
        "CREATE TABLE staged (line INTEGER PRIMARY KEY, order_ref TEXT, customer_id INTEGER,"
        " product_id INTEGER, quantity INTEGER, unit_price_cents INTEGER, purchased_at TEXT,"
        " cancelled_at TEXT, returned_quantity INTEGER, returned_at TEXT, discount_cents INTEGER,"
        " tax_rate TEXT, inclusive INTEGER, net_cents INTEGER, tax_cents INTEGER,"
        " returned_discount_cents INTEGER, returned_net_cents INTEGER, returned_tax_cents INTEGER)",
        ("customer_name", "product_name", "category", "net", "tax", "line_total"),
    ),
}


YES_NO = {"": False, "0": False, "no": False, "false": False, "1": True, "yes": True, "true": True}


def _yes_no(value, column: str) -> bool:
    text = (value or "").strip().lower()
    if text not in YES_NO:
        raise ValidationError(column, "must be yes or no")
    return YES_NO[text]


def _priced_line(values: dict, quantity, price, returned, errors: list) -> tuple:
    """discount, rate, prices-include-tax, net and tax of a line as crpm/pricing.py prices it,
    and the share its returned units gave back; the columns are optional (none: no tax)."""
    discount = _checked(errors, parse_money, values.get("discount") or "0", "discount")
    rate = _checked(errors, parse_rate, values.get("tax_rate") or "0", "tax_rate")
    inclusive = _checked(errors, _yes_no, values.get("prices_include_tax"), "prices_include_tax")
    if None in (quantity, price, discount, rate, inclusive):
        return (None,) * 8
    line = LineInput(price, quantity, rate, Discount(cents=discount))
    try:
        (priced,) = price_lines([line], inclusive)
    except ValidationError as exc:
        errors.append(("discount", exc.reason))
        return (None,) * 8
    back = returned_share(priced, 0, returned) if returned else None
    rate_text = f"{rate.normalize():f}"
    shares = (back.discount_cents, back.net_cents, back.tax_cents) if back else (0, 0, 0)
    return (discount, rate_text, int(inclusive), priced.net_cents, priced.tax_cents, *shares)


def _status(value, allowed: tuple[str, ...] = STATUSES) -> str:
    text = (value or "").strip().lower() or "active"
    if text not in allowed:
        raise ValidationError("status", f"must be one of {', '.join(allowed)}")
    return text


class _Validator:
    """Turns one CSV row into the staged tuple, or records its problems."""

    def __init__(self, spec: Spec, present: list[str], conn: sqlite3.Connection):
        self.spec, self.present = spec, present
        self.now = conn.clock.stamp()
        self.times: dict[str, str] = {}
        self.domains: dict[str, bool] = {}
        if spec.kind == "purchases":
            self.customers = _lookup(conn, "SELECT lower(email), id FROM customers")
            self.products = _lookup(conn, "SELECT lower(sku), id FROM products")

    def row(self, line: int, values: dict, problems: Problems) -> tuple | None:
        errors: list[tuple[str, str]] = []
        staged = getattr(self, f"_{self.spec.kind}")(values, errors)
        for column, reason in errors:
            problems.add(line, column, reason)
        return None if errors else (line, *staged)

    def _fields(self, cleaner, values: dict, errors: list, names) -> dict:
        cleaned = {}
        for name in names:
            try:
                cleaned.update(cleaner({name: values[name]}, partial=True))
            except ValidationError as exc:
                errors.append((exc.field, exc.reason))
        return cleaned

    def _customers(self, values: dict, errors: list) -> tuple:
        status = _checked(errors, _status, values.get("status"), ERASABLE)
        names = [n for n in self.present if n not in ("status", "email")]
        if status == "erased":  # an anonymised record from an export: its history needs it
            names.remove("name")
        clean = self._fields(clean_customer_fields, values, errors, names)
        if status == "erased":
            clean["name"], clean["email"] = values["name"].strip(), values["email"].strip()
        else:
            clean["email"] = self._email(values["email"], errors)
        others = ("name", "phone", "company", "address", "city", "country", "notes")
        return (clean.get("email"), *(clean.get(name) for name in others), status)

    def _email(self, text: str, errors: list) -> str | None:
        """clean_email, with a fast path for plain ASCII addresses whose domain has already
        passed clean_email once (the domain check is the slow part, and domains repeat)."""
        text = text.strip()
        match = PLAIN_EMAIL.match(text)
        plain = match and "xn--" not in text.lower()  # punycode comes back as Unicode
        if plain and len(match.group(1)) <= 64 and len(text) <= 254:
            domain = match.group(2).lower()
            valid = self.domains.get(domain)
            if valid is None:
                valid = self.domains[domain] = _valid_domain(domain)
            if valid:
                return f"{match.group(1)}@{domain}"
        return _checked(errors, clean_email, text)

    def _products(self, values: dict, errors: list) -> tuple:
        names = [
            n
            for n in self.present
            if n in ("sku", "name", "price", "category", "reorder_level", "description")
        ]
        clean = self._fields(clean_product_fields, values, errors, names)
        stock = None
        if "stock" in self.present:
            stock = _checked(errors, parse_int, (values["stock"] or "0").strip() or "0", "stock")
        status = _checked(errors, _status, values.get("status"))
        return (
            clean.get("sku"),
            clean.get("name"),
            clean.get("price_cents"),
            stock,
            clean.get("category"),
            clean.get("reorder_level"),
            clean.get("description"),
            status,
        )

    def _purchases(self, values: dict, errors: list) -> tuple:
        order_ref = values["order_ref"].strip()
        if not order_ref:
            errors.append(("order_ref", "is required (rows with one order_ref form a purchase)"))
        elif len(order_ref) > 64:
            errors.append(("order_ref", "is longer than 64 characters"))
        email = values["customer_email"].strip()
        customer_id = self.customers.get(email.lower())
        if customer_id is None:
            errors.append(
                ("customer_email", f"no customer with e-mail {email!r}" if email else "is required")
            )
        sku = values["sku"].strip()
        product_id = self.products.get(sku.lower())
        if product_id is None:
            errors.append(("sku", f"no product with SKU {sku!r}" if sku else "is required"))
        quantity = _quantity(values["quantity"], errors)
        price = _checked(errors, _money, values["unit_price"], "unit_price")
        purchased_at = _checked(errors, self._past_time, values["purchased_at"], "purchased_at")
        cancelled_at = self._optional_time(values, "cancelled_at", purchased_at, errors)
        returned, returned_at = self._returned(values, quantity, purchased_at, errors)
        return (
            order_ref,
            customer_id,
            product_id,
            quantity,
            price,
            purchased_at,
            cancelled_at,
            returned,
            returned_at,
            *_priced_line(values, quantity, price, returned, errors),
        )

    def _returned(self, values: dict, quantity, purchased_at, errors: list):
        text = (values.get("returned_quantity") or "").strip()
        if not text and not values.get("returned_at"):
            return 0, None
        returned = _checked(errors, parse_int, text or "0", "returned_quantity")
        returned_at = self._optional_time(values, "returned_at", purchased_at, errors)
        if returned and quantity and returned > quantity:
            errors.append(("returned_quantity", f"is more than the {quantity} bought"))
        if returned and not returned_at:
            errors.append(("returned_at", "is required when returned_quantity is given"))
        if returned_at and not returned:
            errors.append(("returned_quantity", "is required when returned_at is given"))
        return returned or 0, returned_at if returned else None

    def _optional_time(self, values: dict, column: str, purchased_at, errors: list):
        text = (values.get(column) or "").strip()
        if not text:
            return None
        moment = _checked(errors, self._past_time, text, column)
        if moment and purchased_at and moment < purchased_at:
            errors.append((column, "is before purchased_at"))
        return moment

    def _past_time(self, text: str, column: str) -> str:
        """parse_time with a cache (a purchase's lines repeat its time) and no future times."""
        moment = self.times.get(text)
        if moment is None and _is_stored_time_format(text):
            moment = text  # already 'YYYY-MM-DD HH:MM:SS', as stored
        if moment is None:
            moment = parse_time(text, column)
            if len(self.times) > 50_000:
                self.times.clear()
            self.times[text] = moment
        if moment > self.now:
            raise ValidationError(column, f"{text!r} is in the future")
        return moment


def _checked(errors: list, parse, *args):
    try:
        return parse(*args)
    except ValidationError as exc:
        errors.append((exc.field, exc.reason))
        return None


def _is_stored_time_format(text: str) -> bool:
    """Exactly 'YYYY-MM-DD HH:MM:SS', a real moment in the years parse_time takes (no zone,
    nothing to convert)."""
    if len(text) != 19 or text[10] != " " or text[13] != ":" or text[16] != ":":
        return False
    try:
        return in_year_range(datetime.fromisoformat(text))
    except ValueError:
        return False


def _quantity(text: str, errors: list):
    """parse_quantity's rules with a fast path for plain digits."""
    if is_digits(text) and 0 < int(text) <= MAX_QUANTITY:
        return int(text)
    return _checked(errors, parse_quantity, text)


def _money(text: str, column: str) -> int:
    """parse_money's rules with a fast path for a plain amount like 12.50 (always valid)."""
    whole, dot, part = text.partition(".")
    if (
        is_digits(whole)
        and len(whole) < 10
        and (not dot or len(part) in (1, 2) and is_digits(part))
    ):
        return int(whole) * 100 + (int(part.ljust(2, "0")) if dot else 0)
    return parse_money(text, column)


def _valid_domain(domain: str) -> bool:
    try:
        clean_email(f"check@{domain}")
    except ValidationError:
        return False
    return True


def _lookup(conn: sqlite3.Connection, sql: str) -> dict:
    return dict(conn.execute(sql).fetchall())


# --- the import ----------------------------------------------------------------------------------


def preview(
    store: Store,
    actor: Actor,
    kind: str,
    path,
    update: bool = False,
    rows: int = PREVIEW_ROWS,
    progress: Progress | None = None,
) -> ImportReport:
    """A dry run: the whole check, the first `rows` rows as read, every problem. Writes nothing."""
    return run(
        store, actor, kind, path, dry_run=True, update=update, progress=progress, preview_rows=rows
    )


def run(
    store: Store,
    actor: Actor,
    kind: str,
    path,
    dry_run: bool = False,
    update: bool = False,
    progress: Progress | None = None,
    preview_rows: int = 0,
    max_problems: int = MAX_PROBLEMS,
) -> ImportReport:
    """Check the whole file; unless it is a dry run or a row is bad, write it in one transaction.

    Raises ValidationError for an unusable file (missing, empty, not UTF-8, a required column
    missing); bad rows are listed in the report instead. `progress(done, total, stage)`.
    """
    require(actor, "manage_records")
    if kind not in KINDS:
        raise ValidationError("kind", f"must be one of {', '.join(KINDS)}")
    started = time.perf_counter()
    spec, source = SPECS[kind], CsvSource(path)
    report = ImportReport(kind, source.path.name, dry_run, update, columns=list(spec.columns))
    with _import_connection(store, source.path) as conn:
        problems = Problems(max_problems)
        _stage(conn, spec, source, report, problems, progress, preview_rows)
        _check_whole_file(conn, spec, problems)
        report.problems, report.problem_count = problems.sorted(), problems.count
        if report.ok:
            if dry_run:
                _count_outcome(conn, spec, report)
            else:
                _write(conn, actor, spec, report, progress)
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _import_connection(store: Store, source: Path):
    """A connection of the import's own, with a scratch database for the staged rows.

    The scratch file lives beside the store (same disk, removed afterwards); sorting for the
    whole-file checks spills to disk rather than memory.
    """
    remove_abandoned_scratch(store.path.parent)
    conn = store.connect()
    conn.row_factory = None
    handle, scratch = _scratch_file(store.path.parent)
    try:
        conn.execute("PRAGMA temp_store=FILE")
        # SQLite's sorter (indexes, GROUP BY) takes up to cache_size of memory: keep both small
        conn.execute(f"PRAGMA cache_size={-IMPORT_CACHE_KIB}")
        conn.execute("ATTACH DATABASE ? AS staging", (scratch,))
        conn.execute("PRAGMA staging.journal_mode=OFF")
        conn.execute("PRAGMA staging.synchronous=OFF")
        yield conn
    finally:
        conn.close()
        _remove_scratch(scratch)
        os.close(handle)  # the lock goes with it


# A scratch file is held by its import with flock() for as long as the import runs; a killed
# import's lock goes with its process, so an unheld scratch file is an abandoned one.
SCRATCH_PREFIX, SCRATCH_SUFFIX = ".import-", ".db"


def _scratch_file(folder: Path) -> tuple[int, str]:
    """A new scratch file, created and locked (the handle holds the lock until closed)."""
    while True:
        handle, path = tempfile.mkstemp(prefix=SCRATCH_PREFIX, suffix=SCRATCH_SUFFIX, dir=folder)
        if fcntl is None:
            return handle, path
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino == os.fstat(handle).st_ino:
                return handle, path
        except FileNotFoundError:
            pass  # a cleaner took it between mkstemp and flock: make another
        os.close(handle)


def remove_abandoned_scratch(folder: Path) -> list[str]:
    """Remove the scratch files beside the store that no running import holds."""
    if fcntl is None:  # no flock (Windows): nothing can tell a live import's file apart
        return []
    removed = []
    for path in folder.glob(f"{SCRATCH_PREFIX}*{SCRATCH_SUFFIX}"):
        try:
            with open(path, "rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                _remove_scratch(str(path))
        except (BlockingIOError, FileNotFoundError):
            continue  # a live import holds it, or another cleaner was first
        removed.append(path.name)
    return removed


def _remove_scratch(scratch: str) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(scratch + suffix).unlink(missing_ok=True)


def _stage(
    conn,
    spec: Spec,
    source: CsvSource,
    report: ImportReport,
    problems: Problems,
    progress,
    preview_rows: int,
) -> None:
    """Pass 1: validate every row and stage the clean ones."""
    conn.execute(spec.staging.replace("CREATE TABLE staged", "CREATE TABLE staging.staged"))
    validator = None

    def columns_seen(header: list[str]) -> None:
        nonlocal validator
        _check_header(spec, header, report)
        report.columns = [name for name in header if name in spec.columns]
        validator = _Validator(spec, report.columns, conn)

    def position(done: int) -> None:
        if progress:
            progress(done, source.size, "check")

    marks = ", ".join("?" for _ in range(spec.staging.count(",") + 1))
    insert = f"INSERT INTO staging.staged VALUES ({marks})"
    batch: list[tuple] = []
    conn.execute("BEGIN")
    for line, values in source.rows(columns_seen, position):
        report.rows += 1
        if isinstance(values, ValueError):
            problems.add(line, "row", str(values))
            continue
        if len(report.preview) < preview_rows:
            report.preview.append({"line": line, **values})
        staged = validator.row(line, values, problems)
        if staged is not None:
            batch.append(staged)
            if len(batch) >= BATCH_ROWS:
                conn.executemany(insert, batch)
                batch.clear()
    conn.executemany(insert, batch)
    conn.execute("COMMIT")


def _check_header(spec: Spec, header: list[str], report: ImportReport) -> None:
    """One pass over the names, after a cap on their number (a huge header was quadratic)."""
    if len(header) > MAX_COLUMNS:
        raise ValidationError(
            "header",
            f"{report.file} has more than {MAX_COLUMNS} columns"
            f" (a {spec.kind} file has {len(spec.columns)})",
        )
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise ValidationError("header", f"column {name!r} appears twice")
        seen.add(name)
    missing = [name for name in spec.required if name not in seen]
    if missing:
        raise ValidationError(
            "header",
            f"required column(s) missing: {', '.join(missing)} "
            f"(a {spec.kind} file needs {', '.join(spec.required)})",
        )
    known = set(spec.columns + spec.informational)
    report.unknown_columns = [name for name in header if name not in known]


DUPLICATE_SQL = """
SELECT s.line, first.line FROM staging.staged s
JOIN (SELECT {key}, min(line) AS line FROM staging.staged GROUP BY {key} HAVING count(*) > 1)
  AS first ON first.{key} = s.{key} AND s.line > first.line
ORDER BY s.line LIMIT ?
"""
DUPLICATE_COUNT_SQL = (
    "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM staging.staged GROUP BY {key})"
)
ORDERS_SQL = (
    "CREATE TABLE staging.orders (order_ref TEXT PRIMARY KEY, line INTEGER NOT NULL,"
    " new INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID"
)
ORDER_MISMATCH_SQL = """
SELECT s.line, h.line,
       CASE WHEN s.customer_id <> h.customer_id THEN 'customer_email'
            WHEN s.purchased_at <> h.purchased_at THEN 'purchased_at'
            ELSE 'cancelled_at' END
FROM staging.staged s JOIN staging.orders o ON o.order_ref = s.order_ref
JOIN staging.staged h ON h.line = o.line
WHERE s.customer_id <> h.customer_id OR s.purchased_at <> h.purchased_at
   OR s.cancelled_at IS NOT h.cancelled_at
ORDER BY s.line
"""


def _check_whole_file(conn, spec: Spec, problems: Problems) -> None:
    """Checks across rows: a key twice in the file; an order_ref whose rows disagree."""
    conn.execute(f"CREATE INDEX staging.staged_key ON staged ({spec.key}, line)")
    if spec.kind == "purchases":
        conn.execute(ORDERS_SQL)  # each order_ref and the line of its first row
        conn.execute(
            "INSERT INTO staging.orders (order_ref, line)"
            " SELECT order_ref, min(line) FROM staging.staged GROUP BY order_ref"
        )
        reasons = {
            "customer_email": "belongs to another customer",
            "purchased_at": "has another purchased_at",
            "cancelled_at": "has another cancelled_at",
        }
        for line, first, column in conn.execute(ORDER_MISMATCH_SQL):
            problems.add(
                line,
                column,
                f"order_ref {reasons[column]} on line {first}"
                " (rows with one order_ref form one purchase)",
            )
        return
    count = conn.execute(DUPLICATE_COUNT_SQL.format(key=spec.key)).fetchone()[0]
    rows = conn.execute(DUPLICATE_SQL.format(key=spec.key), (problems.limit,)).fetchall()
    for line, first in rows:
        problems.add(line, spec.key, f"duplicate {spec.key} in the file (first on line {first})")
    problems.count += count - len(rows)


# --- counting and writing ------------------------------------------------------------------------

EXISTING_SQL = {
    "customers": "SELECT s.line, s.email, c.id FROM staging.staged s"
    " JOIN main.customers c ON c.email = s.email",
    "products": "SELECT s.line, s.sku, p.id FROM staging.staged s"
    " JOIN main.products p ON p.sku = s.sku",
    "purchases": "SELECT line, order_ref FROM staging.orders WHERE NOT new",
}
UPDATABLE = {
    "customers": ("name", "phone", "company", "address", "city", "country", "notes", "status"),
    "products": (
        "name",
        "price_cents",
        "category",
        "reorder_level",
        "description",
        "status",
        "stock",
    ),
}


def _present_columns(spec: Spec, report: ImportReport) -> list[str]:
    """Store columns the file gives values for (an absent column leaves stored values alone)."""
    renamed = {"price": "price_cents"}
    present = {renamed.get(name, name) for name in report.columns}
    return [column for column in UPDATABLE[spec.kind] if column in present]


def _has_stock(spec: Spec, report: ImportReport) -> bool:
    return spec.kind == "products" and "stock" in report.columns


def _changed_condition(columns: list[str], table: str) -> str:
    """Rows an update changes. Erasure is the erasure service's job: never by import."""
    changed = " OR ".join(f"{table}.{column} IS NOT s.{column}" for column in columns) or "0"
    if table == "customers":
        return f"({changed}) AND s.status <> 'erased' AND customers.status <> 'erased'"
    return changed


def _count_outcome(conn, spec: Spec, report: ImportReport) -> None:
    """What a write would do now: new rows, existing rows (changed or not), lines."""
    if spec.kind == "purchases":
        conn.execute(
            "UPDATE staging.orders SET new = NOT EXISTS"
            " (SELECT 1 FROM main.purchases p WHERE p.order_ref = orders.order_ref)"
        )
    existing = conn.execute(f"SELECT count(*) FROM ({EXISTING_SQL[spec.kind]})").fetchone()[0]
    sample = conn.execute(f"{EXISTING_SQL[spec.kind]} ORDER BY 1 LIMIT {SAMPLE_KEYS}").fetchall()
    if spec.kind == "purchases":
        _count_purchases(conn, report, existing)
    else:
        staged = conn.execute("SELECT count(*) FROM staging.staged").fetchone()[0]
        report.created = staged - existing
        if report.update:
            report.updated = _count_changed(conn, spec, report)
            report.unchanged = existing - report.updated
            return
    report.existing = existing
    report.existing_keys = [row[1] for row in sample]


def _count_changed(conn, spec: Spec, report: ImportReport) -> int:
    table = spec.kind
    changed = _changed_condition(_present_columns(spec, report), table)
    return conn.execute(
        f"SELECT count(*) FROM staging.staged s JOIN main.{table} USING ({spec.key})"
        f" WHERE {changed}"
    ).fetchone()[0]


def _count_purchases(conn, report: ImportReport, existing: int) -> None:
    report.created, report.cancelled = conn.execute(
        "SELECT count(*), count(h.cancelled_at) FROM staging.orders o"
        " JOIN staging.staged h ON h.line = o.line WHERE o.new"
    ).fetchone()
    report.lines, report.returns = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE s.returned_quantity > 0) FROM staging.staged s"
        " JOIN staging.orders o ON o.order_ref = s.order_ref WHERE o.new"
    ).fetchone()


@contextmanager
def _transaction(conn):
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise StoreBusy() if "locked" in str(exc) else exc from None
    try:
        yield
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error) and not isinstance(exc, CRPMError):
            raise ValidationError("import", f"the store refused the rows: {exc}") from None
        raise
    else:
        conn.execute("COMMIT")


def _write(conn, actor: Actor, spec: Spec, report: ImportReport, progress) -> None:
    """Pass 2: one transaction with the rows and one audit entry."""
    if progress:
        progress(0, 1, "write")
    with _transaction(conn):
        _count_outcome(conn, spec, report)  # again, under the write lock: what really happens
        now = conn.clock.stamp()
        with indexes_built_after(conn, _tables_to_defer(conn, spec, report)):
            if spec.kind == "purchases":
                _write_purchases(conn, actor, now)
            else:
                _write_records(conn, actor, spec, report, now)
        audit.record(conn, actor, "import", spec.entity, None, after=_audit_counts(report))
    report.written = True
    if progress:
        progress(1, 1, "write")


def _tables_to_defer(conn, spec: Spec, report: ImportReport) -> tuple[str, ...]:
    """A big first load builds its indexes once at the end; a small import into a big store
    updates them row by row (rebuilding would cost the whole store)."""
    if spec.kind == "purchases":
        if worth_deferring(conn, "purchase_lines", report.lines):
            return ("purchases", "purchase_lines", "purchase_returns")
        return ()
    return (spec.kind,) if worth_deferring(conn, spec.kind, report.created) else ()


def _audit_counts(report: ImportReport) -> dict:
    keys = (
        "file",
        "rows",
        "created",
        "updated",
        "unchanged",
        "existing",
        "lines",
        "cancelled",
        "returns",
        "stock_movements",
    )
    data = asdict(report)
    return {key: data[key] for key in keys if data[key] or key in ("file", "rows", "created")}


def _write_records(conn, actor: Actor, spec: Spec, report: ImportReport, now: str) -> None:
    table, key = spec.kind, spec.key
    before_max = conn.execute(f"SELECT coalesce(max(id), 0) FROM main.{table}").fetchone()[0]
    if report.update:
        if _has_stock(spec, report):
            report.stock_movements += _movements(
                conn, actor, now, "p.stock IS NOT s.stock", "s.stock - p.stock"
            )
        columns = _present_columns(spec, report)
        assignments = ", ".join(f"{column} = s.{column}" for column in columns)
        conn.execute(
            f"UPDATE main.{table} SET {assignments}, updated_at = ? FROM staging.staged s"
            f" WHERE {table}.{key} = s.{key} AND ({_changed_condition(columns, table)})",
            (now,),
        )
    _insert_new(conn, spec, now)
    if _has_stock(spec, report):
        report.stock_movements += _movements(
            conn, actor, now, f"p.id > {int(before_max)} AND s.stock > 0", "s.stock"
        )


INSERT_NEW = {
    "customers": (
        "INSERT INTO main.customers (name, email, phone, company, address, city, country, notes,"
        " status, created_at, updated_at)"
        " SELECT s.name, s.email, coalesce(s.phone, ''), coalesce(s.company, ''),"
        " coalesce(s.address, ''), coalesce(s.city, ''), coalesce(s.country, ''),"
        " coalesce(s.notes, ''), s.status, :now, :now FROM staging.staged s"
        " WHERE NOT EXISTS (SELECT 1 FROM main.customers c WHERE c.email = s.email) ORDER BY s.line"
    ),
    "products": (
        "INSERT INTO main.products (sku, name, category, description, price_cents, stock,"
        " reorder_level, status, created_at, updated_at)"
        " SELECT s.sku, s.name, coalesce(s.category, ''), coalesce(s.description, ''),"
        " s.price_cents, coalesce(s.stock, 0), coalesce(s.reorder_level, 0), s.status, :now, :now"
        " FROM staging.staged s"
        " WHERE NOT EXISTS (SELECT 1 FROM main.products p WHERE p.sku = s.sku) ORDER BY s.line"
    ),
}


def _insert_new(conn, spec: Spec, now: str) -> None:
    conn.execute(INSERT_NEW[spec.kind], {"now": now})


def _movements(conn, actor: Actor, now: str, condition: str, quantity: str) -> int:
    """'import' movements for staged products matching `condition` (stock_after = file stock)."""
    return conn.execute(
        "INSERT INTO main.stock_movements (product_id, kind, quantity, stock_after, reason,"
        f" created_at, created_by) SELECT p.id, 'import', {quantity}, s.stock, 'CSV import', ?, ?"
        " FROM staging.staged s JOIN main.products p ON p.sku = s.sku"
        f" WHERE s.stock IS NOT NULL AND {condition} ORDER BY p.id",
        (now, actor.username),
    ).rowcount


def _write_purchases(conn, actor: Actor, now: str) -> None:
    """Purchases in file order, their lines, and returns; no stock movements (history only).

    Ids are the current maximum plus the file line (of the purchase's first row, of the line's
    row): set-based, and a return finds its line without a lookup. Ids may skip; they only grow.
    """
    params = {
        "user": actor.username,
        "purchase": conn.execute("SELECT coalesce(max(id), 0) FROM main.purchases").fetchone()[0],
        "line": conn.execute("SELECT coalesce(max(id), 0) FROM main.purchase_lines").fetchone()[0],
    }
    conn.execute(
        "INSERT INTO main.purchases (id, customer_id, purchased_at, recorded_by, source, order_ref,"
        " cancelled_at, cancelled_by, cancel_reason, prices_include_tax)"
        " SELECT :purchase + o.line, h.customer_id, h.purchased_at, :user, 'import', o.order_ref,"
        " h.cancelled_at, CASE WHEN h.cancelled_at IS NULL THEN NULL ELSE :user END, '',"
        " h.inclusive"
        " FROM staging.orders o JOIN staging.staged h ON h.line = o.line WHERE o.new"
        " ORDER BY o.line",
        params,
    )
    new_rows = (
        " FROM staging.staged s JOIN staging.orders o ON o.order_ref = s.order_ref WHERE o.new"
    )
    conn.execute(
        "INSERT INTO main.purchase_lines (id, purchase_id, product_id, quantity, unit_price_cents,"
        " discount_cents, tax_rate, net_cents, tax_cents) SELECT :line + s.line,"
        " :purchase + o.line, s.product_id, s.quantity, s.unit_price_cents, s.discount_cents,"
        f" s.tax_rate, s.net_cents, s.tax_cents{new_rows} ORDER BY s.line",
        params,
    )
    conn.execute(
        "INSERT INTO main.purchase_returns (line_id, quantity, returned_at, recorded_by, reason,"
        " discount_cents, net_cents, tax_cents) SELECT :line + s.line, s.returned_quantity,"
        " s.returned_at, :user, 'imported', s.returned_discount_cents, s.returned_net_cents,"
        " s.returned_tax_cents"
        f"{new_rows} AND s.returned_quantity > 0 ORDER BY s.returned_at, s.line",
        params,
    )
