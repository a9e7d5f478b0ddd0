"""Portal invitations: staff invite a customer without a login, the customer sets a password
through the one-time link, and a link that cannot be used is refused alike and changes nothing."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest

from crpm.errors import Conflict, NotFound, PermissionDenied, ValidationError
from crpm.permissions import SYSTEM
from crpm.services.accounts import ADDRESS_MAX_ATTEMPTS
from crpm.services.invitations import INVITATION_DAYS, InvalidInvitation, token_hash
from tests.support import STAFF, store_snapshot

pytestmark = pytest.mark.usefixtures("cheap_passwords")
PASSWORD = "walk-In-Secret-42"
STRANGER = "203.0.113.9"


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


@pytest.fixture
def walk_in(shop):
    """A customer staff added, who has no login yet."""
    return shop.customer("Wanda Walkin", email="wanda@example.com")


@pytest.fixture
def unchanged(services):
    """`with unchanged(): ...`: the block leaves every row as it was, but the address counts."""

    @contextmanager
    def check():
        before = store_snapshot(services.store, leave_out=("address_attempts",))
        yield
        assert store_snapshot(services.store, leave_out=("address_attempts",)) == before

    return check


def invitations(services) -> list[dict]:
    return [dict(row) for row in services.store.query("SELECT * FROM invitations ORDER BY id")]


def test_staff_invite_a_customer_and_the_store_keeps_only_the_tokens_hash(
    services, shop, walk_in, clock
):
    invitation = services.invitations.invite(STAFF, walk_in.id)
    assert (invitation.customer_id, invitation.email) == (walk_in.id, "wanda@example.com")
    assert len(invitation.token) >= 40
    assert invitation.expires_at == clock.stamp(after=timedelta(days=7))
    [row] = invitations(services)
    assert row["token_hash"] == token_hash(invitation.token) != invitation.token
    assert (row["used_at"], row["user_id"]) == (None, None)
    everything = str({table: rows for table, rows in store_snapshot(services.store).items()})
    assert invitation.token not in everything
    [audit] = [row for row in shop.audit("customer", walk_in.id) if row["action"] == "invite"]
    assert audit["actor"] == "clerk"
    assert audit["after"] == {
        "invitation": row["id"],
        "expires_at": invitation.expires_at,
        "replaced": 0,
    }


def test_the_link_sets_a_password_and_the_customer_logs_in_as_themselves(
    services, shop, walk_in, clock
):
    token = services.invitations.invite(STAFF, walk_in.id).token
    assert services.invitations.open_invitation(token).name == "Wanda Walkin"
    actor = services.invitations.redeem(token, PASSWORD)
    assert (actor.username, actor.role, actor.customer_id) == (
        "wanda@example.com",
        "customer",
        walk_in.id,
    )
    assert services.accounts.authenticate("Wanda@Example.com", PASSWORD)
    logged_in = services.accounts.actor_for("wanda@example.com")
    assert (logged_in.role, logged_in.customer_id, logged_in.user_id) == (
        "customer",
        walk_in.id,
        actor.user_id,
    )
    [row] = invitations(services)
    assert (row["used_at"], row["user_id"]) == (clock.stamp(), actor.user_id)
    actions = [row["action"] for row in shop.audit("customer", walk_in.id)]
    assert actions[-2:] == ["invite", "accept_invitation"]
    assert [row["action"] for row in shop.audit("user", actor.user_id)][0] == "create"
    everything = str([tuple(row) for row in services.store.query("SELECT * FROM audit_log")])
    assert PASSWORD not in everything and token not in everything


def test_a_used_link_is_refused_and_changes_nothing(services, walk_in, unchanged):
    token = services.invitations.invite(STAFF, walk_in.id).token
    services.invitations.redeem(token, PASSWORD)
    with unchanged(), pytest.raises(InvalidInvitation, match="was used already"):
        services.invitations.redeem(token, "another-Secret-77")
    with unchanged(), pytest.raises(InvalidInvitation):
        services.invitations.open_invitation(token)
    assert services.accounts.authenticate("wanda@example.com", PASSWORD)
    assert not services.accounts.authenticate("wanda@example.com", "another-Secret-77")


def test_a_link_works_until_it_expires_by_the_store_clock(services, walk_in, clock, unchanged):
    token = services.invitations.invite(STAFF, walk_in.id).token
    clock.advance(days=INVITATION_DAYS, seconds=-1)
    assert services.invitations.open_invitation(token).customer_id == walk_in.id
    clock.advance(seconds=1)
    with unchanged(), pytest.raises(InvalidInvitation, match="expired"):
        services.invitations.redeem(token, PASSWORD)
    assert not services.accounts.authenticate("wanda@example.com", PASSWORD)


def test_a_new_invitation_replaces_the_open_one(services, shop, walk_in, unchanged):
    first = services.invitations.invite(STAFF, walk_in.id).token
    second = services.invitations.invite(SYSTEM, walk_in.id).token
    assert [row["token_hash"] for row in invitations(services)] == [token_hash(second)]
    assert shop.audit("customer", walk_in.id)[-1]["after"]["replaced"] == 1
    with unchanged(), pytest.raises(InvalidInvitation, match="replaced"):
        services.invitations.redeem(first, PASSWORD)
    assert services.invitations.redeem(second, PASSWORD).customer_id == walk_in.id


@pytest.mark.parametrize("token", ["", None, "not-a-token", "x" * 5000, 42])
def test_an_unknown_link_gets_the_same_answer(services, walk_in, unchanged, token):
    services.invitations.invite(STAFF, walk_in.id)
    with unchanged(), pytest.raises(InvalidInvitation) as refusal:
        services.invitations.redeem(token, PASSWORD)
    assert refusal.value.message == InvalidInvitation().message


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pw1", "at least 10"),
        ("WANDA@example.com", "e-mail"),
        ("password123", "common"),
        (None, "required"),
    ],
)
def test_the_registration_password_rules_hold_and_a_refusal_keeps_the_link(
    services, walk_in, refused, password, reason
):
    token = services.invitations.invite(STAFF, walk_in.id).token
    with refused(ValidationError, match=reason):
        services.invitations.redeem(token, password)
    assert services.invitations.redeem(token, PASSWORD).customer_id == walk_in.id


def test_only_staff_invite(services, walk_in, refused):
    customer = services.accounts.register_customer("Cy Customer", "cy@example.com", PASSWORD)
    for actor in (customer, None):
        with refused(PermissionDenied):
            services.invitations.invite(actor, walk_in.id)
    assert services.invitations.invite(SYSTEM, walk_in.id).customer_id == walk_in.id


def test_who_cannot_be_invited(services, shop, refused):
    registered = services.accounts.register_customer("Reg Istered", "reg@example.com", PASSWORD)
    with refused(Conflict, match="already has a login: they log in as reg@example.com"):
        services.invitations.invite(STAFF, registered.customer_id)
    services.accounts.create_user(SYSTEM, "desk@example.com", PASSWORD, "staff")
    namesake = shop.customer("Dee Namesake", email="desk@example.com")
    with refused(Conflict, match="already another account's login name"):
        services.invitations.invite(STAFF, namesake.id)
    resting = shop.customer("Ina Active")
    services.customers.deactivate(STAFF, resting.id)
    with refused(Conflict, match="inactive; reactivate them first"):
        services.invitations.invite(STAFF, resting.id)
    for missing in (999, "abc", None):
        with refused((NotFound, ValidationError)):
            services.invitations.invite(STAFF, missing)


def test_a_link_is_refused_once_its_customer_changed(services, shop, walk_in, unchanged):
    """Deactivated, given a login by an admin, or erased after the invitation was made."""
    token = services.invitations.invite(STAFF, walk_in.id).token
    services.customers.deactivate(STAFF, walk_in.id)
    with unchanged(), pytest.raises(InvalidInvitation):
        services.invitations.redeem(token, PASSWORD)
    services.customers.reactivate(STAFF, walk_in.id)
    services.accounts.create_user(SYSTEM, "", "admin-Made-Secret-5", "customer", walk_in.id)
    with unchanged(), pytest.raises(InvalidInvitation):
        services.invitations.redeem(token, PASSWORD)

    other = shop.customer("Erin Erased")
    token = services.invitations.invite(STAFF, other.id).token
    services.accounts.erase_person(SYSTEM, customer_id=other.id)
    assert [row["customer_id"] for row in invitations(services)] == [walk_in.id]
    with pytest.raises(InvalidInvitation):
        services.invitations.open_invitation(token)


def test_bad_links_count_against_the_address_like_failed_logins(services, walk_in, refused):
    token = services.invitations.invite(STAFF, walk_in.id).token
    for number in range(ADDRESS_MAX_ATTEMPTS):
        with pytest.raises(InvalidInvitation):
            services.invitations.open_invitation(f"guess-{number}", address=STRANGER)
    with refused(PermissionDenied, match="too many attempts from your address"):
        services.invitations.redeem(token, PASSWORD, address=STRANGER)
    assert not services.accounts.authenticate("clerk", "anything-at-all-1", address=STRANGER)
    # the right customer, from their own address, is not held up
    assert services.invitations.redeem(token, PASSWORD, address="198.51.100.7").user_id
