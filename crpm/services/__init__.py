"""Business rules and transactions. The UI and the CLI call these, and nothing else writes."""

from __future__ import annotations

from crpm.clock import Clock
from crpm.config import Settings
from crpm.db import Store
from crpm.services.accounts import AccountService
from crpm.services.audit import AuditService
from crpm.services.customers import CustomerService
from crpm.services.documents import DocumentService
from crpm.services.passwords import PasswordHasher
from crpm.services.products import ProductService
from crpm.services.purchases import PurchaseService
from crpm.services.servicedesk import ServiceDesk
from crpm.services.taxes import TaxService


class Services:
    """Every service over one store. `settings` (default: from the environment) gives the
    password hashing cost."""

    def __init__(self, store: Store, settings: Settings | None = None):
        settings = settings or Settings.from_env()
        self.store = store
        self.customers = CustomerService(store)
        self.products = ProductService(store)
        self.purchases = PurchaseService(store)
        self.audit = AuditService(store)
        self.accounts = AccountService(store, PasswordHasher(n=settings.scrypt_n))
        self.desk = ServiceDesk(store, self.purchases)
        self.taxes = TaxService(store)
        self.documents = DocumentService(store)


def open_services(path, clock: Clock | None = None, settings: Settings | None = None) -> Services:
    """The services over the store at `path`, reading "now" from `clock` (default: the real one)."""
    return Services(Store.open(path, clock), settings)
