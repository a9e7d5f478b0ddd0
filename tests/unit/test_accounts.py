"""Accounts: passwords, registration, login and lockout, sessions, admin user management."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from crpm.config import Settings
from crpm.errors import Conflict, NotFound, PermissionDenied, ValidationError
from crpm.permissions import SYSTEM
from crpm.services import open_services, passwords
from crpm.services.accounts import (
    ADDRESS_BLOCK_MINUTES,
    ADDRESS_MAX_ATTEMPTS,
    LOCK_MINUTES,
    MAX_FAILED_LOGINS,
    SESSION_HOURS,
    check_password,
)
from crpm.services.passwords import PasswordHasher
from tests.support import store_snapshot

pytestmark = pytest.mark.usefixtures("cheap_passwords")
PASSWORD = "a-Long-enough-1"


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


def user_row(services, username):
    return services.store.query_one("SELECT * FROM users WHERE username = ?", (username,))


def audit_actions(services, user_id):
    rows = services.store.query(
        "SELECT action FROM audit_log WHERE entity = 'user' AND entity_id = ? ORDER BY id",
        (user_id,),
    )
    return [row[0] for row in rows]


def fail_logins(services, username, times):
    for _ in range(times):
        assert services.accounts.authenticate(username, "not-the-password") is False


# --- passwords ---------------------------------------------------------------------


def test_hash_is_salted_scrypt_with_its_parameters_and_checks_in_constant_time():
    hasher = PasswordHasher(n=1024)
    first, second = hasher.hash(PASSWORD), hasher.hash(PASSWORD)
    scheme, n, r, p, salt, digest = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", "1024", "8", "1")
    assert first != second  # a random salt per password
    assert PASSWORD not in first
    assert hasher.verify(PASSWORD, first) and hasher.verify(PASSWORD, second)
    assert not hasher.verify(PASSWORD + "x", first)
    assert not hasher.verify(PASSWORD, "scrypt$garbage")
    # a hash made with other parameters still verifies: they travel with the hash
    assert PasswordHasher(n=2048).verify(PASSWORD, first)


def test_default_cost_is_the_production_one_and_env_lowers_it(monkeypatch, tmp_path):
    monkeypatch.delenv("CRPM_SCRYPT_N", raising=False)
    assert PasswordHasher().n == 2**14
    assert open_services(tmp_path / "default.db").accounts.hasher.n == 2**14
    monkeypatch.setenv("CRPM_SCRYPT_N", "512")
    assert open_services(tmp_path / "cheap.db").accounts.hasher.n == 512
    with pytest.raises(ValidationError):
        PasswordHasher(n=1000)


# --- registration ------------------------------------------------------------------


def test_register_creates_customer_and_login_together(services):
    actor = services.accounts.register_customer("Ann Lee", "Ann@Example.com", PASSWORD, "555 1234")
    customer = services.customers.get(SYSTEM, actor.customer_id)
    assert (customer.name, customer.email, customer.phone) == (
        "Ann Lee",
        actor.username,
        "555 1234",
    )
    row = user_row(services, "ann@example.com")
    assert (row["role"], row["customer_id"], row["active"]) == ("customer", customer.id, 1)
    assert row["password_hash"].startswith("scrypt$")
    assert actor.role == "customer" and actor.user_id == row["id"]
    assert services.accounts.authenticate("ANN@example.com", PASSWORD)
    # the audit rows of the sign-up name the new customer, who wrote both records
    audited = services.store.query(
        "SELECT actor, action, entity, entity_id FROM audit_log ORDER BY id"
    )
    assert [tuple(row) for row in audited][:2] == [
        (actor.username, "create", "customer", customer.id),
        (actor.username, "create", "user", row["id"]),
    ]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pw1", "at least 10"),
        ("ann@example.com", "e-mail"),
        ("ANN@EXAMPLE.COM", "e-mail"),
        ("ann", "at least 10"),
        ("          ", "required"),
        (None, "required"),
    ],
)
def test_register_refuses_weak_passwords_and_changes_nothing(services, refused, password, reason):
    with refused(ValidationError, match=reason):
        services.accounts.register_customer("Ann", "ann@example.com", password)


def test_register_refuses_bad_fields_with_their_own_message(services, refused):
    with refused(ValidationError, match="name"):
        services.accounts.register_customer("", "ann@example.com", PASSWORD)
    with refused(ValidationError, match="phone"):
        services.accounts.register_customer("Ann", "ann@example.com", PASSWORD, "call me")
    with refused(ValidationError, match="not a valid e-mail"):
        services.accounts.register_customer("Ann", "not-an-address", PASSWORD)


def test_registering_a_taken_email_answers_like_a_new_one_and_changes_nothing(services, refused):
    """Taken by a registered customer, a customer staff added, or a login: the same outcome as
    a new registration (no error, no message of its own), and nothing is written."""
    services.accounts.register_customer("Ann", "ann@example.com", PASSWORD)
    services.customers.add(SYSTEM, "Walk-in", "walkin@example.com")
    services.accounts.create_user(SYSTEM, "desk@example.com", PASSWORD + "z", "staff")
    before = store_snapshot(services.store, leave_out=("address_attempts",))
    for email in ("ANN@example.com", "walkin@example.com", "desk@example.com"):
        assert services.accounts.register_customer("Someone", email, "other-password-9") is None
    assert store_snapshot(services.store, leave_out=("address_attempts",)) == before
    # each try counts against the caller's address, as a new registration does
    assert services.store.query_one("SELECT attempts FROM address_attempts")[0] == 4
    # the existing customer was not taken over
    assert services.customers.get(SYSTEM, 2).name == "Walk-in"
    assert not services.accounts.authenticate("walkin@example.com", "other-password-9")
    # and a new address still registers
    fresh = services.accounts.register_customer("New", "new@example.com", "other-password-9")
    assert fresh.username == "new@example.com"
    assert services.accounts.authenticate("new@example.com", "other-password-9")


# --- login and lockout -------------------------------------------------------------


def test_login_records_last_login_and_audit_without_the_password(services, people, clock):
    assert services.accounts.authenticate("alice@example.com", "wrong-password!") is False
    row = user_row(services, "alice@example.com")
    assert row["failed_logins"] == 1 and row["last_login_at"] is None
    assert services.accounts.authenticate("Alice@Example.com", "alice-Secret-4d") is True
    row = user_row(services, "alice@example.com")
    assert row["failed_logins"] == 0 and row["last_login_at"] == clock.stamp()
    assert audit_actions(services, row["id"])[-2:] == ["login_failed", "login"]
    text = " ".join(str(tuple(r)) for r in services.store.query("SELECT * FROM audit_log"))
    assert "wrong-password!" not in text and "alice-Secret-4d" not in text


def test_unknown_user_is_refused_and_the_typed_name_is_not_logged(services, people):
    assert services.accounts.authenticate("alice-Secret-4d", "anything-at-all") is False
    assert services.accounts.authenticate("", "") is False
    assert services.accounts.authenticate(None, None) is False
    last = services.store.query_one("SELECT * FROM audit_log ORDER BY id DESC LIMIT 1")
    assert (last["action"], last["actor"], last["entity_id"]) == ("login_failed", "anonymous", None)
    everything = str([tuple(r) for r in services.store.query("SELECT * FROM audit_log")])
    assert "alice-Secret-4d" not in everything


@pytest.mark.any_day
def test_five_failures_lock_the_account_for_15_minutes_even_with_the_right_password(
    services, people, clock
):
    fail_logins(services, "bob@example.com", 4)
    assert services.accounts.actor_for("bob@example.com").customer_id == people.b.customer_id
    fail_logins(services, "bob@example.com", 1)
    row = user_row(services, "bob@example.com")
    assert row["failed_logins"] == 5
    assert row["locked_until"] == clock.stamp(after=timedelta(minutes=LOCK_MINUTES))
    assert services.accounts.authenticate("bob@example.com", "bob-Secret-5e") is False
    # the lock stops password guesses, not Bob's open sessions (strangers can cause it)
    assert services.accounts.actor_for("bob@example.com").customer_id == people.b.customer_id
    assert services.accounts.get_user(people.admin, "bob@example.com").locked
    assert audit_actions(services, row["id"])[-1] == "login_refused"
    # other accounts are untouched
    assert services.accounts.authenticate("alice@example.com", "alice-Secret-4d")


class CountingHasher(PasswordHasher):
    """The real hasher, counting how often a login pays for a hash."""

    def verify(self, password, encoded):
        object.__setattr__(self, "verified", getattr(self, "verified", 0) + 1)
        return super().verify(password, encoded)


@pytest.mark.parametrize("state", ["unknown", "wrong password", "locked", "inactive"])
def test_every_refused_login_costs_one_hash_so_timing_tells_nothing(services, people, state):
    fail_logins(services, "bob@example.com", 5 if state == "locked" else 0)
    if state == "inactive":
        services.accounts.deactivate_user(people.admin, "bob@example.com")
    hasher = CountingHasher(n=1024)
    accounts = type(services.accounts)(services.store, hasher=hasher)
    username = "nobody@example.com" if state == "unknown" else "bob@example.com"
    assert accounts.authenticate(username, "not-the-password") is False
    assert hasher.verified == 1


@pytest.mark.any_day
def test_lockout_survives_reopening_the_store(services, people, store_location, clock):
    fail_logins(services, "bob@example.com", 5)
    services.store.close()
    clock.advance(minutes=LOCK_MINUTES - 1)
    reopened = open_services(store_location, clock)
    try:
        assert reopened.accounts.authenticate("bob@example.com", "bob-Secret-5e") is False
        assert reopened.accounts.get_user(
            reopened.accounts.actor_for("admin"), "bob@example.com"
        ).locked
    finally:
        reopened.store.close()


@pytest.mark.any_day
def test_lock_ends_after_its_time_and_the_count_starts_again(services, people, clock):
    fail_logins(services, "bob@example.com", 5)
    clock.advance(minutes=LOCK_MINUTES, seconds=-1)
    assert services.accounts.authenticate("bob@example.com", "bob-Secret-5e") is False
    clock.advance(seconds=1)  # fifteen minutes have passed
    fail_logins(services, "bob@example.com", 1)
    row = user_row(services, "bob@example.com")
    assert (row["failed_logins"], row["locked_until"]) == (1, None)
    assert services.accounts.authenticate("bob@example.com", "bob-Secret-5e") is True
    assert user_row(services, "bob@example.com")["failed_logins"] == 0


def test_admin_can_unlock_early(services, people):
    fail_logins(services, "bob@example.com", 5)
    with pytest.raises(PermissionDenied):
        services.accounts.unlock_user(people.staff, "bob@example.com")
    assert not services.accounts.unlock_user(people.admin, "bob@example.com").locked
    assert services.accounts.authenticate("bob@example.com", "bob-Secret-5e") is True


def test_actor_for_refuses_unknown_and_inactive_users(services, people):
    actor = services.accounts.actor_for("ALICE@example.com")
    assert (actor.role, actor.customer_id, actor.user_id) == (
        "customer",
        people.a.customer_id,
        people.a.user_id,
    )
    assert services.accounts.actor_for("sam").role == "staff"
    for name in ("nobody", "", None):
        with pytest.raises(PermissionDenied):
            services.accounts.actor_for(name)
    services.accounts.deactivate_user(people.admin, "alice@example.com")
    with pytest.raises(PermissionDenied):
        services.accounts.actor_for("alice@example.com")
    assert services.accounts.authenticate("alice@example.com", "alice-Secret-4d") is False
    services.accounts.reactivate_user(people.admin, "alice@example.com")
    assert services.accounts.authenticate("alice@example.com", "alice-Secret-4d") is True


# --- first run ---------------------------------------------------------------------


def test_ensure_admin_generates_a_password_once(services, monkeypatch):
    monkeypatch.delenv("CRPM_ADMIN_PASSWORD", raising=False)
    generated = services.accounts.ensure_admin()
    assert generated and len(generated) >= 16
    assert services.accounts.authenticate("admin", generated)
    assert services.accounts.actor_for("admin").role == "admin"
    assert services.accounts.ensure_admin() is None
    assert services.store.query_one("SELECT count(*) FROM users")[0] == 1


def test_ensure_admin_takes_the_password_from_the_environment(services, monkeypatch, capsys):
    import app  # app.py reads the setting and passes it in

    monkeypatch.setenv("CRPM_ADMIN_PASSWORD", "short")
    with pytest.raises(ValidationError, match="CRPM_ADMIN_PASSWORD"):
        app.ensure_first_admin(services, Settings.from_env().admin_password)
    monkeypatch.setenv("CRPM_ADMIN_PASSWORD", "from-the-env-1")
    app.ensure_first_admin(services, Settings.from_env().admin_password)
    assert capsys.readouterr().out == ""  # no generated password to show
    assert services.accounts.authenticate("admin", "from-the-env-1")


# --- passwords: changing -----------------------------------------------------------


def test_change_own_password_needs_the_old_one(services, people, refused):
    accounts = services.accounts
    with refused(ValidationError, match="old password"):
        accounts.change_password(people.staff, "wrong-old-password", "brand-New-pass-1")
    with refused(ValidationError, match="at least 10"):
        accounts.change_password(people.staff, "staff-Secret-2b", "short")
    with refused(ValidationError, match="e-mail"):
        accounts.change_password(people.a, "alice-Secret-4d", "Alice@Example.com")
    accounts.change_password(people.staff, "staff-Secret-2b", "brand-New-pass-1")
    assert not accounts.authenticate("sam", "staff-Secret-2b")
    assert accounts.authenticate("sam", "brand-New-pass-1")
    accounts.change_password(people.a, "alice-Secret-4d", "alice-New-pass-2")
    assert accounts.authenticate("alice@example.com", "alice-New-pass-2")


def test_admin_resets_a_password_but_staff_cannot(services, people, refused):
    with refused(PermissionDenied):
        services.accounts.set_password(people.staff, "tess", "reset-by-staff-1")
    services.accounts.set_password(people.admin, "tess", "reset-by-admin-1")
    assert services.accounts.authenticate("tess", "reset-by-admin-1")


# --- sessions ----------------------------------------------------------------------


def test_sessions_end_on_logout_password_change_and_deactivation(services, people):
    accounts = services.accounts
    assert accounts.login("sam", "wrong-password-x") is None
    token = accounts.login("sam", "staff-Secret-2b")
    assert accounts.actor_for_session(token).username == "sam"
    stored = [row[0] for row in services.store.query("SELECT token_hash FROM sessions")]
    assert token not in stored and len(stored) == 1
    accounts.logout(token)
    with pytest.raises(PermissionDenied):
        accounts.actor_for_session(token)

    token = accounts.login("sam", "staff-Secret-2b")
    accounts.change_password(people.staff, "staff-Secret-2b", "brand-New-pass-1")
    with pytest.raises(PermissionDenied):
        accounts.actor_for_session(token)

    token = accounts.login("tess", "staff-Secret-3c")
    accounts.deactivate_user(people.admin, "tess")
    accounts.reactivate_user(people.admin, "tess")
    with pytest.raises(PermissionDenied):  # a new login is needed after reactivation
        accounts.actor_for_session(token)
    for bad in ("", None, "x" * 43):
        with pytest.raises(PermissionDenied):
            accounts.actor_for_session(bad)


def test_a_session_holds_on_every_process_and_ends_everywhere(
    services, people, store_location, clock
):
    """Two app processes on one store: a login made on one is valid on the other, and a logout,
    a deactivation or an erasure on either ends it on both at once."""
    other = open_services(store_location, clock)
    here, there = services.accounts, other.accounts
    logins = {
        "logout": ("sam", people.PASSWORDS["sam"]),
        "deactivation": ("tess", people.PASSWORDS["tess"]),
        "erasure": ("alice@example.com", people.PASSWORDS["alice@example.com"]),
    }
    tokens = {why: here.login(*login) for why, login in logins.items()}
    for token in tokens.values():
        assert there.actor_for_session(token).username == here.actor_for_session(token).username
    there.logout(tokens["logout"])
    there.deactivate_user(people.admin, "tess")
    there.erase_person(people.admin, customer_id=people.a.customer_id)
    for token in tokens.values():
        for accounts in (here, there):
            with pytest.raises(PermissionDenied):
                accounts.actor_for_session(token)
    other.store.close()


@pytest.mark.any_day
def test_a_session_lasts_its_hours_by_the_store_clock_and_not_a_second_more(
    services, people, clock
):
    token = services.accounts.login("sam", "staff-Secret-2b")
    clock.advance(hours=SESSION_HOURS, seconds=-1)
    assert services.accounts.actor_for_session(token).username == "sam"
    clock.advance(seconds=1)
    with pytest.raises(PermissionDenied):
        services.accounts.actor_for_session(token)
    # the expired session is cleared at the next login
    services.accounts.login("sam", "staff-Secret-2b")
    assert services.store.query_one("SELECT count(*) FROM sessions")[0] == 1


def test_role_change_takes_effect_on_the_next_call(services, people):
    token = services.accounts.login("tess", "staff-Secret-3c")
    services.accounts.set_role(people.admin, "tess", "admin")
    assert services.accounts.actor_for("tess").role == "admin"
    with pytest.raises(PermissionDenied):
        services.accounts.actor_for_session(token)


# --- user management ---------------------------------------------------------------


def test_only_admins_manage_users(services, people, refused):
    accounts = services.accounts
    for actor in (people.staff, people.a):
        with refused(PermissionDenied):
            accounts.create_user(actor, "newbie", PASSWORD, "staff")
        with refused(PermissionDenied):
            accounts.set_role(actor, "tess", "admin")
        with refused(PermissionDenied):
            accounts.deactivate_user(actor, "tess")
        with pytest.raises(PermissionDenied):
            accounts.list_users(actor)


def test_create_staff_and_refuse_duplicates_and_bad_names(services, people, refused):
    accounts = services.accounts
    user = accounts.create_user(people.admin, "Newbie", PASSWORD, "staff")
    assert (user.username, user.role, user.active, user.customer_id) == (
        "Newbie",
        "staff",
        True,
        None,
    )
    assert audit_actions(services, user.id) == ["create"]
    with refused(Conflict, match="taken"):
        accounts.create_user(people.admin, "NEWBIE", PASSWORD, "staff")
    with refused(ValidationError, match="username"):
        accounts.create_user(people.admin, "has space", PASSWORD, "staff")
    with refused(ValidationError, match="role"):
        accounts.create_user(people.admin, "other", PASSWORD, "superuser")


def test_admin_gives_an_existing_customer_a_login(services, people, shop):
    customer = shop.customer(email="walkin@example.com")
    user = services.accounts.create_user(people.admin, "", PASSWORD, "customer", customer.id)
    assert (user.username, user.customer_id) == ("walkin@example.com", customer.id)
    assert services.accounts.actor_for("walkin@example.com").customer_id == customer.id
    with pytest.raises(Conflict, match="already has a login"):
        services.accounts.create_user(
            people.admin, "walkin@example.com", PASSWORD, "customer", customer.id
        )


def test_roles_change_but_the_last_admin_stays(services, people, refused):
    accounts = services.accounts
    assert accounts.set_role(people.admin, "sam", "admin").role == "admin"
    assert audit_actions(services, people.staff.user_id)[-1] == "role_change"
    row = services.store.query_one(
        "SELECT before, after FROM audit_log WHERE action = 'role_change' ORDER BY id DESC"
    )
    assert '"staff"' in row["before"] and '"admin"' in row["after"]
    sam = accounts.actor_for("sam")
    accounts.set_role(sam, "admin", "staff")  # another admin remains: sam
    with refused(Conflict, match="own"):
        accounts.set_role(sam, "sam", "staff")
    with refused(Conflict, match="last active admin"):
        accounts.set_role(SYSTEM, "sam", "staff")
    with refused(Conflict, match="last active admin"):
        accounts.deactivate_user(SYSTEM, "sam")
    with refused(Conflict, match="customer login"):
        accounts.set_role(sam, "alice@example.com", "staff")


def test_list_users_is_paged_filtered_and_holds_no_hash(services, people):
    page = services.accounts.list_users(people.admin, limit=2)
    assert page.total == 5 and [user.username for user in page.items] == ["admin", "sam"]
    page = services.accounts.list_users(people.admin, limit=2, offset=4)
    assert [user.username for user in page.items] == ["bob@example.com"]
    customers = services.accounts.list_users(people.admin, role="customer")
    assert {user.username for user in customers.items} == {"alice@example.com", "bob@example.com"}
    assert services.accounts.list_users(people.admin, search="TES").items[0].username == "tess"
    services.accounts.deactivate_user(people.admin, "tess")
    assert services.accounts.list_users(people.admin, active=False).total == 1
    assert "password_hash" not in page.items[0].to_dict()
    with pytest.raises(NotFound):
        services.accounts.get_user(people.admin, "nobody")


def test_staff_users_lists_possible_assignees(services, people):
    names = [user.username for user in services.accounts.staff_users(people.staff)]
    assert names == ["admin", "sam", "tess"]
    with pytest.raises(PermissionDenied):
        services.accounts.staff_users(people.a)


# --- own profile -------------------------------------------------------------------


def test_customer_reads_and_updates_only_their_own_profile(services, people, refused):
    accounts = services.accounts
    services.customers.update(SYSTEM, people.a.customer_id, notes="pays late")
    profile = accounts.profile(people.a)
    assert (profile["name"], profile["email"], profile["phone"]) == (
        "Alice Able",
        "alice@example.com",
        "+1 555 0100",
    )
    assert "notes" not in profile  # staff's own notes stay with staff
    updated = accounts.update_profile(people.a, phone="+1 555 0111", city="Oslo")
    assert (updated["phone"], updated["city"]) == ("+1 555 0111", "Oslo")
    assert services.customers.get(SYSTEM, people.b.customer_id).phone == "+1 555 0199"
    assert (
        services.store.query_one(
            "SELECT action FROM audit_log WHERE entity = 'customer' AND entity_id = ?"
            " ORDER BY id DESC",
            (people.a.customer_id,),
        )[0]
        == "update"
    )
    with refused(ValidationError, match="email"):
        accounts.update_profile(people.a, email="evil@example.com")
    with refused(ValidationError, match="notes"):
        accounts.update_profile(people.a, notes="I am great")
    with refused(ValidationError, match="phone"):
        accounts.update_profile(people.a, phone="call me")
    with refused(PermissionDenied):
        accounts.update_profile(people.staff, phone="555 0000")
    assert accounts.profile(people.staff) == {"username": "sam", "role": "staff"}


# --- the plaintext never lands anywhere --------------------------------------------


def all_text(store) -> str:
    """Every text value of every table in the store (on SQLite, FTS shadow tables included)."""
    values = []
    for rows in store_snapshot(store).values():
        for row in rows:
            values += [value for value in row if isinstance(value, str)]
            values += [value.decode("latin-1") for value in row if isinstance(value, bytes)]
    return "\n".join(values)


def test_passwords_never_stored_outside_the_hash_column(services, people, shop):
    accounts = services.accounts
    accounts.authenticate("alice@example.com", "Typo-alice-Secret-4d")
    accounts.change_password(people.a, "alice-Secret-4d", "alice-Changed-6f")
    accounts.set_password(people.admin, "tess", "tess-Reset-7g")
    accounts.login("sam", "staff-Secret-2b")
    assert accounts.register_customer("Eve", "alice@example.com", "eve-Secret-8h") is None
    secrets = [
        *people.PASSWORDS.values(),
        "Typo-alice-Secret-4d",
        "alice-Changed-6f",
        "tess-Reset-7g",
        "eve-Secret-8h",
    ]
    text = all_text(services.store)
    assert [secret for secret in secrets if secret in text] == []
    hashes = [row[0] for row in services.store.query("SELECT password_hash FROM users")]
    assert all(value.startswith("scrypt$") for value in hashes)


# --- the command line --------------------------------------------------------------


def test_cli_adds_lists_resets_and_deactivates_users(db_path, monkeypatch, capsys):
    import io

    from crpm.__main__ import main

    def run(*argv, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        status = main(["--db", str(db_path), *argv])
        return status, capsys.readouterr()

    assert run("init")[0] == 0
    status, out = run(
        "user", "add", "boss", "--role", "admin", "--password-stdin", stdin="boss-Secret-1a\n"
    )
    assert status == 0 and "created admin boss" in out.out and "Secret" not in out.out
    assert run("user", "add", "clerk", "--password-stdin", stdin="short\n")[0] == 2
    assert run("user", "add", "clerk", "--password-stdin", stdin="clerk-Secret-2b\n")[0] == 0
    assert run("user", "passwd", "clerk", "--password-stdin", stdin="clerk-Secret-3c\n")[0] == 0
    assert run("user", "deactivate", "clerk")[0] == 0
    status, out = run("user", "list")
    assert status == 0 and "clerk" in out.out and "inactive" in out.out and "2 of 2" in out.out
    status, out = run("user", "passwd", "nobody", "--password-stdin")
    assert status == 2 and "not found" in out.err
    services = open_services(db_path)
    try:
        assert services.accounts.authenticate("boss", "boss-Secret-1a")
        assert not services.accounts.authenticate("clerk", "clerk-Secret-3c")  # inactive
        actors = services.store.query(
            "SELECT DISTINCT actor FROM audit_log WHERE action NOT LIKE 'login%'"
        )
        assert [row[0] for row in actors] == [f"cli:{__import__('getpass').getuser()}"]
    finally:
        services.store.close()


# --- password strength (issue 13) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaa", "too few different characters"),
        ("ababababab", "too few different characters"),
        ("1234567890", "one of the most common passwords"),
        ("password12", "one of the most common passwords"),
        ("Password2024!", "one of the most common passwords"),
        ("qwertyuiop", "one of the most common passwords"),
        ("abcdefghijk", "a run of consecutive characters"),
        ("9876543210", "a run of consecutive characters"),
    ],
)
def test_weak_passwords_are_refused_saying_why(services, people, refused, password, reason):
    with refused(ValidationError, match=f"^password: .*{reason}"):
        services.accounts.register_customer("Ann", "ann@example.com", password)
    with refused(ValidationError, match=f"^new password: .*{reason}"):
        services.accounts.change_password(people.staff, "staff-Secret-2b", password)


def test_the_common_password_list_is_shipped_with_its_source():
    path = Path(passwords.__file__).resolve().parent.parent / "common_passwords.txt"
    head = path.read_text(encoding="utf-8").splitlines()[:4]
    assert "MIT" in " ".join(head) and "zxcvbn" in head[1]
    assert len(passwords.common_passwords()) == 30_000


def test_strong_passwords_still_pass(services):
    for password in ("alice-Secret-4d", "correct horse battery", "Tr0ub4dor&3-x"):
        assert check_password(password, "ann@example.com") == password


# --- per-address throttling (issue 13) -------------------------------------------------------

STRANGER, OWNER = "203.0.113.9", "198.51.100.7"


def test_a_stranger_cannot_lock_the_admin_out(services, people, clock):
    accounts = services.accounts
    for _ in range(MAX_FAILED_LOGINS):
        assert not accounts.authenticate("admin", "guess-Guess-42", address=STRANGER)
    assert accounts.get_user(people.admin, "admin").locked
    # the lock holds for the address that failed, even with the right password ...
    assert not accounts.authenticate("admin", "admin-Secret-1a", address=STRANGER)
    # ... but not for the admin elsewhere, whose open sessions also go on
    assert accounts.actor_for("admin").role == "admin"
    assert accounts.authenticate("admin", "admin-Secret-1a", address=OWNER)
    assert not accounts.get_user(people.admin, "admin").locked


def test_an_address_that_keeps_failing_is_refused_for_a_while(services, people, clock, refused):
    accounts = services.accounts
    for number in range(ADDRESS_MAX_ATTEMPTS):
        assert not accounts.authenticate(f"nobody{number}", "guess-Guess-42", address=STRANGER)
    # refused now even for a right password: the address, not any account, is held
    assert not accounts.authenticate("alice@example.com", "alice-Secret-4d", address=STRANGER)
    assert accounts.authenticate("alice@example.com", "alice-Secret-4d", address=OWNER)
    assert not accounts.get_user(people.admin, "alice@example.com").locked
    last = services.store.query_one("SELECT * FROM audit_log ORDER BY id DESC LIMIT 1")
    assert last["action"] == "login"
    with refused(PermissionDenied, match="too many attempts from your address"):
        accounts.register_customer("Eve", "eve@example.com", "eve-Secret-8h", address=STRANGER)
    clock.advance(minutes=ADDRESS_BLOCK_MINUTES)
    assert accounts.authenticate("alice@example.com", "alice-Secret-4d", address=STRANGER)


def test_registrations_count_against_their_address(services, clock, refused):
    accounts = services.accounts
    for number in range(ADDRESS_MAX_ATTEMPTS):
        accounts.register_customer("Ann", f"ann{number}@example.com", PASSWORD, address=STRANGER)
    with refused(PermissionDenied, match="too many attempts"):
        accounts.register_customer("Ann", "ann.more@example.com", PASSWORD, address=STRANGER)
    assert accounts.register_customer("Bo", "bo@example.com", PASSWORD, address=OWNER)
    clock.advance(minutes=ADDRESS_BLOCK_MINUTES)
    assert accounts.register_customer("Ann", "ann.more@example.com", PASSWORD, address=STRANGER)
