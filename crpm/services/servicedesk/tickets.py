"""Support tickets with their history: raised by a customer (or by staff for one), worked by
staff through open -> in progress -> resolved -> closed.

A ticket's history keeps every comment, status change and assignment with who and when;
internal rows (staff notes, assignments) are never shown to a customer. Audit rows name what
changed, never the free text people wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from crpm.errors import Conflict, NotFound, ValidationError
from crpm.models import AsDict, Page, is_digits, parse_id
from crpm.permissions import Actor, ensure
from crpm.services import audit
from crpm.services.search import clamp_page
from crpm.services.servicedesk.common import (
    choice,
    customer_for,
    from_row,
    given_customer,
    label,
    long_text,
    shown_name,
)
from crpm.services.sqlparts import Where, assignments, read_page

CATEGORIES = ("general", "order", "delivery", "product", "billing", "account", "other")
PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("open", "in_progress", "resolved", "closed")
# Where a ticket may go from each status; anything else is refused with these choices named.
TRANSITIONS = {
    "open": ("in_progress", "resolved", "closed"),
    "in_progress": ("open", "resolved", "closed"),
    "resolved": ("open", "in_progress", "closed"),
    "closed": ("open",),
}

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
class Ticket(AsDict):
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


class TicketDesk:
    """The ticket half of the service desk (crpm.services.servicedesk.ServiceDesk)."""

    def __init__(self, store):
        self.store = store

    # --- reading ----------------------------------------------------------------------

    def get_ticket(self, actor: Actor, ticket_id) -> Ticket:
        """One ticket with its history; a customer sees only public rows of their own."""
        ticket_id = parse_id(ticket_id, "ticket")
        with self.store.read() as conn:
            row = _joined_row(conn, ticket_id)
            ensure(actor, "tickets", row["customer_id"], entity="ticket", key=ticket_id)
            return self._with_history(conn, actor, row)

    def my_tickets(self, actor: Actor, status=None, limit: int = 50, offset: int = 0) -> Page:
        """A customer's own tickets, most recently changed first."""
        ensure(actor, "own_records")
        where = Where(["t.customer_id = :customer_id"], {"customer_id": actor.customer_id})
        if status not in (None, "", "all"):
            where.add("t.status = :status", status=choice(status, "status", TICKET_STATUSES))
        return self._ticket_page(actor, where, "t.updated_at DESC, t.id DESC", limit, offset)

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
        ensure(actor, "service_desk_staff")
        where = Where()
        if status not in (None, "", "all"):
            statuses = list(status) if isinstance(status, (list, tuple)) else [status]
            chosen = {
                f"status{i}": choice(value, "status", TICKET_STATUSES)
                for i, value in enumerate(statuses)
            }
            marks = ", ".join(":" + name for name in chosen) or "NULL"
            where.add(f"t.status IN ({marks})", **chosen)
        if priority not in (None, "", "all"):
            where.add("t.priority = :priority", priority=choice(priority, "priority", PRIORITIES))
        if assignee == "unassigned":
            where.add("t.assignee_id IS NULL")
        elif assignee not in (None, "", "all"):
            where.add("t.assignee_id = :assignee", assignee=self._user_id(assignee, "assignee"))
        if customer_id not in (None, ""):
            where.add("t.customer_id = :customer_id", customer_id=parse_id(customer_id, "customer"))
        return self._ticket_page(actor, where, "t.created_at, t.id", limit, offset)

    def _ticket_page(self, actor, where: Where, order, limit, offset) -> Page:
        limit, offset = clamp_page(limit, offset)
        rows, total = read_page(self.store, TICKET_SQL, "tickets t", where, order, limit, offset)
        return Page([self._ticket(actor, row) for row in rows], total, limit, offset)

    def _shown_ticket(self, actor: Actor, ticket_id: int) -> Ticket:
        """A ticket just changed by `actor`, as they see it (they were let in already)."""
        with self.store.read() as conn:
            return self._with_history(conn, actor, _joined_row(conn, ticket_id))

    def _with_history(self, conn, actor: Actor, row) -> Ticket:
        events = tuple(
            self._event(actor, event)
            for event in conn.execute(EVENTS_SQL, (row["id"],))
            if actor.is_staff or event["visibility"] == "public"
        )
        return replace(self._ticket(actor, row), events=events)

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

    # --- writing ----------------------------------------------------------------------

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
        customer_id = given_customer(customer_id)
        ensure(actor, "tickets", customer_id)
        subject = long_text(subject, "subject", required=True)
        if len(subject) > 200:
            raise ValidationError("subject", "is longer than 200 characters")
        description = long_text(description, "description")
        category = choice(category or "general", "category", CATEGORIES)
        priority = choice(priority or "normal", "priority", PRIORITIES)
        with self.store.write() as conn:
            customer_id = customer_for(conn, actor, customer_id)
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
        return self._shown_ticket(actor, ticket_id)

    def comment(self, actor: Actor, ticket_id, body, internal: bool = False) -> Ticket:
        """A public comment or reply, or (staff only) an internal note.

        A customer's comment on a resolved ticket reopens it; a closed ticket takes no public
        comments (staff reopen it first; a customer raises a new ticket).
        """
        body = long_text(body, "comment", required=True)
        ticket_id = parse_id(ticket_id, "ticket")
        action = "service_desk_staff" if internal else "tickets"  # internal notes are staff's
        with self.store.write() as conn:
            ticket = _ticket_row(conn, ticket_id)
            ensure(actor, action, ticket["customer_id"], entity="ticket", key=ticket_id)
            if ticket["status"] == "closed" and not internal:
                hint = "reopen it first" if actor.is_staff else "please raise a new ticket"
                raise Conflict("ticket", f"ticket #{ticket_id} is closed; {hint}")
            kind, visibility = ("note", "internal") if internal else ("comment", "public")
            self._history(conn, actor, ticket_id, kind, body=body, visibility=visibility)
            if ticket["status"] == "resolved" and not actor.is_staff:
                self._change_status(conn, actor, ticket, "open")
            audit.record(conn, actor, kind, "ticket", ticket_id, after={"visibility": visibility})
        return self._shown_ticket(actor, ticket_id)

    def close_ticket(self, actor: Actor, ticket_id, comment="") -> Ticket:
        """Close a ticket (a customer their own, staff any), with an optional public comment."""
        comment = long_text(comment, "comment")
        ticket_id = parse_id(ticket_id, "ticket")
        with self.store.write() as conn:
            ticket = _ticket_row(conn, ticket_id)
            ensure(actor, "tickets", ticket["customer_id"], entity="ticket", key=ticket_id)
            if ticket["status"] == "closed":
                raise Conflict("status", f"ticket #{ticket_id} is already closed")
            if comment:
                self._history(conn, actor, ticket_id, "comment", body=comment)
            self._change_status(conn, actor, ticket, "closed")
        return self._shown_ticket(actor, ticket_id)

    def set_status(self, actor: Actor, ticket_id, status, comment="") -> Ticket:
        """Staff move a ticket along open -> in progress -> resolved -> closed, or reopen it."""
        ensure(actor, "service_desk_staff")
        status = choice(status, "status", TICKET_STATUSES)
        comment = long_text(comment, "comment")
        ticket_id = parse_id(ticket_id, "ticket")
        with self.store.write() as conn:
            ticket = _ticket_row(conn, ticket_id)
            current = ticket["status"]
            if status == current:
                raise Conflict("status", f"ticket #{ticket_id} is already {label(current)}")
            if status not in TRANSITIONS[current]:
                allowed = " or ".join(label(option) for option in TRANSITIONS[current])
                raise Conflict("status", f"a {label(current)} ticket can only go to {allowed}")
            if comment:
                self._history(conn, actor, ticket_id, "comment", body=comment)
            self._change_status(conn, actor, ticket, status)
        return self._shown_ticket(actor, ticket_id)

    def assign(self, actor: Actor, ticket_id, assignee) -> Ticket:
        """Staff assign a ticket to themselves or another active staff member; None unassigns."""
        ensure(actor, "service_desk_staff")
        assignee_id = None if assignee in (None, "", "unassigned") else self._staff_id(assignee)
        ticket_id = parse_id(ticket_id, "ticket")
        with self.store.write() as conn:
            ticket = _ticket_row(conn, ticket_id)
            if ticket["assignee_id"] != assignee_id:
                names = _usernames(conn, ticket["assignee_id"], assignee_id)
                self._history(
                    conn,
                    actor,
                    ticket_id,
                    "assignment",
                    visibility="internal",
                    old_value=names[0],
                    new_value=names[1],
                )
                old = ticket["assignee_id"]
                _set(conn, actor, ticket_id, "assign", "assignee_id", old, assignee_id)
        return self._shown_ticket(actor, ticket_id)

    def set_priority(self, actor: Actor, ticket_id, priority) -> Ticket:
        ensure(actor, "service_desk_staff")
        priority = choice(priority, "priority", PRIORITIES)
        ticket_id = parse_id(ticket_id, "ticket")
        with self.store.write() as conn:
            ticket = _ticket_row(conn, ticket_id)
            if ticket["priority"] != priority:
                self._history(
                    conn,
                    actor,
                    ticket_id,
                    "priority",
                    old_value=ticket["priority"],
                    new_value=priority,
                )
                _set(conn, actor, ticket_id, "priority", "priority", ticket["priority"], priority)
        return self._shown_ticket(actor, ticket_id)

    def _change_status(self, conn, actor: Actor, ticket, status: str) -> None:
        """A ticket's new status, in its history and its audit row."""
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
        old = ticket["status"]
        _set(conn, actor, ticket["id"], "status", "status", old, status, status_changed_at=now)

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

    # --- staff members ----------------------------------------------------------------

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


