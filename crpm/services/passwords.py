"""Password hashing with scrypt: a random salt per password, parameters stored with the hash.

Stored form: ``scrypt$n$r$p$salt_b64$hash_b64``. The default cost (n=2**14, r=8, p=1) takes
roughly 50-100 ms here; tests set CRPM_SCRYPT_N to a small power of two to stay fast.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from crpm.errors import ValidationError
from crpm.models import is_digits

SCRYPT_N_ENV = "CRPM_SCRYPT_N"
MAX_MEMORY = 256 * 1024 * 1024
DIGEST_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass(frozen=True)
class PasswordHasher:
    n: int = 2**14
    r: int = 8
    p: int = 1

    def __post_init__(self):
        if self.n < 2 or self.n & (self.n - 1):
            raise ValidationError(SCRYPT_N_ENV, "scrypt n must be a power of two above 1")

    @classmethod
    def from_env(cls) -> PasswordHasher:
        n = os.environ.get(SCRYPT_N_ENV, "").strip()
        return cls(n=int(n)) if is_digits(n) else cls()

    def hash(self, password: str) -> str:
        salt = secrets.token_bytes(16)
        digest = _scrypt(password, salt, self.n, self.r, self.p)
        return "$".join(("scrypt", str(self.n), str(self.r), str(self.p), _b64(salt), _b64(digest)))

    def verify(self, password: str, encoded: str | None) -> bool:
        """True when the password matches; with no hash, spend the same time and say False."""
        if encoded is None:
            self.hash(password)
            return False
        try:
            scheme, n, r, p, salt, digest = encoded.split("$")
            expected = _unb64(digest)
            candidate = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
        except (ValueError, TypeError):
            return False
        return scheme == "scrypt" and hmac.compare_digest(candidate, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=DIGEST_BYTES
    )
