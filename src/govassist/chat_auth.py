"""Optional password login for the chat: users and roles come from Settings.users, passwords are compared in
constant time, and can (should) be stored as PBKDF2 hashes made by `govassist hash-password`."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from .settings import Settings

HASH_PREFIX = "pbkdf2_sha256"


def hash_password(password: str, iterations: int = 600_000) -> str:
    """A salted PBKDF2-SHA256 hash to put in `users.NAME.password` instead of the password itself."""
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), iterations).hex()
    return f"{HASH_PREFIX}${iterations}${salt}${digest}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check against a `hash_password` hash, or against a plain password (discouraged)."""
    if not stored:
        return False
    if stored.startswith(HASH_PREFIX + "$"):
        try:
            _, iterations, salt, digest = stored.split("$")
            got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations)).hex()
        except ValueError:
            return False
        return hmac.compare_digest(got, digest)
    return hmac.compare_digest(password.encode(), stored.encode())


_DUMMY = f"{HASH_PREFIX}$600000${'0' * 32}${'0' * 64}"  # unknown users are checked against this, and fail


def check_login(s: Settings, name: str, password: str) -> tuple[str, ...] | None:
    """The roles of a user whose password matches, or None. Unknown names cost the same time as known ones."""
    entry = s.users.get(name)
    if not isinstance(entry, dict):
        verify_password(password, _DUMMY)
        return None
    if not verify_password(password, str(entry.get("password") or "")):
        return None
    return tuple(str(x) for x in entry.get("roles") or ())


def roles_for(s: Settings, identifier: str | None) -> tuple[str, ...]:
    """Roles of a signed-in user as the settings say now (a role removed there is removed at the next chat)."""
    entry = s.users.get(identifier or "") if s.auth_enabled else None
    return tuple(str(x) for x in entry.get("roles") or ()) if isinstance(entry, dict) else ()
