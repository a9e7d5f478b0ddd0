"""The service desk: support tickets with their history (`tickets`), and quotes that become
purchases (`quotes`); `common` holds what both need.

Customers reach only their own tickets and quotes: someone else's reads as "not found", the
same as an id that does not exist (`crpm.permissions.ensure`). Staff and admins reach every
customer's.
"""

from __future__ import annotations

from crpm.services.servicedesk.quotes import (
    ACCEPTABLE,
    PRICEABLE,
    QUOTE_STATUSES,
    REJECTABLE,
    Quote,
    QuoteDesk,
    QuoteLine,
)
from crpm.services.servicedesk.tickets import (
    CATEGORIES,
    PRIORITIES,
    TICKET_STATUSES,
    TRANSITIONS,
    Ticket,
    TicketDesk,
    TicketEvent,
)

__all__ = [
    "ACCEPTABLE",
    "CATEGORIES",
    "PRICEABLE",
    "PRIORITIES",
    "QUOTE_STATUSES",
    "REJECTABLE",
    "TICKET_STATUSES",
    "TRANSITIONS",
    "Quote",
    "QuoteLine",
    "ServiceDesk",
    "Ticket",
    "TicketEvent",
]


class ServiceDesk(TicketDesk, QuoteDesk):
    """Tickets and quotes over one store; accepted quotes are recorded by `purchases`."""

    def __init__(self, store, purchases):
        TicketDesk.__init__(self, store)
        QuoteDesk.__init__(self, store, purchases)
