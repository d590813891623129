"""Browser tests: a real production server (reflex run --env prod) on its own SQLite database,
driven by Debian's chromium through Playwright. Customer and agent use separate browser contexts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support import Server, free_port, prepare_database, start_server, stop_server

expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
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

    from online_contact.models import Agent, Chat

    with server.session() as s:
        s.exec(update(Agent).values(status="offline", open_chat_count=0, max_open_chats=None))
        s.exec(update(Chat).where(Chat.status != "ended").values(status="ended"))
    return server


def _context(browser: Browser, locale: str = "ko-KR") -> BrowserContext:
    ctx = browser.new_context(locale=locale, viewport={"width": 1400, "height": 900})
    return ctx


@pytest.fixture
def customer(browser: Browser, reset: Server) -> Iterator[Page]:
    ctx = _context(browser)
    page = ctx.new_page()
    yield page
    ctx.close()


@pytest.fixture
def agent(browser: Browser, reset: Server) -> Iterator[Page]:
    ctx = _context(browser)
    page = ctx.new_page()
    yield page
    ctx.close()


@pytest.fixture
def agent2(browser: Browser, reset: Server) -> Iterator[Page]:
    ctx = _context(browser)
    page = ctx.new_page()
    yield page
    ctx.close()
