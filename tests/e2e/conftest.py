"""Browser tests: a real production server (reflex run --env prod) on its own SQLite database,
driven by Debian's chromium through Playwright. Customer and agent use separate browser contexts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support import Server

expect.set_options(timeout=15_000)


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
