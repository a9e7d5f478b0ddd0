"""Password hashing with scrypt: a random salt per password, parameters stored with the hash.

Stored form: ``scrypt$n$r$p$salt_b64$hash_b64``. The default cost (n=2**14, r=8, p=1) takes
roughly 50-100 ms here; tests set CRPM_SCRYPT_N (crpm/config.py) to a small power of two to
stay fast.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from crpm.config import DEFAULT_SCRYPT_N
from crpm.errors import ValidationError

COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "common_passwords.txt"
MIN_DISTINCT = 5
# Around a common word people add digits and symbols: "Password2024!" is "password".
DECORATION = "0123456789!@#$%^&*()_+-=.,?~ "
SCRYPT_N_ENV = "CRPM_SCRYPT_N"
MAX_MEMORY = 256 * 1024 * 1024
DIGEST_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass(frozen=True)
class PasswordHasher:
    n: int = DEFAULT_SCRYPT_N
    r: int = 8
    p: int = 1

    def __post_init__(self):
        if self.n < 2 or self.n & (self.n - 1):
            raise ValidationError(SCRYPT_N_ENV, "scrypt n must be a power of two above 1")

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


# --- strength -------------------------------------------------------------------------------


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (see the head of the file for its source and licence)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def weakness(password: str) -> str | None:
    """Why a password of a valid length is easy to guess, or None: a common password (also
    with digits and symbols around it), too few different characters, or a run like abcdefg."""
    text = password.casefold()
    cores = {text, text.strip(DECORATION), text.rstrip(DECORATION), text.lstrip(DECORATION)}
    if any(core in common_passwords() for core in cores):
        return "is one of the most common passwords; choose one that is harder to guess"
    if len(set(text)) < MIN_DISTINCT:
        return f"uses too few different characters (at least {MIN_DISTINCT})"
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    if steps in ({1}, {-1}):
        return "is a run of consecutive characters; choose one that is harder to guess"
    return None
