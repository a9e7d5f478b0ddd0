"""What a refusal says in the dashboard: the field named by the label its form shows.

The services name a field by its key ("unit_price: must be a number"), which the CLI keeps.
The dashboard says "Unit price: must be a number": `FIELD_LABELS` holds the keys whose label
is not simply the key in words, and a form that names a field its own way (the return form's
"Units" for a quantity) gives `guarded` its own labels. A refusal about a record's state
("purchase #2161 is already cancelled") reads "This purchase is already cancelled": the form
the person acted in already shows which one.

The page then marks the field whose label the message starts with, in the form the person
acted in (crpm/ui/style.py, FIELD_MARKS_JS), so the words must be the label's.
"""

from __future__ import annotations

import re

from crpm.errors import CRPMError

SENTENCE = None  # a key whose reason says it all ("a purchase needs at least one product")
FIELD_LABELS = {
    "email": "E-mail",
    "sku": "SKU",
    "price": "Unit price",
    "unit_price": "Unit price",
    "quantity": "Qty",
    "stock": "Opening stock",
    "reorder_level": "Reorder level",
    "discount": "Discount",
    "purchase discount": "Discount on the whole purchase",
    "valid_until": "Valid until",
    "username": "Login name",
    "old password": "Current password",
    "lines": SENTENCE,
    "row": SENTENCE,
    "request": SENTENCE,
}
# "purchase #2161 is already cancelled": a record named by its kind and number, then its state.
RECORD_STATE = re.compile(r"(?P<kind>[a-z]+) #\d+ (?P<state>.+)", re.DOTALL)


def field_label(field: str, labels: dict | None = None) -> str | None:
    """The label a form shows for `field` (None: the reason is a sentence of its own)."""
    for table in (labels or {}, FIELD_LABELS):
        if field in table:
            return table[field]
    words = str(field).replace("_", " ")
    return words[:1].upper() + words[1:]


def user_message(error: CRPMError, labels: dict | None = None) -> str:
    """The refusal as the dashboard words it; errors without a field keep their message."""
    field, reason = getattr(error, "field", None), getattr(error, "reason", None)
    if not field or not reason:
        return error.message
    state = RECORD_STATE.fullmatch(reason)
    if state:
        return f"This {state['kind']} {state['state']}"
    label = field_label(field, labels)
    if label is SENTENCE:
        return reason[:1].upper() + reason[1:]
    return f"{label}: {reason}"
