"""One search box for every record: numbers, documents, SKUs and words, staff only."""

from __future__ import annotations

import pytest

from crpm.errors import PermissionDenied
from crpm.permissions import Actor
from crpm.services.search import find_records
from tests.support import STAFF


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


@pytest.fixture
def records(shop, services, actor):
    ada = shop.customer("Ada Lovelace", email="ada@engine.example", phone="+44 20 7946 0001")
    shop.customer("Grace Hopper", email="grace@navy.example")
    lamp = shop.product(sku="LAMP-01", name="Brass lamp", category="Lighting")
    sale = shop.sale(ada, (lamp, 1))
    ticket = services.desk.raise_ticket(STAFF, "Lamp flickers", customer_id=ada.id)
    quote = services.desk.request_quote(STAFF, [(lamp.id, 5)], customer_id=ada.id)
    return {"ada": ada, "lamp": lamp, "sale": sale, "ticket": ticket, "quote": quote}


def kinds(hits) -> list[tuple[str, int]]:
    return [(hit.kind, hit.record_id) for hit in hits]


def test_words_find_customers_by_name_email_and_phone(services, records):
    ada = ("customer", records["ada"].id)
    for text in ("lovelace", "ada@engine", "2079460001", "Ada Love"):
        assert kinds(find_records(services.store, STAFF, text)) == [ada], text
    hit = find_records(services.store, STAFF, "lovelace")[0]
    assert hit.label == "Ada Lovelace · ada@engine.example"


def test_a_sku_finds_its_product_first(services, records):
    hits = find_records(services.store, STAFF, "LAMP-01")
    assert kinds(hits)[0] == ("product", records["lamp"].id)
    assert hits[0].label == "LAMP-01 · Brass lamp"
    assert len(kinds(hits)) == len(set(kinds(hits)))  # found twice, listed once


def test_a_number_finds_that_number_of_every_kind(services, records):
    hits = kinds(find_records(services.store, STAFF, f"#{records['ticket'].id}"))
    assert ("ticket", records["ticket"].id) in hits
    assert all(record_id == records["ticket"].id for _, record_id in hits)
    assert ("purchase", records["sale"].id) in kinds(
        find_records(services.store, STAFF, str(records["sale"].id))
    )


def test_an_invoice_number_finds_its_purchase(services, records):
    number = records["sale"].invoice_number
    assert kinds(find_records(services.store, STAFF, number.lower())) == [
        ("purchase", records["sale"].id)
    ]


def test_nothing_typed_or_nothing_matching_finds_nothing(services, records):
    for text in ("", "   ", "#", "zzz-no-such", "#999999999", "#" + "9" * 40):
        assert find_records(services.store, STAFF, text) == [], text


def test_erased_customers_are_never_found(services, records, actor):
    services.erasure.erase(actor, records["ada"].id)
    assert find_records(services.store, STAFF, "lovelace") == []
    assert ("customer", records["ada"].id) not in kinds(
        find_records(services.store, STAFF, f"#{records['ada'].id}")
    )


def test_customers_may_not_search(services, records):
    ann = Actor("ann@example.com", "customer", customer_id=records["ada"].id)
    with pytest.raises(PermissionDenied):
        find_records(services.store, ann, "lamp")
    with pytest.raises(PermissionDenied):
        find_records(services.store, None, "lamp")
