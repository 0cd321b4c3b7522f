"""The back office: a server-rendered sub-application mounted by the API app at /admin.

Every action calls the same lending services as the REST API, so permissions, validation, audit
and maker-checker are the same; see docs/DECISIONS.md, "Back office (issue 17)".
"""
