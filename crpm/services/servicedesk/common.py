"""What tickets and quotes share: whose behalf a request is on, how people are shown to whom,
and the checks of free text and of a choice among names."""

from __future__ import annotations

from dataclasses import fields

from crpm.errors import InactiveRecord, NotFound, ValidationError
from crpm.models import parse_id
from crpm.permissions import Actor

MAX_TEXT = 5000
SUPPORT = "support"  # how a customer sees a staff member
ERASED_USER = "removed account"  # an erased login, or a process without one


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
        shown = ", ".join(label(option) for option in allowed)
        raise ValidationError(field, f"must be one of {shown}")
    return text


def label(name: str) -> str:
    """A status or priority as people read it: "in progress"."""
    return name.replace("_", " ")


def shown_name(actor: Actor, username: str | None, role: str | None, user_id, own_id) -> str:
    """Who did something, as the viewer may see it: customers see staff as 'support'."""
    if username is None:
        return ERASED_USER
    if actor.is_staff or user_id == own_id:
        return username
    return SUPPORT if role in ("admin", "staff") else username


def given_customer(customer_id) -> int | None:
    """The customer a request names, if it names one (the permission check needs it)."""
    return None if customer_id in (None, "") else parse_id(customer_id, "customer")


def customer_for(conn, actor: Actor, customer_id: int | None, active: bool = False) -> int:
    """The customer a new ticket or quote is for: the one named (the caller has checked that the
    actor may act for them), else the actor's own.

    With `active`, an inactive customer is refused: a quote for them could never be accepted.
    Tickets stay open to them, since a ticket is how they reach support.
    """
    customer_id = customer_id if customer_id is not None else actor.customer_id
    if customer_id is None:
        raise ValidationError("customer", "name the customer this is for")
    row = conn.execute("SELECT status FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None or row["status"] == "erased":
        raise NotFound("customer", customer_id)
    if active and row["status"] != "active":
        raise InactiveRecord("customer", customer_id)
    return customer_id
