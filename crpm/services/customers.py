"""Customers: add, read, update, deactivate and search."""

from __future__ import annotations

from crpm.models import Customer, clean_customer_fields
from crpm.permissions import Actor, require
from crpm.services.records import RecordService


class CustomerService(RecordService):
    table = "customers"
    entity = "customer"
    model = Customer
    statuses = ("active", "inactive", "erased")

    def add(self, actor: Actor, name: str, email: str, **fields) -> Customer:
        require(actor, "manage_records")
        values = clean_customer_fields({"name": name, "email": email, **fields})
        with self.store.write() as conn:
            customer_id = self._insert(conn, actor, values)
            row = self._row(conn, customer_id)
        return Customer(**dict(row))

    def update(self, actor: Actor, customer_id: int, **fields) -> Customer:
        require(actor, "manage_records")
        return self._update(
            actor, self._id(customer_id), clean_customer_fields(fields, partial=True)
        )
