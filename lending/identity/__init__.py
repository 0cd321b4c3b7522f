"""Identity and access: organizations, users, passwords, tokens, MFA, invitations and scopes.

One module per concern, each with one service singleton named after its noun: `accounts.account`
(registration, password change), `sign_in.sign_in`, `sessions.token`, `second_factor.mfa`,
`organizations.organization`, `users.user`, `invitations.invitation`; callers import them with a
`_service` suffix. Services never commit: the caller owns the transaction (the request's session
dependency, the CLI's `transaction`). Every permission is checked in the services and not only in
the routes, because the assistant's tools call these same services. What an actor may not see is
NotFound, never PermissionDenied: PermissionDenied only answers "your role cannot do this at all".
"""
