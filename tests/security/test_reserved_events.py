"""A client's ordinary event named like the connection's own ('connect', 'disconnect') is
dropped on every namespace (issue 23's attacker review, on a live server): python-socketio hands
such an event to the namespace's on_connect / on_disconnect with arguments the client chose, so a
forged 'connect' made Reflex take the connection's client address from the client's "environ"
(any IP for the login throttles and the per-IP limits), and a forged 'disconnect' on /_wire reset
the socket's allowance of joins and watches."""

from __future__ import annotations

import asyncio
import uuid

from sqlmodel import select

from bench.reflex_client import AUTH, NAMESPACE, VISITOR_KEY, WIRE
from online_contact.models import Agent, AuditLog
from online_contact.realtime.wire import JOIN_BURST
from online_contact.services.auth import start_session
from tests.support import Server, run_async

from .raw_client import RecordingTab

SUBMIT = f"{AUTH}.online_contact___states___auth____login_state.submit"
FORGED_IP = "198.51.100.99"


def _failed_logins(server: Server, email_like: str) -> list[str]:
    with server.session() as s:
        rows = s.exec(select(AuditLog).where(AuditLog.action == "login.failed").order_by(AuditLog.id)).all()
        return [row.ip for row in rows if email_like in (row.detail or "")]


def test_a_forged_connect_event_does_not_change_the_connections_address(server):
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"

    async def scenario():
        tab = RecordingTab(server.url, "/login", {VISITOR_KEY: uuid.uuid4().hex})
        await tab.connect()
        try:
            forged = {"QUERY_STRING": f"token={tab.token}", "asgi.scope": {"client": [FORGED_IP, 1234], "headers": []}}
            await tab.sio.emit("connect", forged, namespace=NAMESPACE)
            await tab.emit(SUBMIT, form_data={"email": email, "password": "wrong-password"})
            deadline = asyncio.get_running_loop().time() + 15
            while not _failed_logins(server, email):
                assert asyncio.get_running_loop().time() < deadline, "the login was not handled"
                await asyncio.sleep(0.05)
        finally:
            await tab.close()

    run_async(scenario())
    assert _failed_logins(server, email) == ["127.0.0.1"]  # the peer's address, not the forged one


def test_a_forged_disconnect_event_does_not_reset_a_sockets_allowance(server):
    with server.session() as s:
        token = start_session(s, s.exec(select(Agent).where(Agent.email == "agent2@example.com")).one())
    answers: list[dict] = []

    async def scenario():
        tab = RecordingTab(server.url, "/agent", {}, wire={"role": "agent", "credential": token})
        await tab.connect()
        try:
            watch = lambda: tab.sio.call("watch", {"chat_id": 0}, namespace=WIRE, timeout=15)  # noqa: E731
            spent = await asyncio.gather(*(watch() for _ in range(JOIN_BURST + 2)))
            assert any(a.get("error") == "error.too_fast" for a in spent)  # the allowance is used up
            await tab.sio.emit("disconnect", namespace=WIRE)
            answers.extend(await asyncio.gather(*(watch() for _ in range(JOIN_BURST))))
            assert tab.sio.connected  # the socket itself is still there
        finally:
            await tab.close()

    run_async(scenario())
    # A reset allowance would have answered all of them; an intact one refills 5 a second.
    assert sum(1 for a in answers if a.get("ok")) < JOIN_BURST
