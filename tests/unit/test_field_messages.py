"""How the dashboard words a refusal (crpm/ui/fields.py): the field by its form's label."""

from __future__ import annotations

import pytest

from crpm.errors import Conflict, NotFound, OutOfStock, PermissionDenied, ValidationError
from crpm.ui.fields import user_message


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ValidationError("unit_price", "must be a number"), "Unit price: must be a number"),
        (ValidationError("name", "is required"), "Name: is required"),
        (Conflict("email", "already taken"), "E-mail: already taken"),
        (
            ValidationError("valid_until", "must be today or later"),
            "Valid until: must be today or later",
        ),
        (OutOfStock("MUG-1", "Mug", 0, 2), "Qty: only 0 of MUG-1 (Mug) in stock, 2 requested"),
        (
            ValidationError("lines", "a purchase needs at least one product"),
            "A purchase needs at least one product",
        ),
        (
            Conflict("purchase", "purchase #2161 is already cancelled"),
            "This purchase is already cancelled",
        ),
        (Conflict("status", "ticket #7 is already closed"), "This ticket is already closed"),
    ],
)
def test_a_refusal_names_the_field_by_its_label(error, message):
    assert user_message(error) == message


def test_a_form_that_names_a_field_its_own_way_gives_its_label():
    error = ValidationError("quantity", "must be at least 1")
    assert user_message(error, {"quantity": "Units"}) == "Units: must be at least 1"
    assert user_message(error) == "Qty: must be at least 1"


@pytest.mark.parametrize("error", [NotFound("purchase", 5), PermissionDenied()])
def test_a_refusal_without_a_field_keeps_its_message(error):
    assert user_message(error) == error.message


def test_the_cli_keeps_the_field_key():
    assert (
        ValidationError("unit_price", "must be a number").message == "unit_price: must be a number"
    )
    assert OutOfStock("MUG-1", "Mug", 0, 2).message.startswith("quantity: only 0 of MUG-1")
