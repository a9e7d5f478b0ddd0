"""Accounts: logins with lockout, sessions, registration, user management, profiles, erasure.

Every dashboard request and handler call looks its session up again with
`actor_for_session(token)` (crpm/ui/auth.py, crpm/ui/session.py `acting_user`), so a
deactivated or erased user, or one whose password or role changed, is refused at once even when
the browser still holds an old session. The login page calls `login`, which opens that session.
`authenticate` and `actor_for` (by login name, no session) serve tests and bench scripts.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from crpm.clock import TIME_FORMAT
from crpm.errors import Conflict, NotFound, PermissionDenied, ValidationError
from crpm.models import (
    CUSTOMER_FIELDS,
    AsDict,
    Page,
    clean_customer_fields,
    clean_email,
    is_digits,
    parse_id,
)
from crpm.permissions import ROLES, Actor, ensure, registering
from crpm.services import audit
from crpm.services.customers import CustomerService
from crpm.services.erasure import ErasureService
from crpm.services.passwords import PasswordHasher, weakness
from crpm.services.search import clamp_page
from crpm.services.sqlparts import Where, assignments, read_page

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
# Per client address: failed logins and registrations in a window of ADDRESS_BLOCK_MINUTES;
# at ADDRESS_MAX_ATTEMPTS the address is refused for ADDRESS_BLOCK_MINUTES.
ADDRESS_MAX_ATTEMPTS = 20
ADDRESS_BLOCK_MINUTES = 15
LOCAL_ADDRESS = "local"  # callers without a network address: the CLI, scripts, tests
TOO_MANY = "too many attempts from your address; try again in 15 minutes"
SESSION_HOURS = 12
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
ADMIN_USERNAME = "admin"
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{2,63}$")
ANONYMOUS = Actor("anonymous", "customer")
NOT_LOGGED_IN = "this login is not valid any more; please log in again"

USER_COLUMNS = (
    "u.id, u.username, u.role, u.customer_id, u.active, u.created_at, u.last_login_at,"
    " u.failed_logins, u.locked_until, u.password_changed_at"
)
ACTOR_SQL = (
    "SELECT u.id, u.username, u.role, u.customer_id, u.active, u.locked_until,"
    " c.status AS customer_status FROM users u LEFT JOIN customers c ON c.id = u.customer_id"
)
LOGIN_SQL = (
    "SELECT u.id, u.username, u.password_hash, u.active, u.locked_until, u.credential_version,"
    " c.status AS customer_status FROM users u LEFT JOIN customers c ON c.id = u.customer_id"
    " WHERE u.username = ?"
)


@dataclass(frozen=True)
class User(AsDict):
    """A login as admins see it; the password hash never leaves the store."""

    id: int
    username: str
    role: str
    customer_id: int | None
    active: bool
    created_at: str
    last_login_at: str | None
    failed_logins: int
    locked_until: str | None
    password_changed_at: str
    locked: bool = False  # locked_until is still ahead of the store's clock

    @classmethod
    def from_row(cls, row, now: str) -> User:
        fields = {**dict(row), "active": bool(row["active"])}
        return cls(**fields, locked=bool(row["locked_until"] and row["locked_until"] > now))


def _token_hash(token: str) -> str:
    return hashlib.sha256(str(token or "").encode("utf-8")).hexdigest()


def _usable(row, now: str) -> bool:
    """An account that may act: active, its customer record not erased. A lock does not end
    open sessions: strangers' guesses cause it, and it only holds against failing addresses."""
    return bool(row and row["active"] and row["customer_status"] != "erased")


def _locked(row, now: str) -> bool:
    return bool(row["locked_until"] and row["locked_until"] > now)


def _address(address) -> str:
    return str(address or "").strip()[:64] or LOCAL_ADDRESS


def _window_open(row, now: str) -> bool:
    window_end = datetime.strptime(row["window_start"], TIME_FORMAT) + timedelta(
        minutes=ADDRESS_BLOCK_MINUTES
    )
    return now < window_end.strftime(TIME_FORMAT)


def _failing(attempts, now: str) -> bool:
    """The address has failed within the current window."""
    return bool(attempts and attempts["attempts"] and _window_open(attempts, now))


def _blocked(attempts, now: str) -> bool:
    return bool(attempts and attempts["blocked_until"] and attempts["blocked_until"] > now)


