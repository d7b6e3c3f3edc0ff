"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from leadwire.core.errors import DomainError, ErrorCode

MIN_LENGTH = 10
MAX_LENGTH = 256

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so that a missing account takes
# as long to refuse as a wrong password (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash("leadwire-dummy-password")


def check_policy(password: str, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise DomainError.single(field, ErrorCode.TOO_SHORT, f"A password needs at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise DomainError.single(field, ErrorCode.TOO_LONG, f"A password is at most {MAX_LENGTH} characters.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
