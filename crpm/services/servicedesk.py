"""The service desk: support tickets with their history, and quotes that become purchases.

Customers reach only their own tickets and quotes: someone else's reads as "not found", the
same as an id that does not exist. Staff and admins reach every customer's. A ticket's history
keeps every comment, status change and assignment with who and when; internal rows (staff
notes, assignments) are never shown to a customer. Audit rows name what changed, never the
free text people wrote.

A priced quote stays 'priced' in the store after its validity date; every read and every
decision computes its status with the time of asking, so it reads, filters and refuses as
'expired' from the first second after the validity date.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from decimal import Decimal

from crpm.errors import Conflict, InactiveRecord, NotFound, PermissionDenied, ValidationError
from crpm.models import Page, is_digits, parse_id, parse_money, parse_time, unpack
from crpm.permissions import Actor, require
from crpm.pricing import (
    LineInput,
    Totals,
    discount_text,
    parse_discount,
    price_lines,
    totals,
)
from crpm.services import audit
from crpm.services.purchases import MAX_LINES, normalise_lines
from crpm.services.search import clamp_page, fts_query
from crpm.services.taxes import rates_for, read_settings

CATEGORIES = ("general", "order", "delivery", "product", "billing", "account", "other")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("open", "in_progress", "resolved", "closed")
# Where a ticket may go from each status; anything else is refused with these choices named.
TRANSITIONS = {
    "open": ("in_progress", "resolved", "closed"),
    "in_progress": ("open", "resolved", "closed"),
    "resolved": ("open", "in_progress", "closed"),
    "closed": ("open",),
}
QUOTE_STATUSES = ("requested", "priced", "accepted", "rejected", "expired")
MAX_TEXT = 5000
SUPPORT = "support"  # how a customer sees a staff member
ERASED_USER = "removed account"  # an erased login, or a process without one

TICKET_SQL = """
SELECT t.*, c.name AS customer_name, a.username AS assignee, cb.username AS creator,
       cb.role AS creator_role
FROM tickets t
JOIN customers c ON c.id = t.customer_id
LEFT JOIN users a ON a.id = t.assignee_id
LEFT JOIN users cb ON cb.id = t.created_by
"""
EVENTS_SQL = """
SELECT e.id, e.kind, e.visibility, e.body, e.old_value, e.new_value, e.author_id, e.created_at,
       u.username AS author, u.role AS author_role
FROM ticket_events e LEFT JOIN users u ON u.id = e.author_id
WHERE e.ticket_id = ? ORDER BY e.id
"""
QUOTE_STATUS_SQL = (
    "CASE WHEN q.status = 'priced' AND q.valid_until < :now THEN 'expired' ELSE q.status END"
)
QUOTE_SQL = f"""
SELECT q.id, q.customer_id, c.name AS customer_name, q.request_text,
       {QUOTE_STATUS_SQL} AS status, q.valid_until, q.message, p.username AS priced_by,
       q.priced_at, q.purchase_id, q.decided_at, q.created_at, q.updated_at, q.discount
FROM quotes q JOIN customers c ON c.id = q.customer_id LEFT JOIN users p ON p.id = q.priced_by
"""
QUOTE_LINES_SQL = """
SELECT l.quote_id, l.id, l.product_id, p.sku, p.name AS product_name, l.quantity,
       l.unit_price_cents
