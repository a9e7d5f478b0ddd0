"""Pickers put the record typed exactly (its #ID, or a login's whole name) before the matches."""

from types import SimpleNamespace

from crpm.errors import NotFound
from crpm.ui.pickers import typed_first

BOB_SMITH, BOB = SimpleNamespace(id=3, name="bob.smith"), SimpleNamespace(id=9, name="bob")
USERS = {user.id: user for user in (BOB_SMITH, BOB)}


def get(key):
    found = USERS.get(key) or next((u for u in USERS.values() if u.name == key), None)
    if found is None:
        raise NotFound("user", key)
    return found


def ids(records) -> list[int]:
    return [record.id for record in records]


def test_a_login_named_exactly_as_typed_comes_before_longer_names():
    assert ids(typed_first("bob", get, [BOB_SMITH, BOB], by_name=get)) == [9, 3]
    assert ids(typed_first("bob", get, [BOB_SMITH], by_name=get)) == [9, 3]  # past the limit


def test_a_typed_number_comes_first_and_a_name_only_with_a_name_lookup():
    assert ids(typed_first("#9", get, [BOB_SMITH])) == [9, 3]
    assert ids(typed_first("bob", get, [BOB_SMITH, BOB])) == [3, 9]
    assert ids(typed_first("nobody", get, [BOB_SMITH], by_name=get)) == [3]
    assert ids(typed_first("#404", get, [], by_name=get)) == []
