"""permissions.ensure: every role against every rule, on no record, their own and another's."""

from __future__ import annotations

import pytest

from crpm.errors import NotFound, PermissionDenied
from crpm.permissions import ANY, OWN, RULES, Actor, ensure, registering

OWN_ID, OTHER_ID = 7, 8
ACTORS = {
    "nobody": None,
    "admin": Actor("root", "admin", user_id=1),
    "staff": Actor("sam", "staff", user_id=2),
    "customer": Actor("ann@example.com", "customer", customer_id=OWN_ID, user_id=3),
    # a customer-role actor tied to no customer record (and no login)
    "recordless": Actor("anonymous", "customer"),
    "registration": registering("new@example.com"),
}
DENIED, MISSING = "denied", "missing"
STAFF_ONLY = {"admin": (ANY,) * 3, "staff": (ANY,) * 3}
FOR_CUSTOMERS = {
    **STAFF_ONLY,
    "customer": (OWN, OWN, MISSING),
    "recordless": (DENIED, MISSING, MISSING),
}
# action -> actor -> the answer for (no record, their own customer's, another customer's);
# an actor not named gets `refusal(who)`.
EXPECTED = {
    "read_records": STAFF_ONLY,
    "manage_records": STAFF_ONLY,
    "analytics": STAFF_ONLY,
    "service_desk_staff": STAFF_ONLY,
    "admin": {"admin": (ANY,) * 3},
    "add_customer": {**STAFF_ONLY, "registration": (ANY,) * 3},
    "update_customer": FOR_CUSTOMERS,
    "read_purchases": FOR_CUSTOMERS,
    "tickets": FOR_CUSTOMERS,
    "quotes": FOR_CUSTOMERS,
    "accept_quote": FOR_CUSTOMERS,
    "own_records": {"customer": (OWN, OWN, MISSING), "recordless": (DENIED, MISSING, MISSING)},
}


def answer(actor, action, customer_id) -> str:
    try:
        return ensure(actor, action, customer_id)
    except PermissionDenied:
        return DENIED
    except NotFound:
        return MISSING


def refusal(who: str) -> tuple[str, str, str]:
    """An actor a rule does not name: denied; to no actor at all, any record is not found."""
    return (DENIED, MISSING, MISSING) if who == "nobody" else (DENIED,) * 3


def test_every_rule_is_covered_here():
    assert set(EXPECTED) | {"own_account"} == set(RULES)


@pytest.mark.parametrize("action", EXPECTED)
@pytest.mark.parametrize("who", ACTORS)
def test_each_role_on_each_action(action, who):
    expected = EXPECTED[action].get(who, refusal(who))
    got = tuple(answer(ACTORS[who], action, target) for target in (None, OWN_ID, OTHER_ID))
    assert got == expected


def test_another_customers_record_reads_like_a_missing_one():
    customer = ACTORS["customer"]
    with pytest.raises(NotFound) as other:
        ensure(customer, "tickets", OTHER_ID, entity="ticket", key=41)
    assert str(other.value) == str(NotFound("ticket", 41)) == "ticket #41 not found"
    with pytest.raises(NotFound, match=f"customer #{OTHER_ID} not found"):
        ensure(customer, "read_purchases", OTHER_ID)  # by default the customer is the record


def test_ones_own_account_needs_a_login_of_ones_own():
    for who in ("admin", "staff", "customer"):
        assert ensure(ACTORS[who], "own_account") == OWN
    for who in ("nobody", "recordless", "registration"):
        with pytest.raises(PermissionDenied):
            ensure(ACTORS[who], "own_account")


def test_a_refusal_says_what_was_refused():
    with pytest.raises(PermissionDenied, match="permission denied: manage records needs"):
        ensure(ACTORS["customer"], "manage_records")
    with pytest.raises(PermissionDenied, match="only a customer login has records of its own"):
        ensure(ACTORS["staff"], "own_records")
