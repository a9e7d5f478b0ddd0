"""Business rules and transactions. The UI and the CLI call these, and nothing else writes."""

from __future__ import annotations

from crpm.clock import Clock
from crpm.config import Settings
from crpm.db import BaseStore, open_store
from crpm.services.accounts import AccountService
from crpm.services.audit import AuditService
from crpm.services.backup import BackupService
from crpm.services.customers import CustomerService
from crpm.services.documents import DocumentService
from crpm.services.erasure import ErasureService
from crpm.services.exporter import ExportService
from crpm.services.importer import ImportService
from crpm.services.invitations import InvitationService
from crpm.services.passwords import PasswordHasher
from crpm.services.products import ProductService
from crpm.services.purchases import PurchaseService
from crpm.services.servicedesk import ServiceDesk
from crpm.services.taxes import TaxService
from crpm.services.timeline import TimelineService


class Services:
    """Every service over one store. `settings` (default: from the environment) gives the
    password hashing cost."""

    def __init__(self, store: BaseStore, settings: Settings | None = None):
        settings = settings or Settings.from_env()
        self.store = store
        self.customers = CustomerService(store)
        self.products = ProductService(store)
        self.purchases = PurchaseService(store)
        self.audit = AuditService(store)
        self.accounts = AccountService(
            store, PasswordHasher(n=settings.scrypt_n), customers=self.customers
        )
        self.invitations = InvitationService(store, self.accounts)
        self.desk = ServiceDesk(store, self.purchases)
        self.taxes = TaxService(store)
        self.documents = DocumentService(store)
        self.imports = ImportService(store)
        self.exports = ExportService(store)
        self.backups = BackupService(store)
        self.erasure = ErasureService(store)
        self.timeline = TimelineService(store)


def open_services(
    location, clock: Clock | None = None, settings: Settings | None = None
) -> Services:
    """The services over the store at `location` (a SQLite path or a PostgreSQL URL,
    `crpm.db.open_store`), reading "now" from `clock` (default: the real one)."""
    return Services(open_store(location, clock), settings)
