"""Who may do what: one table of rules and one question, `ensure`, that every service asks.

A rule names the roles that may take an action on anyone's records, and the roles that may take
it only on their own (a customer: the customer record tied to their login). Someone else's
record looks exactly like one that does not exist: `ensure` answers NotFound with the message a
missing id gets, so ids tell nothing. A role the rule does not name gets PermissionDenied.
The dashboard shows a tab by the same table; hiding it is comfort, the services still ask.
"""

from __future__ import annotations

from dataclasses import dataclass

from crpm.errors import NotFound, PermissionDenied

ROLES = ("admin", "staff", "customer")
STAFF = frozenset({"admin", "staff"})
CUSTOMER = frozenset({"customer"})
# Not a login's role: the person filling in the sign-up form, before they have an account.
REGISTRATION = "registration"

ANY = "any"  # the grant covers every customer's records
OWN = "own"  # the grant covers only the actor's own


@dataclass(frozen=True)
class Rule:
    """Who may take one action. `anyone`: roles that may act on every record; `own`: roles
    that may act only on their own, keyed by the Actor attribute `owner`."""

    anyone: frozenset[str] = frozenset()
    own: frozenset[str] = frozenset()
    refusal: str = ""  # what a role the rule does not name is told
    owner: str = "customer_id"

    def __contains__(self, role) -> bool:
        return role in self.anyone or role in self.own


RULES = {
    # staff work (design: Roles)
    "read_records": Rule(STAFF),  # customers, products, every purchase, tax rates, exports
    "manage_records": Rule(STAFF),  # create, edit, deactivate; record, cancel, return; import
    "analytics": Rule(STAFF),
    "service_desk_staff": Rule(STAFF),  # the ticket queue, notes, statuses, pricing quotes
    "admin": Rule(frozenset({"admin"})),  # user accounts, roles, erasure, audit log, backups
    "add_customer": Rule(STAFF | {REGISTRATION}),  # staff, or a person signing up (themself)
    # what a customer does with their own records; staff do it for any customer
    "update_customer": Rule(STAFF, CUSTOMER),  # a customer: only the contact fields
    "read_purchases": Rule(STAFF, CUSTOMER),  # purchases, history, invoices, credit notes
    "tickets": Rule(STAFF, CUSTOMER, "log in to use the service desk"),
    "quotes": Rule(STAFF, CUSTOMER, "log in to ask for quotes"),
    # a priced quote becomes a purchase at its prices: the only purchase a customer may record
    "accept_quote": Rule(STAFF, CUSTOMER, "log in to accept a quote"),
    # a customer's own purchases, tickets, quotes and profile, as lists of their own
    "own_records": Rule(own=CUSTOMER, refusal="only a customer login has records of its own"),
    # one's own login: profile and password
    "own_account": Rule(own=frozenset(ROLES), refusal="log in first", owner="user_id"),
}


@dataclass(frozen=True)
class Actor:
    """The person (or process) on whose behalf a service acts."""

    username: str
    role: str
    customer_id: int | None = None
    user_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


SYSTEM = Actor(username="system", role="admin")


def registering(email: str) -> Actor:
    """The person signing up as `email`: they may add their own customer record, nothing else.
    The audit rows of the sign-up name them by that e-mail."""
    return Actor(username=email, role=REGISTRATION)


def ensure(
    actor: Actor | None, action: str, customer_id: int | None = None, *, entity=None, key=None
) -> str:
    """Refuse unless `actor` may take `action` (on `customer_id`'s records, when given).

    Returns the grant: ANY (every customer's records) or OWN (only the actor's own; without a
    `customer_id` the service acts for the actor's own record). A record of a customer who is
    not the actor's own (for no actor at all, every record) raises NotFound, worded as a
    missing `entity` #`key` (default: the customer) would be; a role the rule does not name,
    asked for no record, raises PermissionDenied.
    """
    rule = RULES[action]
    role = None if actor is None else actor.role
    if role in rule.anyone:
        return ANY
    own = getattr(actor, rule.owner) if role in rule.own else None
    if own is not None and customer_id in (None, own):
        return OWN
    if customer_id is not None and (actor is None or role in rule.own):
        # someone else's record (to no one at all, every record is): as if it did not exist
        raise NotFound(entity or "customer", customer_id if key is None else key)
    raise PermissionDenied(rule.refusal or f"{action.replace('_', ' ')} needs another role")
