"""Tracking codes and secret keys a resident can read aloud, write down and type back.

Both use an alphabet without the look-alikes 0/O and 1/I. The code (10 characters, 50 bits)
names the case; the key (12 characters, 60 bits) proves the holder filed it. Only the key's
SHA-256 is stored, compared in constant time; guessing is also bounded by the per-address
rate limit.
"""

import hashlib
import hmac
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 10
KEY_LENGTH = 12
# Compared against when the code is unknown, so both answers cost the same.
_DUMMY_HASH = hashlib.sha256(b"no such case").hexdigest()


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_code() -> str:
    return _random(CODE_LENGTH)


def new_key() -> str:
    return _random(KEY_LENGTH)


def group(value: str) -> str:
    """`K7QM4XPD9T` → `K7QM-4XPD-9T`."""
    return "-".join(value[i : i + 4] for i in range(0, len(value), 4))


def normalize(value: str, length: int) -> str | None:
    """What the resident typed, without spaces, hyphens or case; None when it cannot be one."""
    cleaned = "".join(ch for ch in (value or "").upper() if ch not in " -_\t")
    if len(cleaned) != length or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(stored_hash: str | None, key: str | None) -> bool:
    """Constant-time comparison; an unknown case (stored_hash None) costs the same and fails."""
    candidate = hash_key(key or "")
    return hmac.compare_digest(stored_hash or _DUMMY_HASH, candidate) and stored_hash is not None
