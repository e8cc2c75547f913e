"""Optional password login for the chat: users and roles come from Settings.users, passwords are compared in
constant time, and can (should) be stored as PBKDF2 hashes made by `govassist hash-password`.

Also the session rules: users and roles re-read when govassist.toml changes (`current`), signed-out tokens
refused until they expire (`RevokedTokens`), and a throttle on failed sign-ins (`LoginThrottle`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

from .settings import Settings, load_settings, toml_path

log = logging.getLogger("govassist.chat")

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


_current: dict[str, tuple[object, Settings]] = {}
_current_lock = threading.Lock()


def current(s: Settings) -> Settings:
    """`s`, or the settings read again if govassist.toml changed since (a stat per call): a role removed there
    is removed at the user's next chat or message, without a restart. A file that no longer parses keeps the
    last good settings (logged)."""
    path = toml_path()
    try:
        st = path.stat()
        stamp: object = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None
    with _current_lock:
        seen = _current.get(str(path))
        if seen is None:  # the first look: `s` was read from this very file
            _current[str(path)] = (stamp, s)
            return s
        if seen[0] == stamp:
            return seen[1]
        try:
            fresh = load_settings()
        except Exception as exc:
            log.warning("%s changed but cannot be read (%s); keeping the users and roles read before", path, exc)
            return seen[1]
        _current[str(path)] = (stamp, fresh)
        return fresh


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RevokedTokens:
    """Sign-in tokens ended by logout, kept (by hash, in a JSON file) until they would have expired anyway."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path, self.clock, self._lock = path, clock, threading.Lock()
        try:
            self._until: dict[str, float] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._until = {}

    def revoke(self, token: str, expires_at: float | None = None) -> None:
        now = self.clock()
        with self._lock:
            self._until = {k: t for k, t in self._until.items() if t > now}
            self._until[token_id(token)] = expires_at or now + 15 * 86400
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._until), encoding="utf-8")
            os.replace(tmp, self.path)

    def is_revoked(self, token: str) -> bool:
        return self._until.get(token_id(token), 0.0) > self.clock()


class LoginThrottle:
    """Failed sign-ins per (user, client address): after `free` failures in a row, each further failure locks
    that pair out for twice as long as the last (2 s, 4 s, … up to `cap_s`); a success clears the count."""

    def __init__(self, free: int = 5, cap_s: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.cap_s, self.clock = free, cap_s, clock
        self._fails: dict[tuple[str, str], tuple[int, float]] = {}  # key -> (failures, locked until)
        self._lock = threading.Lock()

    def wait_s(self, user: str, client: str) -> float:
        """Seconds until this user may try again from this address (0: now)."""
        _n, until = self._fails.get((user.lower(), client), (0, 0.0))
        return max(0.0, until - self.clock())

    def failed(self, user: str, client: str) -> None:
        key = (user.lower(), client)
        with self._lock:
            n = self._fails.get(key, (0, 0.0))[0] + 1
            lock = min(self.cap_s, 2.0 ** (n - self.free + 1)) if n >= self.free else 0.0
            self._fails[key] = (n, self.clock() + lock)
            if len(self._fails) > 100_000:  # bounded memory under a spray of names
                self._fails.pop(next(iter(self._fails)))

    def succeeded(self, user: str, client: str) -> None:
        with self._lock:
            self._fails.pop((user.lower(), client), None)


REQUEST_USER: ContextVar[str | None] = ContextVar("govassist_request_user", default=None)  # set by chat_web


def token_claims(token: str | None) -> dict | None:
    """The claims of a sign-in token Chainlit issued (signature and expiry checked), or None."""
    secret = os.environ.get("CHAINLIT_AUTH_SECRET")
    if not token or not secret:
        return None
    import jwt

    try:
        return jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
