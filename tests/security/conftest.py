"""Security tests: the attacks of issue #10, tried as an attacker would (raw socket.io clients
against the real server, events straight into Reflex's pipeline, hostile inputs).

The service-level fixtures are the unit tests' (a fresh migrated SQLite file per test)."""

from playwright.sync_api import expect

from tests.unit.conftest import (  # noqa: F401  (fixtures)
    app,
    db_templates,
    db_url,
    empty_db_url,
    empty_session,
    fast_bcrypt,
    make,
    make_empty,
    no_message_rate_limit,
    session,
)

expect.set_options(timeout=15_000)
