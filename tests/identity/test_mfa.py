"""TOTP two-factor authentication: enrolment, sign-in with a code, replay, recovery, requirement."""

from __future__ import annotations

import time

import httpx
import pyotp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.audit import AuditEvent
from lending.models.identity import Role
from tests.identity.factories import (
    PASSWORD,
    bearer,
    create_organization,
    create_user,
    issue_token,
    platform_organization,
)


async def _login(client: httpx.AsyncClient, email: str, otp: str | None = None) -> httpx.Response:
    body = {"email": email, "password": PASSWORD}
    if otp is not None:
        body["otp"] = otp
    return await client.post("/api/v1/auth/token", json=body)


async def _enrol(client: httpx.AsyncClient, token: str) -> tuple[pyotp.TOTP, list[str], float]:
    """Enrol and confirm; the TOTP, the recovery codes and the time whose code was used."""
    enrollment = await client.post("/api/v1/mfa/enroll", headers=bearer(token))
    assert enrollment.status_code == 200, enrollment.text
    totp = pyotp.TOTP(enrollment.json()["secret"])
    now = time.time()
    confirmed = await client.post(
        "/api/v1/mfa/confirm", headers=bearer(token), json={"code": totp.at(now)}
    )
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"], now


async def test_enrolment_gives_a_secret_uri_and_qr_code_and_keeps_it_encrypted(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)

    response = await client.post("/api/v1/mfa/enroll", headers=bearer(token))

    assert response.status_code == 200
    body = response.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/Omnifin:")
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    assert body["qr_svg_data_uri"].startswith("data:image/svg+xml")
    await session.refresh(user)
    assert user.mfa_secret_encrypted is not None
    assert body["secret"].encode() not in user.mfa_secret_encrypted
    assert user.mfa_enabled_at is None  # not in force until confirmed
    status = await client.get("/api/v1/mfa", headers=bearer(token))
    assert status.json() == {
        "enabled": False,
        "pending": True,
        "required": False,
        "recovery_codes_remaining": 0,
    }


async def test_a_wrong_confirmation_code_does_not_turn_mfa_on(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)
    await client.post("/api/v1/mfa/enroll", headers=bearer(token))

    response = await client.post(
        "/api/v1/mfa/confirm", headers=bearer(token), json={"code": "000000"}
    )

    assert response.status_code == 422
    assert (await client.get("/api/v1/mfa", headers=bearer(token))).json()["enabled"] is False


async def test_sign_in_then_needs_a_code_and_a_code_works_once(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)
    totp, codes, confirmed_at = await _enrol(client, token)
    assert len(codes) == 10
    assert len(set(codes)) == 10

    without = await _login(client, user.email)
    # The confirmation used this step's code; the next step's is still inside the window.
    next_code = totp.at(confirmed_at + 30)
    with_code = await _login(client, user.email, next_code)
    replayed = await _login(client, user.email, next_code)
    older = await _login(client, user.email, totp.at(confirmed_at))

    assert without.status_code == 401
    assert without.json()["error"] == "OtpRequired"
    assert with_code.status_code == 200, with_code.text
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "InvalidOtp"
    assert older.status_code == 401
    assert older.json()["error"] == "InvalidOtp"


async def test_the_confirmation_code_cannot_be_replayed_to_sign_in(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)
    totp, _, confirmed_at = await _enrol(client, token)

    replayed = await _login(client, user.email, totp.at(confirmed_at))

    assert replayed.status_code == 401
    assert replayed.json()["error"] == "InvalidOtp"


async def test_a_recovery_code_signs_in_once(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)
    _, codes, _ = await _enrol(client, token)

    first = await _login(client, user.email, codes[0].upper())  # case and dashes do not matter
    again = await _login(client, user.email, codes[0])

    assert first.status_code == 200, first.text
    assert again.status_code == 401
    new_token = first.json()["access_token"]
    status = await client.get("/api/v1/mfa", headers=bearer(new_token))
    assert status.json()["recovery_codes_remaining"] == 9


