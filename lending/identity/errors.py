"""The identity domain's errors, refinements of lending.errors (the envelope names the subclass)."""

from __future__ import annotations

from lending.errors import Conflict, NotAuthenticated, PermissionDenied, RateLimited


class LoginFailed(NotAuthenticated):
    """A refused sign-in that counts towards throttling and is audited."""


class InvalidCredentials(LoginFailed):
    # Same words whether the email is unknown, the password wrong or the account disabled.
    message = "The email or password is incorrect."


class InvalidOtp(LoginFailed):
    message = "The one-time code is not valid, or was already used."


class OtpRequired(NotAuthenticated):
    message = (
        "This account uses two-factor authentication: send the 6-digit code from your "
        "authenticator app (or a recovery code) as `otp`."
    )


class TooManyLoginAttempts(RateLimited):
    message = "Too many failed sign-in attempts; try again later."


class MfaEnrollmentRequired(PermissionDenied):
    message = (
        "Your organization requires two-factor authentication for your role: enrol with "
        "POST /api/v1/mfa/enroll, confirm with POST /api/v1/mfa/confirm, then sign in again."
    )


class TooManyMailRequests(RateLimited):
    message = "Too many requests for this address; try again later."


class EmailNotVerified(Conflict):
    message = (
        "Confirm your e-mail address before submitting an application: open the link we sent "
        "you, or ask for a new one."
    )
