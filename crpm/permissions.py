"""Who may do what. Services ask here; the UI only hides what the answer already forbids."""

from __future__ import annotations

from dataclasses import dataclass

from crpm.errors import PermissionDenied

ROLES = ("admin", "staff", "customer")

# action -> roles allowed (design: Roles)
RULES = {
    # customers, products, purchases: create, edit, deactivate
    "manage_records": {"admin", "staff"},
    "read_records": {"admin", "staff"},
    "analytics": {"admin", "staff"},
    "service_desk_staff": {"admin", "staff"},  # tickets and quotes of any customer
    "admin": {"admin"},  # user accounts, roles, erasure, audit log
}


@dataclass(frozen=True)
class Actor:
    """The person (or process) on whose behalf a service acts."""

    username: str
    role: str
    customer_id: int | None = None
    user_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "staff")


SYSTEM = Actor(username="system", role="admin")


def require(actor: Actor, action: str) -> None:
    if actor is None or actor.role not in RULES[action]:
        raise PermissionDenied(f"{action.replace('_', ' ')} needs another role")


def require_customer_access(actor: Actor, customer_id: int) -> None:
    """Staff see every customer; a customer only their own record."""
    if actor is not None and (actor.is_staff or actor.customer_id == customer_id):
        return
    raise PermissionDenied("this belongs to another customer")