def _ticket_row(conn, ticket_id: int):
    row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        raise NotFound("ticket", ticket_id)
    return row


def _joined_row(conn, ticket_id: int):
    """The ticket with its customer's name and the names of its assignee and creator."""
    row = conn.execute(f"{TICKET_SQL} WHERE t.id = ?", (ticket_id,)).fetchone()
    if row is None:
        raise NotFound("ticket", ticket_id)
    return row


def _touch(conn, ticket_id: int, **changes) -> None:
    changes.setdefault("updated_at", changes.get("status_changed_at") or conn.clock.stamp())
    conn.execute(
        f"UPDATE tickets SET {assignments(changes)} WHERE id = :ticket_id",
        {**changes, "ticket_id": ticket_id},
    )


def _set(conn, actor: Actor, ticket_id: int, action: str, column: str, old, new, **also) -> None:
    """Change one column of a ticket (and `also`, such as the status time) with the audit row
    that says from what to what."""
    _touch(conn, ticket_id, **{column: new}, **also)
    audit.record(conn, actor, action, "ticket", ticket_id, {column: old}, {column: new})


def _usernames(conn, *user_ids) -> list[str | None]:
    names = []
    for user_id in user_ids:
        row = conn.execute("SELECT username FROM users WHERE id = ?", (user_id,)).fetchone()
        names.append(row["username"] if row else None)
    return names
