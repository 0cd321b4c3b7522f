"""Identity and access: organizations, users, passwords, tokens, MFA, invitations and scopes."""