def _actor(row) -> Actor:
    return Actor(
        username=row["username"],
        role=row["role"],
        customer_id=row["customer_id"],
        user_id=row["id"],
    )


def check_password(password, *not_equal_to: str, field: str = "password") -> str:
    """The password policy: 10 to 1024 characters, not the e-mail or login name, not easy to
    guess (passwords.weakness: a list of common passwords and a variety check)."""
    if not isinstance(password, str) or not password.strip():
        raise ValidationError(field, "is required")
    if len(password) < MIN_PASSWORD:
        raise ValidationError(field, f"must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValidationError(field, f"must be at most {MAX_PASSWORD} characters")
    for text in not_equal_to:
        if text and password.strip().casefold() in (text.casefold(), text.split("@")[0].casefold()):
            raise ValidationError(field, "must not be your e-mail address or login name")
    reason = weakness(password)
    if reason:
        raise ValidationError(field, reason)
    return password


def clean_username(value) -> str:
    text = str(value or "").strip()
    if not USERNAME_RE.match(text):
        raise ValidationError(
            "username", "use 3 to 64 letters, digits or . _ @ + - (starting with a letter or digit)"
        )
    return text


class AccountService:
    def __init__(
        self, store, hasher: PasswordHasher | None = None, customers: CustomerService | None = None
    ):
        self.store = store
        self.hasher = hasher or PasswordHasher()
        self.customers = customers or CustomerService(store)  # registration and profiles

    # --- logging in ---------------------------------------------------------------

    def authenticate(self, username, password, address=None) -> bool:
        """Check a password without opening a session (tests, scripts); records the login or the
        failure like `login` (see `_login`)."""
        return self._login(username, password, _address(address)) is not None

    def actor_for(self, username) -> Actor:
        """The acting user of a login name; refused if inactive or erased (tests, scripts)."""
        row = self.store.query_one(f"{ACTOR_SQL} WHERE u.username = ?", (str(username or ""),))
        if not _usable(row, self.store.clock.stamp()):
            raise PermissionDenied(NOT_LOGGED_IN)
        return _actor(row)

    def login(self, username, password, address=None) -> str | None:
        """Check the password and open a server-side session; returns its token, or None.
        `address` is the client's network address (None: a local caller)."""
        row = self._login(username, password, _address(address))
        if row is None:
            return None
        token = secrets.token_urlsafe(32)
        now = self.store.clock.stamp()
        with self.store.write() as conn:
            conn.execute(
                "DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?", (row["id"], now)
            )
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, credential_version, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?)",
                (
                    _token_hash(token),
                    row["id"],
                    row["credential_version"],
                    now,
                    self.store.clock.stamp(after=timedelta(hours=SESSION_HOURS)),
                ),
            )
        return token

    def actor_for_session(self, token) -> Actor:
        """The acting user of a session token; refused once the password, role or status changed."""
        row = self.store.query_one(
            f"{ACTOR_SQL} JOIN sessions s ON s.user_id = u.id WHERE s.token_hash = ?"
            " AND s.expires_at > ? AND s.credential_version = u.credential_version",
            (_token_hash(token), self.store.clock.stamp()),
        )
        if not _usable(row, self.store.clock.stamp()):
            raise PermissionDenied(NOT_LOGGED_IN)
        return _actor(row)

    def logout(self, token) -> None:
        with self.store.write() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))

    def _login(self, username, password, address: str):
        """The account row of a right password, else None. Refused without a look at the
        password: an address with too many attempts, or a locked account asked from an address
        that is failing. Every refusal pays for one hash, so timing tells nothing."""
        username = str(username or "").strip()
        password = password if isinstance(password, str) else ""
        now = self.store.clock.stamp()
        attempts = self._address_row(address)
        if _blocked(attempts, now):
            self.hasher.verify(password, None)
            self._audit(ANONYMOUS, "login_refused", None, {"reason": "address", "address": address})
            return None
        row = self.store.query_one(LOGIN_SQL, (username,)) if username else None
        if row is None:
            self.hasher.verify(password, None)  # the same time as for a real account
            self._audit(ANONYMOUS, "login_failed", None, {"reason": "unknown"})
        elif not _usable(row, now) or (_locked(row, now) and _failing(attempts, now)):
            # Pay for the hash all the same: a quick refusal would tell that the account exists.
            self.hasher.verify(password, row["password_hash"])
            reason = "inactive" if not _usable(row, now) else "locked"
            self._audit(
                Actor(row["username"], "customer"),
                "login_refused",
                row["id"],
                {"reason": reason, "locked_until": row["locked_until"]},
            )
        elif not self.hasher.verify(password, row["password_hash"]):
            self._record_failure(row["id"], row["username"])
        elif self._record_success(row["id"], row["username"]):
            return row
        self._count_attempt(address)
        return None

    def _record_failure(self, user_id: int, username: str) -> None:
        with self.store.write() as conn:
            row = conn.execute(
                "SELECT failed_logins, locked_until FROM users WHERE id = ?", (user_id,)
            ).fetchone()
            if row is None:
                return
            now = conn.clock.stamp()
            if row["locked_until"] and row["locked_until"] > now:
                return  # a parallel attempt locked it already
            failures = (0 if row["locked_until"] else row["failed_logins"]) + 1
            locked_until = None
            if failures >= MAX_FAILED_LOGINS:
                locked_until = conn.clock.stamp(after=timedelta(minutes=LOCK_MINUTES))
            conn.execute(
                "UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?",
                (failures, locked_until, user_id),
            )
            audit.record(
                conn,
                Actor(username, "customer"),
                "login_failed",
                "user",
                user_id,
                after={"failed_logins": failures, "locked_until": locked_until},
            )

    # --- attempts per client address ----------------------------------------------------

    def _address_row(self, address: str):
        return self.store.query_one(
            "SELECT attempts, window_start, blocked_until FROM address_attempts WHERE address = ?",
            (address,),
        )

    def _count_attempt(self, address: str) -> None:
        """One more failed login or registration from `address`: a new window once the last
        one is over; at ADDRESS_MAX_ATTEMPTS the address is refused for a while."""
        with self.store.write() as conn:
            now = conn.clock.stamp()
            row = conn.execute(
                "SELECT attempts, window_start, blocked_until FROM address_attempts"
                " WHERE address = ?",
                (address,),
            ).fetchone()
            attempts = row["attempts"] + 1 if _failing(row, now) else 1
            start = row["window_start"] if attempts > 1 else now
            blocked = row["blocked_until"] if row and _blocked(row, now) else None
            if attempts >= ADDRESS_MAX_ATTEMPTS and blocked is None:
                blocked = conn.clock.stamp(after=timedelta(minutes=ADDRESS_BLOCK_MINUTES))
            conn.execute(  # an upsert both engines run (SQLite has no REPLACE on PostgreSQL)
                "INSERT INTO address_attempts (address, attempts, window_start, blocked_until)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (address) DO UPDATE SET"
                " attempts = excluded.attempts, window_start = excluded.window_start,"
                " blocked_until = excluded.blocked_until",
                (address, attempts, start, blocked),
            )

    def _record_success(self, user_id: int, username: str) -> bool:
        with self.store.write() as conn:
            row = conn.execute(f"{ACTOR_SQL} WHERE u.id = ?", (user_id,)).fetchone()
            if not _usable(row, conn.clock.stamp()):
                return False
            conn.execute(
                "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ?"
                " WHERE id = ?",
                (conn.clock.stamp(), user_id),
            )
            audit.record(conn, Actor(username, row["role"]), "login", "user", user_id)
        return True

    def _audit(self, actor: Actor, action: str, user_id, after: dict) -> None:
        with self.store.write() as conn:
            audit.record(conn, actor, action, "user", user_id, after=after)

    # --- registration and first run -----------------------------------------------

    def register_customer(self, name, email, password, phone="", address=None) -> Actor | None:
        """A customer record and its login, in one transaction; None when the e-mail is taken.

        Every other field is checked first, with its own message. An e-mail that already
        belongs to a customer or a login is not refused: nothing is written and the answer is
        None, after the password has been hashed, so that neither a message nor the time tells
        an existing address apart (the dashboard answers both cases with one neutral page).
        """
        address = _address(address)
        if _blocked(self._address_row(address), self.store.clock.stamp()):
            raise PermissionDenied(TOO_MANY)
        values = clean_customer_fields({"name": name, "email": email, "phone": phone})
        check_password(password, values["email"], str(email or "").strip())
        password_hash = self.hasher.hash(password)
        self._count_attempt(address)  # each registration, new or not: probing costs the same
        with self.store.write() as conn:
            taken = conn.execute(
                "SELECT 1 FROM customers WHERE email = ?1 UNION ALL"
                " SELECT 1 FROM users WHERE username = ?1",
                (values["email"],),
            ).fetchone()
            if taken:
                return None
            registrant = registering(values["email"])
            customer = self.customers.add(registrant, **values)
            user_id = self._insert_user(
                conn, registrant, values["email"], password_hash, "customer", customer.id
            )
        return Actor(values["email"], "customer", customer_id=customer.id, user_id=user_id)

    def ensure_admin(self, password: str | None = None, source: str = "password") -> str | None:
        """First run: create `admin` if no admin exists. Returns the password only if generated.

        The password is the argument (app.py passes CRPM_ADMIN_PASSWORD; `source` names where it
        came from in a refusal), else generated; the caller prints a generated one once, with
        the login name.
        """
        if self.store.query_one("SELECT 1 FROM users WHERE role = 'admin'"):
            return None
        given = password or None
        chosen = given or secrets.token_urlsafe(15)
        check_password(chosen, ADMIN_USERNAME, field=source)
        password_hash = self.hasher.hash(chosen)
        with self.store.write() as conn:
            if conn.execute("SELECT 1 FROM users WHERE role = 'admin'").fetchone():
                return None
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (ADMIN_USERNAME,)).fetchone():
                raise Conflict(
                    "username",
                    "'admin' belongs to a non-admin account; add an admin"
                    " with: python -m crpm user add NAME --role admin",
                )
            self._insert_user(
                conn, Actor("system", "admin"), ADMIN_USERNAME, password_hash, "admin", None
            )
        return None if given else chosen

    def _insert_user(
        self,
        conn,
        actor: Actor,
        username: str,
        password_hash: str,
        role: str,
        customer_id: int | None,
    ) -> int:
        now = conn.clock.stamp()
        user_id = conn.execute(
            "INSERT INTO users (username, password_hash, role, customer_id, created_at,"
            " password_changed_at) VALUES (?, ?, ?, ?, ?, ?)",
            (username, password_hash, role, customer_id, now, now),
        ).lastrowid
        audit.record(
            conn,
            actor,
            "create",
            "user",
            user_id,
            after={"username": username, "role": role, "customer_id": customer_id},
        )
        return user_id

    # --- for invitations (crpm/services/invitations.py) ---------------------------

    def check_address(self, address) -> str:
        """The caller's address as attempts are counted; refused while it has too many."""
        address = _address(address)
        if _blocked(self._address_row(address), self.store.clock.stamp()):
            raise PermissionDenied(TOO_MANY)
        return address

    def count_failed_attempt(self, address: str) -> None:
        """One more failed attempt from the address, as a failed login counts."""
        self._count_attempt(address)

    def insert_customer_login(
        self, conn, actor: Actor, customer_id: int, email: str, password_hash: str
    ) -> int:
        """A customer's login (their e-mail), inside the caller's transaction."""
        return self._insert_user(conn, actor, email, password_hash, "customer", customer_id)

    # --- passwords ----------------------------------------------------------------

    def change_password(self, actor: Actor, old_password, new_password) -> None:
        """Change one's own password; every session opened before is closed."""
        ensure(actor, "own_account")
        row = self.store.query_one("SELECT password_hash FROM users WHERE id = ?", (actor.user_id,))
        if row is None or not self.hasher.verify(str(old_password or ""), row["password_hash"]):
            raise ValidationError("old password", "is not right")
        check_password(new_password, actor.username, field="new password")
        if new_password == old_password:
            raise ValidationError("new password", "must differ from the old one")
        self._store_password(actor, actor.user_id, new_password)

    def set_password(self, actor: Actor, user, new_password) -> User:
        """An admin sets another user's password (a reset); the user's sessions are closed."""
        ensure(actor, "admin")
        target = self.get_user(actor, user)
        check_password(new_password, target.username, field="new password")
        self._store_password(actor, target.id, new_password)
        return self.get_user(actor, target.id)

    def _store_password(self, actor: Actor, user_id: int, password: str) -> None:
        password_hash = self.hasher.hash(password)
        with self.store.write() as conn:
            self._change(
                conn,
                actor,
                user_id,
                "password_change",
                password_hash=password_hash,
                password_changed_at=conn.clock.stamp(),
                failed_logins=0,
                locked_until=None,
            )

    # --- user management (admin) --------------------------------------------------

    def create_user(
        self, actor: Actor, username, password, role: str = "staff", customer_id=None
    ) -> User:
        """An admin adds a staff or admin login, or a login for an existing customer record."""
        ensure(actor, "admin")
        role = self._clean_role(role)
        if role == "customer":
            customer_id = parse_id(customer_id, "customer")
            username = self._customer_login_name(customer_id, username)
        else:
            username, customer_id = clean_username(username), None
        check_password(password, username)
        password_hash = self.hasher.hash(password)
        with self.store.write() as conn:
            has_login = conn.execute(
                "SELECT 1 FROM users WHERE customer_id = ?", (customer_id,)
            ).fetchone()
            if customer_id and has_login:
                raise Conflict("customer", f"customer #{customer_id} already has a login")
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise Conflict("username", f"{username!r} is already taken")
            user_id = self._insert_user(conn, actor, username, password_hash, role, customer_id)
        return self.get_user(actor, user_id)

    def _customer_login_name(self, customer_id: int, username) -> str:
        row = self.store.query_one(
            "SELECT email, status FROM customers WHERE id = ?", (customer_id,)
        )
        if row is None or row["status"] == "erased":
            raise NotFound("customer", customer_id)
        if username and clean_email(username).casefold() != row["email"].casefold():
            raise ValidationError("username", "a customer logs in with the customer's e-mail")
        return row["email"]

    def set_role(self, actor: Actor, user, role: str) -> User:
        ensure(actor, "admin")
        role = self._clean_role(role)
        target = self._target(actor, user)
        if (target.role == "customer") != (role == "customer"):
            raise Conflict(
                "role",
                "a customer login cannot become staff or the other way round;"
                " create a separate account",
            )
        with self.store.write() as conn:
            if target.role == "admin" and role != "admin":
                self._keep_an_admin(conn, target.id)
            self._change(conn, actor, target.id, "role_change", role=role)
        return self.get_user(actor, target.id)

    def deactivate_user(self, actor: Actor, user) -> User:
        ensure(actor, "admin")
        target = self._target(actor, user)
        with self.store.write() as conn:
            if target.role == "admin":
                self._keep_an_admin(conn, target.id)
            self._change(conn, actor, target.id, "deactivate", active=0)
        return self.get_user(actor, target.id)

    def reactivate_user(self, actor: Actor, user) -> User:
        ensure(actor, "admin")
        target = self._target(actor, user)
        with self.store.write() as conn:
            self._change(conn, actor, target.id, "reactivate", active=1)
        return self.get_user(actor, target.id)

    def unlock_user(self, actor: Actor, user) -> User:
        """Lift a lockout before its 15 minutes are up."""
        ensure(actor, "admin")
        target = self.get_user(actor, user)
        with self.store.write() as conn:
            self._change(conn, actor, target.id, "unlock", failed_logins=0, locked_until=None)
        return self.get_user(actor, target.id)

    def get_user(self, actor: Actor, user) -> User:
        """`user` is a user id (int) or a username (str)."""
        ensure(actor, "admin")
        if isinstance(user, str) and not is_digits(user.strip()):
            row = self.store.query_one(
                f"SELECT {USER_COLUMNS} FROM users u WHERE u.username = ?", (user.strip(),)
            )
            key = user
        else:
            key = parse_id(user, "user")
            row = self.store.query_one(f"SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?", (key,))
        if row is None:
            raise NotFound("user", key)
        return User.from_row(row, self.store.clock.stamp())

    def list_users(
        self,
        actor: Actor,
        role: str | None = None,
        active: bool | None = None,
        search: str = "",
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """Users in id order, optionally by role, active flag and a part of the username."""
        ensure(actor, "admin")
        limit, offset = clamp_page(limit, offset)
        where = Where()
        if role not in (None, "", "all"):
            where.add("u.role = :role", role=self._clean_role(role))
        if active is not None:
            where.add("u.active = :active", active=int(bool(active)))
        if search:
            where.add("instr(lower(u.username), lower(:search)) > 0", search=str(search).strip())
        select = f"SELECT {USER_COLUMNS} FROM users u"
        rows, total = read_page(self.store, select, "users u", where, "u.id", limit, offset)
        now = self.store.clock.stamp()
        users = [User.from_row(row, now) for row in rows]
        return Page(users, total, limit, offset)

    def staff_users(self, actor: Actor) -> list[User]:
        """Active staff and admins, for choosing a ticket's assignee."""
        ensure(actor, "service_desk_staff")
        rows = self.store.query(
            f"SELECT {USER_COLUMNS} FROM users u WHERE u.role IN ('admin', 'staff')"
            " AND u.active = 1 ORDER BY u.username"
        )
        now = self.store.clock.stamp()
        return [User.from_row(row, now) for row in rows]

    def erase_person(self, actor: Actor, customer_id=None, user=None) -> dict:
        """Delete a person entirely (design: Erasure); sales stay with an anonymised customer.

        Give the customer id, or the user (id or username); a customer's login goes with the
        customer and the other way round. Returns what was erased, as the audit row records it.
        """
        ensure(actor, "admin")
        if customer_id in (None, "") and user in (None, ""):
            raise ValidationError("customer", "name the customer or the user to erase")
        target = None if user in (None, "") else self.get_user(actor, user)
        if target is not None and target.id == actor.user_id:
            raise Conflict("user", "you cannot erase your own account")
        if target is not None and target.role == "admin":
            with self.store.read() as conn:
                self._keep_an_admin(conn, target.id)
        customer_id = None if customer_id in (None, "") else parse_id(customer_id, "customer")
        return ErasureService(self.store).erase(actor, customer_id, target.id if target else None)

    def _target(self, actor: Actor, user) -> User:
        """A user an admin may change: not their own account (no locking oneself out)."""
        target = self.get_user(actor, user)
        if target.id == actor.user_id:
            raise Conflict("user", "you cannot change your own role or status")
        return target

    def _keep_an_admin(self, conn, leaving_id: int) -> None:
        others = conn.execute(
            "SELECT count(*) FROM users WHERE role = 'admin' AND active = 1 AND id <> ?",
            (leaving_id,),
        ).fetchone()[0]
        if not others:
            raise Conflict("role", "this is the last active admin; make another admin first")

    def _change(self, conn, actor: Actor, user_id: int, action: str, **changes) -> None:
        """Update a user's columns with an audit row; secrets are audited by name only.

        Any change bumps the credential version, which closes the user's sessions.
        """
        before = dict(
            conn.execute(
                "SELECT role, active, failed_logins, locked_until FROM users WHERE id = ?",
                (user_id,),
            ).fetchone()
        )
        conn.execute(
            f"UPDATE users SET {assignments(changes)}, credential_version = credential_version + 1"
            " WHERE id = :user_id",
            {**changes, "user_id": user_id},
        )
        shown = {key: value for key, value in changes.items() if key in before}
        if "password_hash" in changes:
            shown["password"] = "changed"
        audit.record(
            conn, actor, action, "user", user_id, {key: before.get(key) for key in shown}, shown
        )

    @staticmethod
    def _clean_role(role) -> str:
        if role not in ROLES:
            raise ValidationError("role", f"must be one of {', '.join(ROLES)}")
        return role

    # --- own profile ----------------------------------------------------------------

    def profile(self, actor: Actor) -> dict:
        """The acting user's own details: login, role and, for a customer, the contact fields."""
        ensure(actor, "own_account")
        details = {"username": actor.username, "role": actor.role}
        if actor.customer_id is None:
            return details
        row = _own_customer(self.store.conn, actor)
        shown = [name for name in CUSTOMER_FIELDS if name != "notes"]  # notes are staff's own
        return {
            **details,
            "customer_id": row["id"],
            **{name: row[name] for name in shown},
            "status": row["status"],
            "created_at": row["created_at"],
        }

    def update_profile(self, actor: Actor, **fields) -> dict:
        """A customer changes their own contact details, through the customer service (which
        decides the fields: not the e-mail, it is the login name)."""
        ensure(actor, "own_records")
        with self.store.write() as conn:
            _own_customer(conn, actor)
            self.customers.update(actor, actor.customer_id, **fields)
        return self.profile(actor)


def _own_customer(conn, actor: Actor):
    """The customer record of a customer's login; once erased, the login is not valid."""
    row = conn.execute(
        "SELECT * FROM customers WHERE id = ? AND status <> 'erased'", (actor.customer_id,)
    ).fetchone()
    if row is None:
        raise PermissionDenied(NOT_LOGGED_IN)
    return row
