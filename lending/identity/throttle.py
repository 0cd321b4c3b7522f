"""Sign-in throttling: failures per account and per IP in a sliding window, then a lockout.

Accounts are keyed by a hash of the email as typed (lower-cased), whether or not such an account
exists, so that locking behaves the same for every address and tells nothing about which exist.
Counters live in the shared store (Redis when configured), so every API instance sees them.
"""

from __future__ import annotations

import hashlib
import math
import time

from lending.config import Settings
from lending.identity.errors import TooManyLoginAttempts
from lending.kv import Store


def _account(email: str) -> str:
    # A hash, not the address: keys in Redis are not a place for PII.
    return "acct:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _ip(ip: str | None) -> str | None:
    return f"ip:{ip}" if ip else None


def _subjects(email: str, ip: str | None) -> list[str]:
    return [subject for subject in (_account(email), _ip(ip)) if subject is not None]


async def ensure_allowed(store: Store, *, email: str, ip: str | None) -> None:
    """Raise TooManyLoginAttempts while the account or the IP is locked out."""
    for subject in _subjects(email, ip):
        unlock_at = await store.get(f"login:lock:{subject}")
        if unlock_at is not None:
            retry = max(1, math.ceil(float(unlock_at) - time.time()))
            raise TooManyLoginAttempts(retry)


async def record_failure(store: Store, settings: Settings, *, email: str, ip: str | None) -> bool:
    """Count a failed attempt; lock the account or IP that reached its limit. True when locked."""
    limits = {
        _account(email): settings.login_max_failures_per_account,
    }
    ip_subject = _ip(ip)
    if ip_subject is not None:
        limits[ip_subject] = settings.login_max_failures_per_ip
    locked = False
    for subject, limit in limits.items():
        decision = await store.hit(
            f"login:fail:{subject}", limit, settings.login_failure_window_seconds
        )
        if not decision.allowed or decision.remaining == 0:
            unlock_at = time.time() + settings.login_lockout_seconds
            await store.set(
                f"login:lock:{subject}", repr(unlock_at).encode(), settings.login_lockout_seconds
            )
            await store.reset(f"login:fail:{subject}")
            locked = True
    return locked


async def record_success(store: Store, *, email: str) -> None:
    """A successful sign-in clears the account's failures (not the IP's: one success from an IP
    must not wash away an attack on other accounts from it)."""
    await store.reset(f"login:fail:{_account(email)}")


async def is_locked(store: Store, *, email: str) -> bool:
    """Whether the account (not an IP) is locked out of signing in now."""
    return await store.get(f"login:lock:{_account(email)}") is not None


async def unlock_account(store: Store, *, email: str) -> bool:
    """Lift an account's lockout and forget its failures (an administrator's decision); whether
    it was locked."""
    subject = _account(email)
    was_locked = await store.get(f"login:lock:{subject}") is not None
    await store.delete(f"login:lock:{subject}")
    await store.reset(f"login:fail:{subject}")
    return was_locked
