"""Browser tests: a real production server (reflex run --env prod) on its own SQLite database,
driven by Debian's chromium through Playwright. Customer and agent use separate browser contexts."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
expect.set_options(timeout=15_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2) as r:
                if r.status == 200:
                    # The frontend build is mounted once the backend answers; check the page too.
                    with urllib.request.urlopen(url + "/", timeout=5) as page:
                        if page.status == 200:
                            return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()[-4000:]}")


class Server:
    """The app under test and a way to arrange its database directly."""

    def __init__(self, url: str, db_url: str, proc: subprocess.Popen, env: dict, log: Path):
        self.url, self.db_url, self.proc, self.env, self.log = url, db_url, proc, env, log

    def session(self):
        from online_contact.services.db import session_scope

        return session_scope(self.db_url)


def server_env(db_url: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REFLEX_DB_URL": db_url,
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "PATH": f"{ROOT / '.tools/node_modules/.bin'}:{ROOT / '.venv/bin'}:{os.environ.get('PATH', '')}",
    }
    env.pop("REDIS_URL", None)
    env.pop("REFLEX_REDIS_URL", None)
    return env


def prepare_database(db_url: str) -> None:
    """Migrate and seed the demo workspace, as `make run` does."""
    env = server_env(db_url)
    for cmd in ("migrate", "seed"):
        subprocess.run([sys.executable, "-m", "online_contact.manage", cmd], cwd=ROOT, env=env, check=True)


def start_server(db_url: str, port: int, log: Path, extra_env: dict | None = None) -> Server:
    """`reflex run --env prod` on `port`, returned once the page and the backend answer."""
    env = {**server_env(db_url), **(extra_env or {})}
    reflex = str(Path(sys.executable).with_name("reflex"))
    with log.open("a") as out:
        proc = subprocess.Popen(
            [reflex, "run", "--env", "prod", "--backend-port", str(port), "--backend-host", "127.0.0.1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
    except BaseException:
        stop_server(proc)
        raise
    return Server(url, db_url, proc, env, log)


def stop_server(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop the whole process group (reflex, granian and its workers)."""
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("server")
    db_url = f"sqlite:///{tmp / 'e2e.db'}"
    prepare_database(db_url)
    srv = start_server(db_url, _free_port(), tmp / "server.log")
    try:
        yield srv
    finally:
        stop_server(srv.proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


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
