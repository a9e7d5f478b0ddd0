"""The error types every layer speaks. A service raises nothing else."""


class CRPMError(Exception):
    """Base of every error a user may see; its message is safe to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationError(CRPMError):
    """An input value is not acceptable; names the field and the reason."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(CRPMError):
    def __init__(self, entity: str, key):
        super().__init__(
            f"{entity} #{key} not found" if isinstance(key, int) else f"{entity} {key!r} not found"
        )
        self.entity = entity
        self.key = key


class Conflict(CRPMError):
    """A unique value is taken (e-mail, SKU, order reference) or a state forbids the change."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class OutOfStock(CRPMError):
    """A quantity beyond the stock; names the field and the reason like a ValidationError."""

    field = "quantity"

    def __init__(self, sku: str, name: str, available: int, requested: int):
        self.reason = f"only {available} of {sku} ({name}) in stock, {requested} requested"
        super().__init__(f"{self.field}: {self.reason}")
        self.sku = sku
        self.available = available
        self.requested = requested


class InactiveRecord(CRPMError):
    def __init__(self, entity: str, key, label: str = ""):
        shown = f"{entity} #{key}" + (f" ({label})" if label else "")
        super().__init__(f"{shown} is inactive")
        self.entity = entity
        self.key = key


class PermissionDenied(CRPMError):
    def __init__(self, reason: str = "you are not allowed to do this"):
        super().__init__(f"permission denied: {reason}")


class StoreBusy(CRPMError):
    """The store stayed locked by other writers beyond the busy timeout."""

    def __init__(self):
        super().__init__("the store is busy; please try again")


class StoreError(CRPMError):
    """The store failed in a way the user cannot fix (the detail goes to the log)."""

    def __init__(self):
        super().__init__("the store could not complete this operation; nothing was changed")
