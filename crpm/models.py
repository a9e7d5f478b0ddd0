"""Domain objects and the validation of what users type into them.

Money lives in integer cents from the moment it is parsed; floats never hold it.
Times are UTC text 'YYYY-MM-DD HH:MM:SS'.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from crpm.clock import TIME_FORMAT
from crpm.errors import ValidationError
from crpm.shoplocale import DEFAULT_LOCALE, example_amount, money_text, read_amount

MAX_CENTS = 10**12  # ten billion in money: beyond that a typo is likelier than a sale
MAX_QUANTITY = 1_000_000
MIN_YEAR, MAX_YEAR = 1900, 9999  # times the store holds: four-digit years, compared as text
PHONE_RE = re.compile(r"^[0-9 +\-()]*$")
INT_RE = re.compile(r"[+-]?[0-9]+")
ASCII_DIGITS = re.compile(r"[0-9]+")
MONEY_RE = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")
# A dot-atom local part and a dotted LDH domain: what email_validator accepts without changes
# other than lower-casing the domain (anything else goes through email_validator itself).
ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
PLAIN_EMAIL = re.compile(rf"^({ATOM}(?:\.{ATOM})*)@({LABEL}(?:\.{LABEL})+)$")

TEXT_LIMITS = {
    "name": 200,
    "email": 254,
    "phone": 32,
    "company": 200,
    "address": 500,
    "city": 100,
    "country": 100,
    "notes": 5000,
    "sku": 64,
    "category": 100,
    "description": 5000,
    "reason": 500,
    "shop name": 200,
    "shop address": 500,
    "tax number": 64,
    "payment note": 500,
}


# --- time -------------------------------------------------------------------


def parse_time(value, field_name: str = "date") -> str:
    """An ISO date or date-time (naive means UTC) as stored text, in the years 1900-9999.

    Stored times compare as text, which holds only for four-digit years; the range also keeps
    "the day after" and a period after it inside what datetime can hold. Text already in the
    stored form (what an import reads a million times) is checked and kept as it is.
    """
    if type(value) is str and _is_stored_time(value):
        return value
    if isinstance(value, datetime):
        moment, text = value, value.isoformat(sep=" ")
    elif isinstance(value, date):
        moment, text = datetime(value.year, value.month, value.day), value.isoformat()
    else:
        text = str(value or "").strip()
        if not text:
            raise ValidationError(field_name, "is required")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                field_name, f"{text!r} is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)"
            ) from None
    try:
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        moment = datetime.min
    if not in_year_range(moment):
        raise ValidationError(field_name, f"{text!r} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return moment.strftime(TIME_FORMAT)


def _is_stored_time(text: str) -> bool:
    """Exactly 'YYYY-MM-DD HH:MM:SS' in ASCII, a real moment in the years parse_time takes."""
    if len(text) != 19 or text[10] != " " or text[13] != ":" or text[16] != ":":
        return False
    if not text.isascii():
        return False
    try:
        return in_year_range(datetime.fromisoformat(text))
    except ValueError:
        return False


def in_year_range(moment: datetime) -> bool:
    return MIN_YEAR <= moment.year <= MAX_YEAR


# --- money ------------------------------------------------------------------


def parse_money(value, field_name: str = "price", locale: str | None = None) -> int:
    """Text, int or Decimal to integer cents: not negative, at most two decimals.

    A plain amount like 12.50 (always valid; an import reads a million of them) takes the
    short way; with the shop's `locale` an amount typed its way ("4,95", "1.234,50" in de_DE)
    is read too; everything else takes the full checks with their messages.
    """
    if type(value) is str:
        whole, dot, part = value.partition(".")
        if (
            is_digits(whole)
            and len(whole) < 10
            and (not dot or len(part) in (1, 2) and is_digits(part))
        ):
            return int(whole) * 100 + (int(part.ljust(2, "0")) if dot else 0)
    if isinstance(value, float):
        raise ValidationError(field_name, "give money as text or Decimal, not a float")
    if isinstance(value, Decimal):
        text = format(value, "f")
    else:
        text = str(value if value is not None else "").strip()
    typed = read_amount(text, locale) if locale and text and not MONEY_RE.match(text) else None
    if typed is not None and MONEY_RE.match(format(typed, "f")):
        text = format(typed, "f")
    if not text:
        raise ValidationError(field_name, "is required")
    if text.startswith("-"):
        raise ValidationError(field_name, "must not be negative")
    if not MONEY_RE.match(text):
        example = example_amount(locale or DEFAULT_LOCALE)
        raise ValidationError(
            field_name, f"{text!r} is not an amount like {example} (two decimals at most)"
        )
    try:
        cents = int(Decimal(text) * 100)
    except InvalidOperation:
        raise ValidationError(field_name, f"{text!r} is not an amount") from None
    if cents > MAX_CENTS:
        raise ValidationError(field_name, "is too large")
    return cents


def format_money(
    cents: int, symbol: str = "", grouped: bool = True, locale: str = DEFAULT_LOCALE
) -> str:
    """Integer cents as text with two decimals, the one place money is written: grouped, in
    the shop's locale with its symbol, on pages and documents ("$1,234.50" in en_US,
    "1.234,50 €" in de_DE; crpm/shoplocale.py, by Babel); ungrouped without a symbol,
    "1234.50", in the CLI, the API and CSV files (`cents_to_decimal_text`), which parse_money
    reads back whatever the locale."""
    if grouped:
        return money_text(cents, symbol, locale)
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{symbol}{whole}.{part:02d}"


def cents_to_decimal_text(cents: int) -> str:
    """Money as a plain decimal, "1234.50": format_money ungrouped, as a one-argument formatter."""
    return format_money(cents, grouped=False)


# --- text, numbers, contact details ------------------------------------------


def clean_text(value, field_name: str, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValidationError(field_name, "is required")
    limit = TEXT_LIMITS.get(field_name, 1000)
    if len(text) > limit:
        raise ValidationError(field_name, f"is longer than {limit} characters")
    if "\x00" in text:
        raise ValidationError(field_name, "contains a NUL character")
    return text


def clean_email(value) -> str:
    """An e-mail address as email_validator normalises it. A plain ASCII address whose domain
    already passed once is the same text with its domain lower-cased, so it skips the domain
    check (the slow part; an import meets the same few domains a million times)."""
    if type(value) is str:
        text = value.strip()
        match = PLAIN_EMAIL.match(text)
        if match and len(match.group(1)) <= 64 and len(text) <= TEXT_LIMITS["email"]:
            domain = match.group(2).lower()
            if "xn--" not in domain and _valid_domain(domain):  # punycode comes back as Unicode
                return f"{match.group(1)}@{domain}"
    text = clean_text(value, "email", required=True)
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError("email", f"{text!r} is not a valid e-mail address ({exc})") from None
    return result.normalized


@lru_cache(maxsize=4096)
def _valid_domain(domain: str) -> bool:
    try:
        validate_email(f"check@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def clean_phone(value) -> str:
    text = clean_text(value, "phone")
    if not text:
        return ""
    if not PHONE_RE.match(text):
        raise ValidationError("phone", "may hold only digits, spaces and + - ( )")
    digits = sum(ch in "0123456789" for ch in text)
    if not 5 <= digits <= 15:
        raise ValidationError("phone", "must have between 5 and 15 digits")
    return text


def parse_int(value, field_name: str, minimum: int = 0, maximum: int = MAX_QUANTITY) -> int:
    if type(value) is str and is_digits(value):  # the usual case first: plain digits
        number = int(value)
    elif isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise ValidationError(field_name, "must be a whole number")
    elif isinstance(value, (int, float)):
        number = int(value)
    elif INT_RE.fullmatch(str(value).strip()):
        number = int(str(value).strip())
    else:
        raise ValidationError(field_name, f"{value!r} is not a whole number")
    if number < minimum:
        raise ValidationError(field_name, f"must be at least {minimum}")
    if number > maximum:
        raise ValidationError(field_name, f"must be at most {maximum}")
    return number


def is_digits(text: str) -> bool:
    """Only ASCII 0-9: str.isdigit() also takes '²' (int() then fails) and '１' (read as 1)."""
    return bool(ASCII_DIGITS.fullmatch(text))


def unpack(value, count: int, field_name: str, shape: str) -> tuple:
    """A list or tuple of exactly `count` items, else a ValidationError saying what to give."""
    if isinstance(value, (tuple, list)) and len(value) == count:
        return tuple(value)
    raise ValidationError(field_name, f"give {shape}")


def parse_quantity(value, field_name: str = "quantity") -> int:
    return parse_int(value, field_name, minimum=1)


def parse_id(value, field_name: str) -> int:
    return parse_int(value, field_name, minimum=1, maximum=2**62)


# --- records ----------------------------------------------------------------

CUSTOMER_FIELDS = ("name", "email", "phone", "company", "address", "city", "country", "notes")
PRODUCT_FIELDS = ("sku", "name", "category", "description", "price", "reorder_level")


def clean_record_fields(
    fields: dict, partial: bool, noun: str, names: tuple[str, ...], cleaners: dict
) -> dict:
    """Validate a record's input: every field one of `names` (with partial, only those given),
    each through its cleaner in `cleaners` or else as plain optional text."""
    unknown = set(fields) - set(names)
    if unknown:
        raise ValidationError(sorted(unknown)[0], f"is not a {noun} field")
    return {
        name: cleaners.get(name, lambda v, n=name: clean_text(v, n))(fields.get(name))
        for name in (fields if partial else names)
    }


def clean_customer_fields(fields: dict, partial: bool = False) -> dict:
    """Validate customer input; with partial, only the fields given."""
    cleaners = {
        "name": lambda v: clean_text(v, "name", required=True),
        "email": clean_email,
        "phone": clean_phone,
    }
    return clean_record_fields(fields, partial, "customer", CUSTOMER_FIELDS, cleaners)


def clean_product_fields(fields: dict, partial: bool = False) -> dict:
    """Validate product input; price becomes price_cents."""
    cleaners = {
        "sku": lambda v: clean_text(v, "sku", required=True),
        "name": lambda v: clean_text(v, "name", required=True),
        "price": lambda v: parse_money(v, "price"),
        "reorder_level": lambda v: parse_int(0 if v in (None, "") else v, "reorder_level"),
    }
    cleaned = clean_record_fields(fields, partial, "product", PRODUCT_FIELDS, cleaners)
    if "price" in cleaned:
        cleaned["price_cents"] = cleaned.pop("price")
    return cleaned


class AsDict:
    """A dataclass record that gives its fields as a plain dict (for tables and JSON)."""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Customer(AsDict):
    id: int
    name: str
    email: str
    phone: str
    company: str
    address: str
    city: str
    country: str
    notes: str
    status: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Product(AsDict):
    id: int
    sku: str
    name: str
    category: str
    description: str
    price_cents: int
    stock: int
    reorder_level: int
    status: str
    created_at: str
    updated_at: str

    @property
    def low_stock(self) -> bool:
        return self.stock <= self.reorder_level


@dataclass(frozen=True)
class PurchaseLine:
    id: int
    product_id: int
    sku: str
    product_name: str
    quantity: int
    returned: int
    unit_price_cents: int
    # As sold (crpm/pricing.py): discount (own plus share of the purchase's), rate in percent,
    # net before tax and tax; returned_net_cents is what the returns gave back of the net.
    discount_cents: int = 0
    tax_rate: Decimal = Decimal(0)
    net_cents: int = 0
    tax_cents: int = 0
    returned_net_cents: int = 0

    @property
    def total_cents(self) -> int:
        """What the line cost the customer: net + tax."""
        return self.net_cents + self.tax_cents

    @property
    def revenue_cents(self) -> int:
        """Net before tax less what returns gave back."""
        return self.net_cents - self.returned_net_cents


@dataclass(frozen=True)
class Purchase:
    id: int
    customer_id: int
    customer_name: str
    purchased_at: str
    recorded_by: str
    source: str
    order_ref: str | None
    cancelled_at: str | None
    lines: tuple[PurchaseLine, ...] = ()
    prices_include_tax: bool = False
    invoice_number: str | None = None

    @property
    def status(self) -> str:
        if self.cancelled_at:
            return "cancelled"
        if self.lines and all(line.returned >= line.quantity for line in self.lines):
            return "returned"
        if any(line.returned for line in self.lines):
            return "partly returned"
        return "completed"

    @property
    def total_cents(self) -> int:
        """What the purchase cost the customer: net + tax."""
        return sum(line.total_cents for line in self.lines)

    @property
    def tax_cents(self) -> int:
        return sum(line.tax_cents for line in self.lines)

    @property
    def revenue_cents(self) -> int:
        """Net before tax after returns; nothing once cancelled."""
        return 0 if self.cancelled_at else sum(line.revenue_cents for line in self.lines)


@dataclass(frozen=True)
class StockMovement:
    id: int
    product_id: int
    kind: str
    quantity: int
    stock_after: int
    purchase_id: int | None
    reason: str
    created_at: str
    created_by: str


@dataclass(frozen=True)
class Page:
    """One page of a list: the rows and how many match in all."""

    items: list
    total: int
    limit: int
    offset: int
    total_is_capped: bool = False
    extra: dict = field(default_factory=dict)


# --- sales documents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """Who a document is from or to, as printed."""

    name: str
    lines: tuple[str, ...] = ()  # address lines, e-mail, company: printed in this order
    tax_number: str = ""


@dataclass(frozen=True)
class DocumentLine:
    """One line as sold (or, on a credit note, as given back): every figure kept at the time."""

    sku: str
    description: str
    quantity: int
    unit_cents: int
    discount_cents: int
    rate: Decimal  # percent, exact
    net_cents: int
    tax_cents: int
    gross_cents: int


@dataclass(frozen=True)
class SalesDocument:
    """An invoice (INV-YYYY-NNNNNN) or a credit note (CN-YYYY-NNNNNN) as issued; never changes.

    `by_rate` is the breakdown per tax rate: (rate, net, tax, gross) in cents, rates ascending;
    the totals are the sums of the lines. `refers_to` is the invoice a credit note credits."""

    kind: str  # "invoice" or "credit_note"
    number: str
    issued_at: str  # UTC 'YYYY-MM-DD HH:MM:SS'
    shop: Party
    customer: Party
    lines: tuple[DocumentLine, ...]
    discount_cents: int
    net_cents: int
    tax_cents: int
    gross_cents: int
    by_rate: tuple[tuple[Decimal, int, int, int], ...]
    prices_include_tax: bool
    currency: str = "$"
    purchase_id: int | None = None
    time_zone: str = "UTC"  # the shop's: the date of issue printed is its day
    locale: str = "en_US"  # the shop's: how amounts are printed
    refers_to: str | None = None
    note: str = ""  # the payment note on an invoice, the reason on a credit note
