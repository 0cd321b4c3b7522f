"""Sign-in throttling: failures per (account, client address), per address and per account.

Three counters, each a sliding window in the shared store (Redis when configured, so every API
instance sees them):

- (account, address): `login_max_failures_per_account_and_ip` failures lock that pair only. A
  stranger guessing a named admin's password locks themselves out, not the admin.
- address: `login_max_failures_per_ip` failures lock the address (password spraying).
- account, from any address: only past `login_max_failures_per_account` (much higher) is the
  account locked everywhere, for `login_account_lockout_seconds` (bounded), or until an
  administrator unlocks it (`unlock_account`).

Accounts are keyed by a hash of the email as typed (lower-cased), whether or not such an account
exists, so that locking behaves the same for every address and tells nothing about which exist.
The same counters guard every place a password or a second factor is re-checked for a signed-in
user (password change, MFA disable, recovery-code regeneration).
"""

from __future__ import annotations

import hashlib
import math
import time

from lending.config import Settings
from lending.identity.errors import TooManyLoginAttempts, TooManyMailRequests
from lending.kv import Store


def _account(email: str) -> str:
    # A hash, not the address: keys in Redis are not a place for PII.
    return "acct:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _epoch_key(account: str) -> str:
    return f"login:epoch:{account}"


async def _pair(store: Store, account: str, ip: str | None) -> str:
    # The epoch changes when an administrator unlocks the account: every pair's counter and lock
    # (one per address, which cannot be listed) is then left behind at once.
    raw = await store.get(_epoch_key(account))
    epoch = raw.decode() if raw is not None else "0"
    return f"pair:{account}:{epoch}:{ip or 'unknown'}"


def _ip(ip: str | None) -> str | None:
    return f"ip:{ip}" if ip else None


async def ensure_allowed(store: Store, *, email: str, ip: str | None) -> None:
    """Raise TooManyLoginAttempts while the (account, address) pair, the address or the whole
    account is locked out."""
    account = _account(email)
    subjects = [await _pair(store, account, ip), account]
    ip_subject = _ip(ip)
    if ip_subject is not None:
        subjects.append(ip_subject)
    for subject in subjects:
        unlock_at = await store.get(f"login:lock:{subject}")
        if unlock_at is not None:
            retry = max(1, math.ceil(float(unlock_at) - time.time()))
            raise TooManyLoginAttempts(retry)


async def record_failure(store: Store, settings: Settings, *, email: str, ip: str | None) -> bool:
    """Count a failed attempt; lock whichever subject reached its limit. True when one locked."""
    account = _account(email)
    limits: dict[str, tuple[int, float]] = {
        await _pair(store, account, ip): (
            settings.login_max_failures_per_account_and_ip,
            settings.login_lockout_seconds,
        ),
        account: (settings.login_max_failures_per_account, settings.login_account_lockout_seconds),
    }
    ip_subject = _ip(ip)
    if ip_subject is not None:
        limits[ip_subject] = (settings.login_max_failures_per_ip, settings.login_lockout_seconds)
    locked = False
    for subject, (limit, lockout_seconds) in limits.items():
        decision = await store.hit(
            f"login:fail:{subject}", limit, settings.login_failure_window_seconds
        )
        if not decision.allowed or decision.remaining == 0:
            unlock_at = time.time() + lockout_seconds
            await store.set(f"login:lock:{subject}", repr(unlock_at).encode(), lockout_seconds)
            await store.reset(f"login:fail:{subject}")
            locked = True
    return locked


async def record_success(store: Store, *, email: str, ip: str | None) -> None:
    """A successful sign-in clears its (account, address) failures. Not the address's (one
    success from an address must not wash away an attack on other accounts from it), nor the
    account-wide count (a success from one place says nothing about the guesses elsewhere)."""
    await store.reset(f"login:fail:{await _pair(store, _account(email), ip)}")


async def is_locked(store: Store, *, email: str) -> bool:
    """Whether the account itself (not an address) is locked out of signing in now."""
    return await store.get(f"login:lock:{_account(email)}") is not None


async def unlock_account(store: Store, *, email: str) -> bool:
    """An administrator's unlock: the account-wide lock and count, and every pair's, are cleared;
    whether the account was locked. Address locks stay: they are about the address."""
    account = _account(email)
    was_locked = await store.get(f"login:lock:{account}") is not None
    await store.delete(f"login:lock:{account}")
    await store.reset(f"login:fail:{account}")
    # No expiry: one small key per account an administrator ever unlocked.
    await store.set(_epoch_key(account), repr(time.time()).encode())
    return was_locked


async def count_mail_request(
    store: Store, settings: Settings, *, kind: str, email: str, ip: str | None
) -> None:
    """Count a request that mails a link to a typed address (a password reset): at most
    `password_reset_max_per_window` per address and ten times that per client address within
    `login_failure_window_seconds`, keyed like sign-in (a hash of the address as typed, whether or
    not an account uses it), so the answer tells nothing about which addresses exist.

    Raises:
        TooManyMailRequests: past either limit (429, Retry-After).
    """
    limit, window = settings.password_reset_max_per_window, settings.login_failure_window_seconds
    subjects = [(f"mail:{kind}:{_account(email)}", limit)]
    if ip:
        subjects.append((f"mail:{kind}:ip:{ip}", limit * 10))
    for key, subject_limit in subjects:
        decision = await store.hit(key, subject_limit, window)
        if not decision.allowed:
            raise TooManyMailRequests(max(1, decision.retry_after_seconds))
