"""Nobody is locked out, on a real server behind a proxy (OC_TRUSTED_PROXY_HOPS=1, the client
address taken from X-Forwarded-For): an attacker's wrong passwords slow down the attacker's
address, never the real user logging in from another one (issue 23, found on a live server)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlmodel import func, select

from bench.reflex_client import AUTH, NAMESPACE, ROOT, VISITOR_KEY
from online_contact.models import AuditLog
from tests.e2e.helpers import login
from tests.support import Server, free_port, prepare_database, run_async, start_server, stop_server

from .raw_client import RecordingTab

SUBMIT = f"{AUTH}.online_contact___states___auth____login_state.submit"
ATTACKER, PERSON = "203.0.113.71", "198.51.100.71"
SLOWED = "이 IP 주소에서 이 계정의 로그인 실패가 너무 많습니다."


@pytest.fixture(scope="module")
def proxied(tmp_path_factory) -> Iterator[Server]:
    """The app behind one trusted proxy. The per-address window is long here: the throttles'
    windows are fixed, and five tries straddling the end of a 60 s window would start over
    (tests/conftest.steady_clock does this for the in-process tests)."""
    tmp = tmp_path_factory.mktemp("proxied")
    db_url = f"sqlite:///{tmp / 'proxied.db'}"
    prepare_database(db_url)
    env = {"OC_TRUSTED_PROXY_HOPS": "1", "OC_LIMIT_LOGIN_PER_ACCOUNT_IP": "5/1000000000"}
    srv = start_server(db_url, free_port(), tmp / "server.log", extra_env=env)
    try:
        yield srv
    finally:
        stop_server(srv.proc)


async def _tab_from(server: Server, ip: str) -> RecordingTab:
    """A raw socket.io tab on /login whose proxy says it comes from `ip`."""
    tab = RecordingTab(server.url, "/login", {VISITOR_KEY: uuid.uuid4().hex})
    hydrate = {"name": f"{ROOT}.hydrate_and_load", "payload": {"vars": tab.storage}, "router_data": tab._router_data()}
    await tab.sio.connect(
        f"{server.url}?token={tab.token}", socketio_path="/_event", transports=["websocket"],
        headers={"X-Forwarded-For": ip}, auth={"event": hydrate}, namespaces=[NAMESPACE], wait_timeout=10,
    )
    return tab


def _audit(server: Server, action: str, ip: str) -> int:
    with server.session() as s:
        return s.exec(select(func.count()).select_from(AuditLog).where(AuditLog.action == action, AuditLog.ip == ip)).one()


async def _until(check, timeout: float = 15.0) -> None:
    """Wait for what the server writes (the audit log) to show the attempt was handled."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "the server did not handle the attempt"
        await asyncio.sleep(0.05)


def _attack(server: Server, email: str) -> None:
    """Five wrong passwords for `email` from ATTACKER, then the right one, which is slowed down."""

    async def scenario():
        tab = await _tab_from(server, ATTACKER)
        try:
            for n in range(1, 6):
                await tab.emit(SUBMIT, form_data={"email": email, "password": f"guess-{n}"})
                await _until(lambda n=n: _audit(server, "login.failed", ATTACKER) >= n)
            await tab.emit(SUBMIT, form_data={"email": email, "password": "agent1234"})
            await tab.wait_for(SLOWED, timeout=15)
        finally:
            await tab.close()

    run_async(scenario())


def test_wrong_passwords_from_one_address_leave_the_person_at_another_to_log_in(browser, proxied):
    _attack(proxied, "agent2@example.com")
    assert _audit(proxied, "login.throttled", ATTACKER) == 1

    # agent2, at their own desk behind the same proxy, logs in as on any other day.
    ctx = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 900},
                              extra_http_headers={"X-Forwarded-For": PERSON})
    try:
        login(ctx.new_page(), proxied.url, "agent2@example.com")
    finally:
        ctx.close()
    assert _audit(proxied, "login.success", PERSON) == 1

    # The attacking address stays slowed down for agent2, the right password included.
    async def again():
        tab = await _tab_from(proxied, ATTACKER)
        try:
            await tab.emit(SUBMIT, form_data={"email": "agent2@example.com", "password": "agent1234"})
            await tab.wait_for(SLOWED, timeout=15)
        finally:
            await tab.close()

    run_async(again())
    assert _audit(proxied, "login.success", ATTACKER) == 0
