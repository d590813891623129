"""Security tests: the attacks of issue #10, tried as an attacker would (raw socket.io clients
against the real server, events straight into Reflex's pipeline, hostile inputs).

The service-level fixtures are the unit tests' (a fresh migrated SQLite file per test)."""

import pytest
from playwright.sync_api import expect

from online_contact.realtime.wire import WIRE
from tests.support import RecordingSocketServer

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


@pytest.fixture
def wire_sockets(monkeypatch):
    """The message path's namespace with a recording server in place of the socket server."""
    server = RecordingSocketServer()
    monkeypatch.setattr(WIRE, "server", server, raising=False)
    monkeypatch.setattr(WIRE, "_redis", None)
    return server