FROM quote_lines l JOIN products p ON p.id = l.product_id
"""


# --- what the desk returns --------------------------------------------------------


@dataclass(frozen=True)
class TicketEvent:
    """One row of a ticket's history. `kind`: created, comment, note, status, assignment,
    priority; `old_value`/`new_value` carry the status, priority or assignee change."""

    id: int
    kind: str
    visibility: str
    body: str
    old_value: str | None
    new_value: str | None
    author: str
    created_at: str


@dataclass(frozen=True)
class Ticket:
    id: int
    customer_id: int
    customer_name: str
    subject: str
    description: str
    category: str
    priority: str
    status: str
    assignee_id: int | None
    assignee: str | None
    created_by: str
    created_at: str
    updated_at: str
    status_changed_at: str
    events: tuple[TicketEvent, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class QuoteLine:
    id: int
    product_id: int
    sku: str
    product_name: str
    quantity: int
    unit_price_cents: int | None
    tax_rate: Decimal = Decimal(0)  # the product's rate now: what a purchase would take

    @property
    def total_cents(self) -> int | None:
        return None if self.unit_price_cents is None else self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class Quote:
    id: int
    customer_id: int
    customer_name: str
    request_text: str
    status: str
    valid_until: str | None
    message: str
    priced_by: str | None
    priced_at: str | None
    purchase_id: int | None
    decided_at: str | None
    created_at: str
    updated_at: str
    discount: str = ""  # off the whole quote: "10%" or an amount
    lines: tuple[QuoteLine, ...] = ()
    prices_include_tax: bool = False

    @property
    def figures(self) -> Totals | None:
        """Discount, net, tax and gross as a purchase would price it now (crpm/pricing.py);
        None until every line has a price."""
        if not self.lines or any(line.unit_price_cents is None for line in self.lines):
            return None
        inputs = [
            LineInput(line.unit_price_cents, line.quantity, line.tax_rate) for line in self.lines
        ]
        discount = parse_discount(self.discount, "discount")
        return totals(price_lines(inputs, self.prices_include_tax, discount))

    @property
    def total_cents(self) -> int | None:
        """What the customer would pay: gross, after the discount."""
        figures = self.figures
        return None if figures is None else figures.gross_cents

    def to_dict(self) -> dict:
        lines = [{**asdict(line), "total_cents": line.total_cents} for line in self.lines]
        figures = self.figures
        money = {
            f"{name}_cents": getattr(figures, f"{name}_cents") if figures else None
            for name in ("discount", "net", "tax")
        }
        return {**asdict(self), "lines": lines, "total_cents": self.total_cents, **money}


# --- small rules ------------------------------------------------------------------


def from_row(cls, row, **overrides):
    """A dataclass from a row's columns of the same names, with some values given."""
    values = dict(row)
    names = [field.name for field in fields(cls) if field.name not in overrides]
    return cls(**{name: values[name] for name in names if name in values}, **overrides)


