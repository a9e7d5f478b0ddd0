"""Customers: add, read, update, deactivate and search."""

from __future__ import annotations

from crpm.errors import ValidationError
from crpm.models import Customer, clean_customer_fields
from crpm.permissions import OWN, Actor, ensure
from crpm.services.records import RecordService

# What a customer may change on their own record; the e-mail is their login name, and the
# notes are staff's own.
PROFILE_FIELDS = ("name", "phone", "company", "address", "city", "country")


class CustomerService(RecordService):
    table = "customers"
    entity = "customer"
    model = Customer
    statuses = ("active", "inactive", "erased")

    def add(self, actor: Actor, name: str, email: str, **fields) -> Customer:
        """A new customer: added by staff, or by the person signing up (accounts.register)."""
        ensure(actor, "add_customer")
        values = clean_customer_fields({"name": name, "email": email, **fields})
        with self.store.write() as conn:
            customer_id = self._insert(conn, actor, values)
            row = self._row(conn, customer_id)
        return Customer(**dict(row))

    def update(self, actor: Actor, customer_id: int, **fields) -> Customer:
        """Change a customer's details: staff any field of anyone's, a customer the
        PROFILE_FIELDS of their own record."""
        customer_id = self._id(customer_id)
        if ensure(actor, "update_customer", customer_id) == OWN:
            _only_profile_fields(fields)
        return self._update(actor, customer_id, clean_customer_fields(fields, partial=True))


def _only_profile_fields(fields: dict) -> None:
    refused = sorted(set(fields) - set(PROFILE_FIELDS))
    if refused:
        reason = (
            "is your login name; ask us to change it"
            if refused[0] == "email"
            else "cannot be changed here"
        )
        raise ValidationError(refused[0], reason)