async def test_disabling_needs_the_password_and_a_code(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)
    totp, _, confirmed_at = await _enrol(client, token)

    wrong_password = await client.post(
        "/api/v1/mfa/disable",
        headers=bearer(token),
        json={"password": "not-the-password", "code": totp.at(confirmed_at + 30)},
    )
    wrong_code = await client.post(
        "/api/v1/mfa/disable", headers=bearer(token), json={"password": PASSWORD, "code": "123456"}
    )
    disabled = await client.post(
        "/api/v1/mfa/disable",
        headers=bearer(token),
        json={"password": PASSWORD, "code": totp.at(confirmed_at + 30)},
    )

    assert wrong_password.status_code == 422
    assert wrong_code.status_code == 422
    assert disabled.status_code == 204, disabled.text
    assert (await _login(client, user.email)).status_code == 200
    actions = (
        await session.execute(
            select(AuditEvent.action)
            .where(AuditEvent.subject_id == str(user.id), AuditEvent.action.like("mfa.%"))
            .order_by(AuditEvent.id)
        )
    ).scalars()
    assert list(actions) == ["mfa.enrollment_started", "mfa.enabled", "mfa.disabled"]


async def test_recovery_codes_can_be_replaced(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)
    totp, old_codes, confirmed_at = await _enrol(client, token)

    response = await client.post(
        "/api/v1/mfa/recovery-codes",
        headers=bearer(token),
        json={"code": totp.at(confirmed_at + 30)},
    )

    assert response.status_code == 200
    new_codes = response.json()["recovery_codes"]
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    assert (await _login(client, user.email, old_codes[0])).status_code == 401
    assert (await _login(client, user.email, new_codes[0])).status_code == 200


async def test_a_required_role_without_mfa_gets_an_enrolment_only_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)  # required by default

    login = await _login(client, admin.email)

    assert login.status_code == 200
    assert login.json()["mfa_enrollment_required"] is True
    limited = login.json()["access_token"]
    refused = await client.get("/api/v1/users", headers=bearer(limited))
    assert refused.status_code == 403
    assert refused.json()["error"] == "MfaEnrollmentRequired"
    assert (await client.get("/api/v1/me", headers=bearer(limited))).json()["mfa_required"]

    totp, _, confirmed_at = await _enrol(client, limited)

    assert (await client.get("/api/v1/me", headers=bearer(limited))).status_code == 401
    full = await _login(client, admin.email, totp.at(confirmed_at + 30))
    assert full.json()["mfa_enrollment_required"] is False
    users = await client.get("/api/v1/users", headers=bearer(full.json()["access_token"]))
    assert users.status_code == 200


async def test_mfa_cannot_be_turned_off_where_it_is_required(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    secret = pyotp.random_base32()
    admin = await create_user(
        session, role=Role.PLATFORM_ADMIN, mfa_secret=secret, settings=settings
    )
    token = await issue_token(session, admin, settings=settings)

    response = await client.post(
        "/api/v1/mfa/disable",
        headers=bearer(token),
        json={"password": PASSWORD, "code": pyotp.TOTP(secret).now()},
    )

    assert response.status_code == 409


async def test_a_firm_can_require_mfa_for_its_brokers(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await create_user(
        session, role=Role.PLATFORM_ADMIN, mfa_secret=pyotp.random_base32(), settings=settings
    )
    admin_token = await issue_token(session, admin, settings=settings)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    borrower = await create_user(session, organization=firm, role=Role.BORROWER)
    broker_token = await issue_token(session, broker, settings=settings)
    assert (await _login(client, broker.email)).json()["mfa_enrollment_required"] is False

    updated = await client.patch(
        f"/api/v1/organizations/{firm.id}",
        headers=bearer(admin_token),
        json={"mfa_required_roles": ["broker", "broker_manager"]},
    )

    assert updated.status_code == 200, updated.text
    # Tokens obtained without MFA stop working; signing in again gives an enrolment-only one.
    assert (await client.get("/api/v1/me", headers=bearer(broker_token))).status_code == 401
    assert (await _login(client, broker.email)).json()["mfa_enrollment_required"] is True
    assert (await _login(client, borrower.email)).json()["mfa_enrollment_required"] is False


async def test_mfa_roles_must_be_staff_roles(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await create_user(
        session, role=Role.PLATFORM_ADMIN, mfa_secret=pyotp.random_base32(), settings=settings
    )
    token = await issue_token(session, admin, settings=settings)
    platform = await platform_organization(session)

    response = await client.patch(
        f"/api/v1/organizations/{platform.id}",
        headers=bearer(token),
        json={"mfa_required_roles": ["borrower"]},
    )

    assert response.status_code == 422
    await session.refresh(platform)
    assert platform.mfa_required_roles is None