def long_text(value, field: str, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValidationError(field, "is required")
    if len(text) > MAX_TEXT:
        raise ValidationError(field, f"is longer than {MAX_TEXT} characters")
    if "\x00" in text:
        raise ValidationError(field, "contains a NUL character")
    return text


def choice(value, field: str, allowed: tuple[str, ...]) -> str:
    text = str(value or "").strip().lower().replace(" ", "_")
    if text not in allowed:
        shown = ", ".join(option.replace("_", " ") for option in allowed)
        raise ValidationError(field, f"must be one of {shown}")
    return text


def valid_until_text(value, today: str) -> str:
    """A validity date: the quote holds through the end of that day (UTC), `today` at the
    earliest."""
    day = parse_time(value, "valid_until")[:10]
    if day < today:
        raise ValidationError("valid_until", "must be today or later")
    return f"{day} 23:59:59"


def require_desk_user(actor: Actor) -> None:
    """Staff, or a customer login tied to a customer record."""
    if actor is None or not (actor.is_staff or actor.customer_id is not None):
        raise PermissionDenied("log in to use the service desk")


def check_owner(actor: Actor, customer_id: int, entity: str, key: int) -> None:
    """Staff reach everything; a customer only their own, and someone else's is 'not found'."""
    require_desk_user(actor)
    if not actor.is_staff and actor.customer_id != customer_id:
        raise NotFound(entity, key)


def shown_name(actor: Actor, username: str | None, role: str | None, user_id, own_id) -> str:
    """Who did something, as the viewer may see it: customers see staff as 'support'."""
    if username is None:
        return ERASED_USER
    if actor.is_staff or user_id == own_id:
        return username
    return SUPPORT if role in ("admin", "staff") else username


class ServiceDesk:
    def __init__(self, store, purchases):
        self.store = store
        self.purchases = purchases

    # --- tickets: reading -------------------------------------------------------------

    def get_ticket(self, actor: Actor, ticket_id) -> Ticket:
        """One ticket with its history; a customer sees only public rows of their own."""
        ticket_id = parse_id(ticket_id, "ticket")
        row = self.store.query_one(f"{TICKET_SQL} WHERE t.id = ?", (ticket_id,))
        if row is None:
            raise NotFound("ticket", ticket_id)
        check_owner(actor, row["customer_id"], "ticket", ticket_id)
        events = tuple(
            self._event(actor, event)
            for event in self.store.query(EVENTS_SQL, (ticket_id,))
            if actor.is_staff or event["visibility"] == "public"
        )
        return replace(self._ticket(actor, row), events=events)

    def my_tickets(self, actor: Actor, status=None, limit: int = 50, offset: int = 0) -> Page:
        """A customer's own tickets, most recently changed first."""
        if actor is None or actor.customer_id is None:
            raise PermissionDenied("only a customer login has tickets of its own")
        conditions, params = ["t.customer_id = :customer_id"], {"customer_id": actor.customer_id}
        if status not in (None, "", "all"):
            conditions.append("t.status = :status")
            params["status"] = choice(status, "status", STATUSES)
        return self._ticket_page(
            actor, conditions, params, "t.updated_at DESC, t.id DESC", limit, offset
        )

    def queue(
        self,
        actor: Actor,
        status=None,
        priority=None,
        assignee=None,
        customer_id=None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """Every ticket for staff, oldest first, filtered by any of the arguments.

        `status` is one status, a list of them, or None/"all"; `assignee` is a user id or
        username, "unassigned", or None for anyone.
        """
        require(actor, "service_desk_staff")
        conditions, params = [], {}
        if status not in (None, "", "all"):
            statuses = list(status) if isinstance(status, (list, tuple)) else [status]
            chosen = {
                f"status{i}": choice(value, "status", STATUSES) for i, value in enumerate(statuses)
            }
            conditions.append(f"t.status IN ({', '.join(':' + name for name in chosen) or 'NULL'})")
            params.update(chosen)
        if priority not in (None, "", "all"):
            conditions.append("t.priority = :priority")
            params["priority"] = choice(priority, "priority", PRIORITIES)
        if assignee == "unassigned":
            conditions.append("t.assignee_id IS NULL")
        elif assignee not in (None, "", "all"):
            conditions.append("t.assignee_id = :assignee")
            params["assignee"] = self._user_id(assignee, "assignee")
        if customer_id not in (None, ""):
            conditions.append("t.customer_id = :customer_id")
            params["customer_id"] = parse_id(customer_id, "customer")
        return self._ticket_page(actor, conditions, params, "t.created_at, t.id", limit, offset)

    def _ticket_page(self, actor, conditions, params, order, limit, offset) -> Page:
        limit, offset = clamp_page(limit, offset)
        clause = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self.store.query(
            f"{TICKET_SQL} {clause} ORDER BY {order} LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
        total = self.store.query_one(f"SELECT count(*) FROM tickets t {clause}", params)[0]
        return Page([self._ticket(actor, row) for row in rows], total, limit, offset)

    def _ticket(self, actor: Actor, row) -> Ticket:
        staff_view = actor.is_staff
        return from_row(
            Ticket,
            row,
            assignee_id=row["assignee_id"] if staff_view else None,
            assignee=row["assignee"] if staff_view else None,
            created_by=shown_name(
                actor, row["creator"], row["creator_role"], row["created_by"], actor.user_id
            ),
        )

    def _event(self, actor: Actor, row) -> TicketEvent:
        author = shown_name(
            actor, row["author"], row["author_role"], row["author_id"], actor.user_id
        )
        return from_row(TicketEvent, row, author=author)

    # --- tickets: writing -------------------------------------------------------------

    def raise_ticket(
        self,
        actor: Actor,
        subject,
        description="",
        category="general",
        priority="normal",
        customer_id=None,
    ) -> Ticket:
        """A new open ticket: by a customer for themself, or by staff for a named customer."""
        require_desk_user(actor)
        subject = long_text(subject, "subject", required=True)
        if len(subject) > 200:
            raise ValidationError("subject", "is longer than 200 characters")
        description = long_text(description, "description")
        category = choice(category or "general", "category", CATEGORIES)
        priority = choice(priority or "normal", "priority", PRIORITIES)
        with self.store.write() as conn:
            customer_id = self._customer_for(conn, actor, customer_id)
            now = conn.clock.stamp()
            ticket_id = conn.execute(
                "INSERT INTO tickets (customer_id, subject, description, category, priority,"
                " created_by, created_at, updated_at, status_changed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    customer_id,
                    subject,
                    description,
                    category,
                    priority,
                    actor.user_id,
                    now,
                    now,
                    now,
                ),
            ).lastrowid
            self._history(conn, actor, ticket_id, "created", new_value="open")
            audit.record(
                conn,
                actor,
                "create",
                "ticket",
                ticket_id,
                after={
                    "customer_id": customer_id,
                    "category": category,
                    "priority": priority,
                },
            )
        return self.get_ticket(actor, ticket_id)

    def comment(self, actor: Actor, ticket_id, body, internal: bool = False) -> Ticket:
        """A public comment or reply, or (staff only) an internal note.

        A customer's comment on a resolved ticket reopens it; a closed ticket takes no public
        comments (staff reopen it first; a customer raises a new ticket).
        """
        body = long_text(body, "comment", required=True)
        if internal and not (actor and actor.is_staff):
            raise PermissionDenied("internal notes are for staff")
        with self.store.write() as conn:
            ticket = self._ticket_row(conn, actor, ticket_id)
            if ticket["status"] == "closed" and not internal:
                hint = "reopen it first" if actor.is_staff else "please raise a new ticket"
                raise Conflict("ticket", f"ticket #{ticket['id']} is closed; {hint}")
            kind, visibility = ("note", "internal") if internal else ("comment", "public")
            self._history(conn, actor, ticket["id"], kind, body=body, visibility=visibility)
            if ticket["status"] == "resolved" and not actor.is_staff:
                self._move(conn, actor, ticket, "open")
            audit.record(
                conn, actor, kind, "ticket", ticket["id"], after={"visibility": visibility}
            )
        return self.get_ticket(actor, ticket["id"])

    def close_ticket(self, actor: Actor, ticket_id, comment="") -> Ticket:
        """Close a ticket (a customer their own, staff any), with an optional public comment."""
        comment = long_text(comment, "comment")
        with self.store.write() as conn:
            ticket = self._ticket_row(conn, actor, ticket_id)
            if ticket["status"] == "closed":
                raise Conflict("status", f"ticket #{ticket['id']} is already closed")
            if comment:
                self._history(conn, actor, ticket["id"], "comment", body=comment)
            self._move(conn, actor, ticket, "closed")
        return self.get_ticket(actor, ticket["id"])

    def set_status(self, actor: Actor, ticket_id, status, comment="") -> Ticket:
        """Staff move a ticket along open -> in progress -> resolved -> closed, or reopen it."""
        require(actor, "service_desk_staff")
        status = choice(status, "status", STATUSES)
        comment = long_text(comment, "comment")
        with self.store.write() as conn:
            ticket = self._ticket_row(conn, actor, ticket_id)
            current = ticket["status"]
            if status == current:
                raise Conflict("status", f"ticket #{ticket['id']} is already {_label(current)}")
            if status not in TRANSITIONS[current]:
                allowed = " or ".join(_label(option) for option in TRANSITIONS[current])
                raise Conflict("status", f"a {_label(current)} ticket can only go to {allowed}")
            if comment:
                self._history(conn, actor, ticket["id"], "comment", body=comment)
            self._move(conn, actor, ticket, status)
        return self.get_ticket(actor, ticket["id"])

    def assign(self, actor: Actor, ticket_id, assignee) -> Ticket:
        """Staff assign a ticket to themselves or another active staff member; None unassigns."""
        require(actor, "service_desk_staff")
        assignee_id = None if assignee in (None, "", "unassigned") else self._staff_id(assignee)
        with self.store.write() as conn:
            ticket = self._ticket_row(conn, actor, ticket_id)
            if ticket["assignee_id"] != assignee_id:
                names = self._usernames(conn, ticket["assignee_id"], assignee_id)
                self._history(
                    conn,
                    actor,
                    ticket["id"],
                    "assignment",
                    visibility="internal",
                    old_value=names[0],
                    new_value=names[1],
                )
                self._touch(conn, ticket["id"], assignee_id=assignee_id)
                audit.record(
                    conn,
                    actor,
                    "assign",
                    "ticket",
                    ticket["id"],
                    {"assignee_id": ticket["assignee_id"]},
                    {"assignee_id": assignee_id},
                )
        return self.get_ticket(actor, ticket["id"])

    def set_priority(self, actor: Actor, ticket_id, priority) -> Ticket:
        require(actor, "service_desk_staff")
        priority = choice(priority, "priority", PRIORITIES)
        with self.store.write() as conn:
            ticket = self._ticket_row(conn, actor, ticket_id)
            if ticket["priority"] != priority:
                self._history(
                    conn,
                    actor,
                    ticket["id"],
                    "priority",
                    old_value=ticket["priority"],
                    new_value=priority,
                )
                self._touch(conn, ticket["id"], priority=priority)
                audit.record(
                    conn,
                    actor,
                    "priority",
                    "ticket",
                    ticket["id"],
                    {"priority": ticket["priority"]},
                    {"priority": priority},
                )
        return self.get_ticket(actor, ticket["id"])

    def _ticket_row(self, conn, actor: Actor, ticket_id):
        ticket_id = parse_id(ticket_id, "ticket")
        row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise NotFound("ticket", ticket_id)
        check_owner(actor, row["customer_id"], "ticket", ticket_id)
        return row

    def _move(self, conn, actor: Actor, ticket, status: str) -> None:
        now = conn.clock.stamp()
        self._history(
            conn,
            actor,
            ticket["id"],
            "status",
            old_value=ticket["status"],
            new_value=status,
            at=now,
        )
        self._touch(conn, ticket["id"], status=status, status_changed_at=now)
        audit.record(
            conn,
            actor,
            "status",
            "ticket",
            ticket["id"],
            {"status": ticket["status"]},
            {"status": status},
        )

    @staticmethod
    def _touch(conn, ticket_id: int, **changes) -> None:
        changes.setdefault("updated_at", changes.get("status_changed_at") or conn.clock.stamp())
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        conn.execute(
            f"UPDATE tickets SET {assignments} WHERE id = :ticket_id",
            {**changes, "ticket_id": ticket_id},
        )

    @staticmethod
    def _history(
        conn,
        actor: Actor,
        ticket_id: int,
        kind: str,
        body: str = "",
        visibility: str = "public",
        old_value=None,
        new_value=None,
        at=None,
    ) -> None:
        conn.execute(
            "INSERT INTO ticket_events (ticket_id, kind, visibility, body, old_value, new_value,"
            " author_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ticket_id,
                kind,
                visibility,
                body,
                old_value,
                new_value,
                actor.user_id,
                at or conn.clock.stamp(),
            ),
        )
        conn.execute(
            "UPDATE tickets SET updated_at = ? WHERE id = ?", (at or conn.clock.stamp(), ticket_id)
        )

    # --- people -----------------------------------------------------------------------

    def _customer_for(self, conn, actor: Actor, customer_id, active: bool = False) -> int:
        """The customer a new ticket or quote is for: a customer's own, or the one staff name.

        With `active`, an inactive customer is refused: a quote for them could never be
        accepted. Tickets stay open to them, since a ticket is how they reach support.
        """
        if not actor.is_staff:
            if customer_id not in (None, "") and parse_id(customer_id, "customer") != (
                actor.customer_id
            ):
                raise PermissionDenied("you can only ask on your own behalf")
            customer_id = actor.customer_id
        elif customer_id in (None, ""):
            raise ValidationError("customer", "name the customer this is for")
        customer_id = parse_id(customer_id, "customer")
        row = conn.execute("SELECT status FROM customers WHERE id = ?", (customer_id,)).fetchone()
        if row is None or row["status"] == "erased":
            raise NotFound("customer", customer_id)
        if active and row["status"] != "active":
            raise InactiveRecord("customer", customer_id)
        return customer_id

    def _user_id(self, user, field: str) -> int:
        if isinstance(user, str) and not is_digits(user.strip()):
            row = self.store.query_one("SELECT id FROM users WHERE username = ?", (user.strip(),))
            if row is None:
                raise NotFound("user", user)
            return row["id"]
        return parse_id(user, field)

    def _staff_id(self, user) -> int:
        user_id = self._user_id(user, "assignee")
        row = self.store.query_one(
            "SELECT 1 FROM users WHERE id = ? AND role IN ('admin', 'staff') AND active = 1",
            (user_id,),
        )
        if row is None:
            raise ValidationError("assignee", "must be an active staff member")
        return user_id

    @staticmethod
    def _usernames(conn, *user_ids) -> list[str | None]:
        names = []
        for user_id in user_ids:
            row = conn.execute("SELECT username FROM users WHERE id = ?", (user_id,)).fetchone()
            names.append(row["username"] if row else None)
        return names

    # --- quotes -----------------------------------------------------------------------

    def catalogue(self, actor: Actor, search: str = "", limit: int = 50, offset: int = 0) -> Page:
        """Active products anyone logged in may ask a quote for: id, sku, name, category,
        list price and whether any is in stock (not how many)."""
        require_desk_user(actor)
        limit, offset = clamp_page(limit, offset)
        match = fts_query(search or "")
        clause = "status = 'active'" + (
            " AND id IN (SELECT rowid FROM products_fts WHERE products_fts MATCH :match)"
            if match
            else ""
        )
        params = {"match": match, "limit": limit, "offset": offset}
        rows = self.store.query(
            "SELECT id, sku, name, category, price_cents, stock > 0 AS in_stock FROM products"
            f" WHERE {clause} ORDER BY name, id LIMIT :limit OFFSET :offset",
            params,
        )
        total = self.store.query_one(f"SELECT count(*) FROM products WHERE {clause}", params)[0]
        items = [{**dict(row), "in_stock": bool(row["in_stock"])} for row in rows]
        return Page(items, total, limit, offset)

    def request_quote(self, actor: Actor, lines=(), text="", customer_id=None) -> Quote:
        """Ask for a price: catalogue products with quantities, free text, or both.

        `lines` as for a purchase: [(product_id, quantity)] or [{"product_id", "quantity"}];
        any price given there is ignored (staff set prices).
        """
        require_desk_user(actor)
        text = long_text(text, "request")
        wanted = [
            {"product_id": line["product_id"], "quantity": line["quantity"]}
            for line in (normalise_lines(lines) if lines else [])
        ]
        if not wanted and not text:
            raise ValidationError("request", "name at least one product or describe what you need")
        with self.store.write() as conn:
            customer_id = self._customer_for(conn, actor, customer_id, active=True)
            for line in wanted:
                self._active_product(conn, line["product_id"])
            now = conn.clock.stamp()
            quote_id = conn.execute(
                "INSERT INTO quotes (customer_id, request_text, requested_by, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?)",
                (customer_id, text, actor.user_id, now, now),
            ).lastrowid
            self._add_lines(conn, quote_id, wanted)
            audit.record(
                conn,
                actor,
                "request",
                "quote",
                quote_id,
                after={
                    "customer_id": customer_id,
                    "lines": wanted,
                },
            )
        return self.get_quote(actor, quote_id)

    def price_quote(
        self, actor: Actor, quote_id, prices, valid_until, message="", extra_lines=(), discount=""
    ) -> Quote:
        """Staff answer a quote: a unit price for every requested product, a validity date
        and a message.

        `prices` maps product id -> money text ("12.50"), or is a list of (product_id, price).
        `extra_lines` adds products the request described in words:
        [(product_id, quantity, price)] or [{"product_id", "quantity", "unit_price"}].
        `discount` ("10%" or "5.00") comes off the whole quote, as on a purchase.
        A quote may be priced again while it is requested, priced or expired.
        """
        require(actor, "service_desk_staff")
        until = valid_until_text(valid_until, self.store.clock.stamp()[:10])
        discount = discount_text(parse_discount(discount, "discount"))
        message = long_text(message, "message")
        prices = _price_map(prices)
        extra = [_extra_line(number, line) for number, line in enumerate(extra_lines or (), 1)]
        with self.store.write() as conn:
            quote = self._quote_for_change(
                conn, actor, quote_id, ("requested", "priced", "expired")
            )
            requested = {line.product_id for line in quote.lines}
            self._check_pricing(requested, prices, extra)
            for line in extra:
                self._active_product(conn, line["product_id"])
            self._add_lines(conn, quote.id, extra)
            conn.executemany(
                "UPDATE quote_lines SET unit_price_cents = ? WHERE quote_id = ? AND product_id = ?",
                [(cents, quote.id, product_id) for product_id, cents in prices.items()],
            )
            now = conn.clock.stamp()
            conn.execute(
                "UPDATE quotes SET status = 'priced', valid_until = ?, message = ?, priced_by = ?,"
                " priced_at = ?, updated_at = ?, discount = ? WHERE id = ?",
                (until, message, actor.user_id, now, now, discount, quote.id),
            )
            priced = self._quote(conn, actor, quote.id)  # its total refuses a discount over it
            audit.record(
                conn,
                actor,
                "price",
                "quote",
                quote.id,
                {"status": quote.status},
                {
                    "status": "priced",
                    "valid_until": until,
                    "total_cents": priced.total_cents,
                },
            )
        return self.get_quote(actor, quote.id)

    @staticmethod
    def _check_pricing(requested: set, prices: dict, extra: list) -> None:
        unknown = sorted(set(prices) - requested)
        if unknown:
            raise ValidationError(
                "prices", f"product #{unknown[0]} is not in this quote; add it as an extra line"
            )
        missing = sorted(requested - set(prices))
        if missing:
            raise ValidationError("prices", f"product #{missing[0]} needs a price")
        again = sorted(requested & {line["product_id"] for line in extra})
        if again:
            raise ValidationError("extra lines", f"product #{again[0]} is already in this quote")
        if not requested and not extra:
            raise ValidationError("lines", "a priced quote needs at least one product")
        if len(requested) + len(extra) > MAX_LINES:
            raise ValidationError("lines", f"a quote may have at most {MAX_LINES} products")

    def accept_quote(self, actor: Actor, quote_id) -> Quote:
        """The customer (or staff for them) accepts a priced quote: it becomes a purchase at the
        quoted prices, in the same transaction, with every stock rule of a purchase."""
        with self.store.write() as conn:
            quote = self._quote_for_change(conn, actor, quote_id, ("priced",))
            lines = [
                {
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "unit_price_cents": line.unit_price_cents,
                }
                for line in quote.lines
            ]
            purchase_id = self.purchases.write_purchase(
                conn, actor, quote.customer_id, lines, source="quote", discount=quote.discount
            )
            self._decide(conn, actor, quote, "accepted", purchase_id)
        return self.get_quote(actor, quote.id)

    def reject_quote(self, actor: Actor, quote_id) -> Quote:
        """The customer (or staff for them) turns down a quote that is requested or priced."""
        with self.store.write() as conn:
            quote = self._quote_for_change(conn, actor, quote_id, ("requested", "priced"))
            self._decide(conn, actor, quote, "rejected", None)
        return self.get_quote(actor, quote.id)

    def _decide(self, conn, actor: Actor, quote: Quote, status: str, purchase_id) -> None:
        now = conn.clock.stamp()
        conn.execute(
            "UPDATE quotes SET status = ?, purchase_id = ?, decided_at = ?, updated_at = ?"
            " WHERE id = ?",
            (status, purchase_id, now, now, quote.id),
        )
        audit.record(
            conn,
            actor,
            status.removesuffix("ed"),
            "quote",
            quote.id,
            {"status": quote.status},
            {"status": status, "purchase_id": purchase_id},
        )

    def get_quote(self, actor: Actor, quote_id) -> Quote:
        return self._quote(self.store.conn, actor, parse_id(quote_id, "quote"))

    def my_quotes(self, actor: Actor, status=None, limit: int = 50, offset: int = 0) -> Page:
        """A customer's own quotes, newest first."""
        if actor is None or actor.customer_id is None:
            raise PermissionDenied("only a customer login has quotes of its own")
        return self._quote_page(actor, status, actor.customer_id, limit, offset)

    def quotes(
        self, actor: Actor, status=None, customer_id=None, limit: int = 50, offset: int = 0
    ) -> Page:
        """Every quote for staff, newest first, by (effective) status and customer."""
        require(actor, "service_desk_staff")
        customer_id = None if customer_id in (None, "") else parse_id(customer_id, "customer")
        return self._quote_page(actor, status, customer_id, limit, offset)

    def _quote_page(self, actor, status, customer_id, limit, offset) -> Page:
        limit, offset = clamp_page(limit, offset)
        conditions, params = [], {"now": self.store.clock.stamp()}
        if status not in (None, "", "all"):
            conditions.append(f"{QUOTE_STATUS_SQL} = :status")
            params["status"] = choice(status, "status", QUOTE_STATUSES)
        if customer_id is not None:
            conditions.append("q.customer_id = :customer_id")
            params["customer_id"] = customer_id
        clause = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        conn = self.store.conn
        rows = conn.execute(
            f"{QUOTE_SQL} {clause} ORDER BY q.created_at DESC, q.id DESC"
            " LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        ).fetchall()
        total = conn.execute(f"SELECT count(*) FROM quotes q {clause}", params).fetchone()[0]
        lines = self._lines(conn, [row["id"] for row in rows])
        inclusive = read_settings(conn).prices_include_tax
        items = [self._quote_from(actor, row, lines.get(row["id"], ()), inclusive) for row in rows]
        return Page(items, total, limit, offset)

    def _quote(self, conn, actor: Actor, quote_id: int) -> Quote:
        row = conn.execute(
            f"{QUOTE_SQL} WHERE q.id = :id", {"id": quote_id, "now": conn.clock.stamp()}
        ).fetchone()
        if row is None:
            raise NotFound("quote", quote_id)
        check_owner(actor, row["customer_id"], "quote", quote_id)
        lines = self._lines(conn, [quote_id]).get(quote_id, ())
        return self._quote_from(actor, row, lines, read_settings(conn).prices_include_tax)

    def _quote_for_change(self, conn, actor: Actor, quote_id, allowed: tuple[str, ...]) -> Quote:
        quote = self._quote(conn, actor, parse_id(quote_id, "quote"))
        if quote.status not in allowed:
            raise Conflict("quote", _quote_refusal(quote))
        return quote

    @staticmethod
    def _quote_from(actor: Actor, row, lines, inclusive: bool) -> Quote:
        values = dict(row)
        if not actor.is_staff and values["priced_by"]:
            values["priced_by"] = SUPPORT
        return Quote(**values, lines=tuple(lines), prices_include_tax=inclusive)

    @staticmethod
    def _lines(conn, quote_ids: list[int]) -> dict[int, list[QuoteLine]]:
        if not quote_ids:
            return {}
        marks = ", ".join("?" for _ in quote_ids)
        found: dict[int, list[QuoteLine]] = {}
        rows = conn.execute(
            f"{QUOTE_LINES_SQL} WHERE l.quote_id IN ({marks}) ORDER BY l.id", quote_ids
        ).fetchall()
        rates = rates_for(conn, list({row["product_id"] for row in rows}))
        for row in rows:
            values = dict(row)
            quote_id = values.pop("quote_id")
            rate = rates.get(values["product_id"], Decimal(0))
            found.setdefault(quote_id, []).append(QuoteLine(**values, tax_rate=rate))
        return found

    @staticmethod
    def _add_lines(conn, quote_id: int, lines: list[dict]) -> None:
        conn.executemany(
            "INSERT INTO quote_lines (quote_id, product_id, quantity, unit_price_cents)"
            " VALUES (?, ?, ?, ?)",
            [
                (quote_id, line["product_id"], line["quantity"], line.get("unit_price_cents"))
                for line in lines
            ],
        )

    @staticmethod
    def _active_product(conn, product_id: int) -> None:
        row = conn.execute(
            "SELECT sku, status FROM products WHERE id = ?", (product_id,)
        ).fetchone()
        if row is None:
            raise NotFound("product", product_id)
        if row["status"] != "active":
            raise InactiveRecord("product", product_id, row["sku"])


def _label(status: str) -> str:
    return status.replace("_", " ")


def _quote_refusal(quote: Quote) -> str:
    reasons = {
        "requested": "has not been priced yet",
        "priced": "is priced and waiting for the customer's answer",
        "accepted": f"was already accepted (purchase #{quote.purchase_id})",
        "rejected": "was rejected",
        "expired": f"expired on {(quote.valid_until or '')[:10]}; ask for a new price",
    }
    return f"quote #{quote.id} {reasons[quote.status]}"


def _price_map(prices) -> dict[int, int]:
    if isinstance(prices, dict):
        pairs = prices.items()
    elif isinstance(prices, (list, tuple)) or not prices:
        pairs = [unpack(pair, 2, "prices", "(product id, price) pairs") for pair in prices or ()]
    else:
        raise ValidationError("prices", "give a price for each product")
    priced = {}
    for product_id, price in pairs:
        product_id = parse_id(product_id, "prices product")
        priced[product_id] = parse_money(price, f"price of product #{product_id}")
    return priced


def _extra_line(number: int, line) -> dict:
    if isinstance(line, dict):
        product_id, quantity, price = (
            line.get("product_id"),
            line.get("quantity"),
            line.get("unit_price"),
        )
    else:
        product_id, quantity, price = unpack(
            line, 3, f"extra line {number}", "(product id, quantity, price)"
        )
    merged = normalise_lines([(product_id, quantity)])[0]
    return {**merged, "unit_price_cents": parse_money(price, f"extra line {number} price")}
