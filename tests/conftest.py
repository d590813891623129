"""Fixtures shared by the browser tests (tests/e2e), the security tests and the integration tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support import CHROMIUM_ARGS, Server, free_port, prepare_database, start_server, stop_server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium (Playwright cannot download browsers here)."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    """The app as `make run` serves it (production build, one port) on its own SQLite database
    with the demo workspace; one for the whole test session (the build takes a while)."""
    tmp = tmp_path_factory.mktemp("server")
    db_url = f"sqlite:///{tmp / 'e2e.db'}"
    prepare_database(db_url)
    # Presence runs every second and treats an agent without tabs for 4 s as gone.
    presence = {"OC_PRESENCE_SECONDS": "1", "OC_AWAY_SECONDS": "4"}
    srv = start_server(db_url, free_port(), tmp / "server.log", extra_env=presence)
    try:
        yield srv
    finally:
        stop_server(srv.proc)


@pytest.fixture
def reset(server: Server) -> Server:
    """Every test starts with all agents Offline and no open chats."""
    from sqlalchemy import update

    from online_contact.models import Agent, Chat, ChatSettings
    from online_contact.models._base import utcnow

    with server.session() as s:
        s.exec(update(Agent).values(status="offline", open_chat_count=0, max_open_chats=None, active=True, can_chat=True))
        # Off every agent's screen too (a chat the customer left is ended but stays there).
        s.exec(update(Chat).where((Chat.status != "ended") | (Chat.agent_id.is_not(None) & Chat.agent_ended_at.is_(None))).values(status="ended", agent_ended_at=utcnow()))
        s.exec(update(ChatSettings).values(chat_enabled=True, default_max_open_chats=None, queue_timeout_minutes=10,
                                           embed_origins="", embed_hide_when_offline=False,
                                           mask_rrn=True, mask_card=True, mask_phone=True, mask_account=True, mask_passport=True))
    return server


@pytest.fixture
def steady_clock(monkeypatch):
    """The throttles' counting windows are fixed (this minute, this hour): a test whose attempts
    straddled a boundary saw its count start over and its limit not reached (the per-IP chat
    test failed so once, run across 16:00:00). Within a test the throttles' clock stands still;
    a test that wants the next window passes `now` itself."""
    import time as real_time
    from types import SimpleNamespace

    from online_contact.services import limits

    frozen = real_time.time()
    monkeypatch.setattr(limits, "time", SimpleNamespace(time=lambda: frozen, monotonic=real_time.monotonic))
