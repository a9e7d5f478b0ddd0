"""Pickers put the record typed exactly (its #ID, or a login's whole name) before the matches."""

from types import SimpleNamespace

from crpm.errors import NotFound
from crpm.permissions import SYSTEM
from crpm.ui.pickers import Pickers, typed_first

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


def test_a_product_typed_by_its_exact_sku_comes_before_names_holding_it(services, shop):
    holder = shop.product(sku="HLD-9", name="Stand for MUG-1 and MUG-12", stock=3)
    longer = shop.product(sku="MUG-12", name="Tall mug", stock=3)
    mug = shop.product(sku="MUG-1", name="Mug", stock=3)
    pick = Pickers(None)._pick
    for typed in ("MUG-1", "mug-1"):
        assert ids(pick(services.products, SYSTEM, typed, "active"))[0] == mug.id
    assert set(ids(pick(services.products, SYSTEM, "MUG", "active"))) >= {holder.id, longer.id}


def test_a_numeric_sku_beats_the_product_whose_id_it_reads_as(services, shop):
    """A barcode typed as digits picks its product, not the one with that ID; "#" asks for
    the ID."""
    first = shop.product(sku="ABC", name="Alpha")
    barcode = shop.product(sku=str(first.id), name="Barcoded")
    pick = Pickers(None)._pick
    assert ids(pick(services.products, SYSTEM, str(first.id), "active"))[0] == barcode.id
    assert ids(pick(services.products, SYSTEM, f"#{first.id}", "active"))[0] == first.id


def test_an_inactive_product_typed_by_its_sku_is_picked_only_among_all(services, shop):
    retired = shop.product(sku="OLD-1", name="Retired")
    services.products.deactivate(SYSTEM, retired.id)
    pick = Pickers(None)._pick
    assert retired.id not in ids(pick(services.products, SYSTEM, "OLD-1", "active"))
    assert ids(pick(services.products, SYSTEM, "old-1", "all"))[0] == retired.id
