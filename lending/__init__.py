"""The Postgres core of Omnifin: configuration, database, models and one package per domain."""
