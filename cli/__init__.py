"""The `omnifin` command line: serve, worker, database, demo data, users, loan math.

It sits at the top of the dependency graph beside `api` (it starts the API server), so it lives
in its own package rather than in `lending`, which must not import the web stack.
"""
