"""Malformed shapes from API callers come back as our ValidationError, never a raw TypeError."""

from __future__ import annotations

import pytest

from crpm.errors import ValidationError


@pytest.fixture
def quote(services, actor, shop):
    ann = shop.customer("Ann")
    widget = shop.product(stock=5)
    return services.desk.request_quote(actor, [(widget.id, 1)], customer_id=ann.id), ann, widget


CALLS = {
    "a line of three": (
        lambda s, a, q, c, p: s.purchases.record(a, c.id, [(p.id, 1, 2)]),
        "line 1",
    ),
    "a line that is a number": (lambda s, a, q, c, p: s.purchases.record(a, c.id, [5]), "line 1"),
    "lines that are a number": (lambda s, a, q, c, p: s.purchases.record(a, c.id, 5), "lines"),
    "prices as text": (
        lambda s, a, q, c, p: s.desk.price_quote(a, q.id, "12", "2099-01-01"),
        "prices",
    ),
    "a price pair of one": (
        lambda s, a, q, c, p: s.desk.price_quote(a, q.id, [(p.id,)], "2099-01-01"),
        "prices",
    ),
    "an extra line of one": (
        lambda s, a, q, c, p: s.desk.price_quote(
            a, q.id, {p.id: "1.00"}, "2099-01-01", extra_lines=[(1,)]
        ),
        "extra line 1",
    ),
    "a numeric ticket status": (lambda s, a, q, c, p: s.desk.queue(a, status=5), "status"),
    "a huge audit page": (lambda s, a, q, c, p: s.audit.list(a, limit=10**30), "limit"),
    "a huge audit entity id": (
        lambda s, a, q, c, p: s.audit.list(a, entity_id=10**30),
        "entity id",
    ),
}


@pytest.mark.parametrize("call, field", CALLS.values(), ids=CALLS.keys())
def test_a_malformed_call_names_the_field(services, actor, quote, refused, call, field):
    request, customer, product = quote
    with refused(ValidationError) as info:
        call(services, actor, request, customer, product)
    assert info.value.field == field
