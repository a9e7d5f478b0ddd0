"""Portal invitations: staff invite a customer who has no login yet; the customer sets a
password through a one-time link and logs in with their e-mail from then on.

The link carries a random token; the store keeps only its SHA-256, as it does for sessions. An
invitation is good once, until INVITATION_DAYS after it was made (the store's clock); a new one
for the same customer replaces the open one. Every link that cannot be used (unknown, expired,
used, replaced, its customer inactive, erased or given a login meanwhile) gets the same answer,
`InvalidInvitation`, and counts against the caller's address as a failed login does
(crpm/services/accounts.py), so guessing tokens is throttled like guessing passwords.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from crpm.errors import Conflict, NotFound
from crpm.models import parse_id
from crpm.permissions import Actor, ensure
from crpm.services import audit
from crpm.services.accounts import check_password

INVITATION_DAYS = 7
TOKEN_BYTES = 32
UNUSABLE = (
    "this link has expired, was used already, or a newer invitation replaced it;"
    " ask the shop for a new invitation"
)
# An open invitation of an active customer who has no login, and whose e-mail is no login name.
OPEN_SQL = (
    "SELECT i.id, i.customer_id, i.expires_at, c.name, c.email FROM invitations i"
    " JOIN customers c ON c.id = i.customer_id"
    " WHERE i.token_hash = ? AND i.used_at IS NULL AND i.expires_at > ? AND c.status = 'active'"
    " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.customer_id = c.id OR u.username = c.email)"
)


class InvalidInvitation(Conflict):
    """The one answer to a link that cannot be used, whatever the reason."""

    def __init__(self):
        super().__init__("invitation", UNUSABLE)


@dataclass(frozen=True)
class Invitation:
    """An open invitation. `token` is known only to the call that made it: the store keeps its
    hash."""

    id: int
    customer_id: int
    name: str
    email: str
    expires_at: str
    token: str = ""


def token_hash(token) -> str:
    return hashlib.sha256(str(token or "").encode("utf-8")).hexdigest()


class InvitationService:
    def __init__(self, store, accounts):
        self.store = store
        self.accounts = accounts

    def invite(self, actor: Actor, customer_id) -> Invitation:
        """A new invitation for a customer without a login; replaces their open one."""
        ensure(actor, "manage_records")
        customer_id = parse_id(customer_id, "customer")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.store.write() as conn:
            customer = self._invitable(conn, customer_id)
            replaced = conn.execute(
                "DELETE FROM invitations WHERE customer_id = ? AND used_at IS NULL", (customer_id,)
            ).rowcount
            expires_at = conn.clock.stamp(after=timedelta(days=INVITATION_DAYS))
            invitation_id = conn.execute(
                "INSERT INTO invitations (customer_id, token_hash, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (customer_id, token_hash(token), conn.clock.stamp(), expires_at),
            ).lastrowid
            after = {"invitation": invitation_id, "expires_at": expires_at, "replaced": replaced}
            audit.record(conn, actor, "invite", "customer", customer_id, after=after)
        return Invitation(
            invitation_id, customer_id, customer["name"], customer["email"], expires_at, token
        )

    @staticmethod
    def _invitable(conn, customer_id: int):
        customer = conn.execute(
            "SELECT id, name, email, status FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        if customer is None or customer["status"] == "erased":
            raise NotFound("customer", customer_id)
        if customer["status"] != "active":
            raise Conflict(
                "customer", f"customer #{customer_id} is inactive; reactivate them first"
            )
        login = conn.execute(
            "SELECT username, customer_id FROM users WHERE customer_id = ?1 OR username = ?2",
            (customer_id, customer["email"]),
        ).fetchone()
        if login and login["customer_id"] == customer_id:
            raise Conflict(
                "customer",
                f"customer #{customer_id} already has a login: they log in as {login['username']}",
            )
        if login:
            raise Conflict(
                "customer",
                f"{customer['email']} is already another account's login name;"
                " give the customer another e-mail first",
            )
        return customer

    def open_invitation(self, token, address=None) -> Invitation:
        """The open invitation a link carries (for the page that asks for a password), or
        InvalidInvitation; `address` is the client's, counted and refused as for logins."""
        address = self.accounts.check_address(address)
        row = self.store.query_one(OPEN_SQL, (token_hash(token), self.store.clock.stamp()))
        if row is None:
            self.accounts.count_failed_attempt(address)
            raise InvalidInvitation()
        return Invitation(**dict(row))

    def redeem(self, token, password, address=None) -> Actor:
        """Use the link: the customer's login (their e-mail) with this password, and the
        invitation is spent. A refused password leaves the link usable."""
        invitation = self.open_invitation(token, address)
        check_password(password, invitation.email)
        password_hash = self.accounts.hasher.hash(password)
        with self.store.write() as conn:
            row = conn.execute(OPEN_SQL, (token_hash(token), conn.clock.stamp())).fetchone()
            if row is None or row["email"] != invitation.email:
                raise InvalidInvitation()  # used, replaced or changed while the hash was made
            actor = Actor(row["email"], "customer", customer_id=row["customer_id"])
            user_id = self.accounts.insert_customer_login(
                conn, actor, row["customer_id"], row["email"], password_hash
            )
            conn.execute(
                "UPDATE invitations SET used_at = ?, user_id = ? WHERE id = ?",
                (conn.clock.stamp(), user_id, row["id"]),
            )
            used = {"invitation": row["id"], "user_id": user_id}
            audit.record(
                conn, actor, "accept_invitation", "customer", row["customer_id"], after=used
            )
        return Actor(row["email"], "customer", customer_id=row["customer_id"], user_id=user_id)
