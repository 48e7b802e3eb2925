"""Monitoring in production: what the guarded server answered, redacted, flagged and reviewed.

- ``store``: the tables (SQLAlchemy; SQLite in WAL mode by default, PostgreSQL by URL) and
  their Alembic migrations;
- ``redact``: personal data out of text before anything is written;
- ``conflict``: high-conflict conversations (repeated pushback, hostility, policy overrides);
- ``recorder``: the serve app's bounded queue and writer thread (never blocks a request);
- ``reviewers`` and ``web``: reviewer accounts, the chat page and the review pages;
- ``report`` and ``export``: flags by principle and day; flagged conversations and reviewed
  corrections back into the data contracts for the next data round.
"""
