"""The HTTP and websocket surface of the real server: headers, framing, Host, origins, and the
client address behind (no) proxies."""

from __future__ import annotations

import asyncio
import http.client
import uuid
from urllib.parse import urlsplit

import pytest
import socketio
from sqlmodel import select

from bench.reflex_client import AUTH, VISITOR_KEY
from online_contact.models import AuditLog
from tests.support import run_async

from .raw_client import RecordingTab

PAGES = ["/", "/login", "/agent", "/agent/tickets", "/inquiry", "/widget"]


def _get(server, path: str, host: str | None = None, method: str = "GET", headers: dict | None = None):
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest(method, path, skip_host=True)
    conn.putheader("Host", parts.netloc if host is None else host)
    for name, value in (headers or {}).items():
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status in (307, 308) and method == "GET" and host is None:  # /login -> /login/
        return _get(server, urlsplit(response.getheader("Location")).path, headers=headers)
    return response, body


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_strict_policy_and_only_the_widget_may_be_framed(server, path):
    response, _ = _get(server, path)
    assert response.status == 200
    csp = response.getheader("Content-Security-Policy")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert "'sha256-" in directives["script-src"]  # the build's own inline scripts, by hash
    port = urlsplit(server.url).port
    assert directives["connect-src"] == f"'self' ws://localhost:{port} ws://127.0.0.1:{port}"
    assert directives["object-src"] == "'none'"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("Referrer-Policy") == "strict-origin-when-cross-origin"
    if path == "/widget":
        assert directives["frame-ancestors"] == "*" and response.getheader("X-Frame-Options") is None
        assert response.getheader("Cache-Control") == "no-store"  # its policy follows the settings
    else:
        assert directives["frame-ancestors"] == "'none'" and response.getheader("X-Frame-Options") == "DENY"


def test_scripts_and_api_routes_get_the_headers_too(server):
    for path in ("/chat_input.js", "/api/health", "/embed.js"):
        response, _ = _get(server, path)
        assert response.status == 200
        assert response.getheader("X-Content-Type-Options") == "nosniff", path


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "", "a" * 300,
                                  "localhost:1 *", "localhost:80:80", "127.0.0.1\tevil", "[::1]x"])
def test_a_forged_host_is_refused_and_never_reflected(server, host):
    response, body = _get(server, "/", host=host)
    assert response.status == 400
    assert b"evil" not in body and (not host or host.encode() not in body)


def test_a_websocket_from_another_origin_is_refused(server):
    async def scenario():
        for origin, allowed in (("http://evil.example", False), (server.url, True)):
            client = socketio.AsyncClient(reconnection=False)
            try:
                await client.connect(
                    f"{server.url}?token={uuid.uuid4()}", socketio_path="/_event", transports=["websocket"],
                    headers={"Origin": origin}, namespaces=["/_event"], wait_timeout=10,
                )
                assert allowed, origin
            except socketio.exceptions.ConnectionError:
                assert not allowed, origin
            finally:
                await client.disconnect()

    run_async(scenario())


def test_cors_allows_only_the_apps_own_origin(server):
    for origin, allowed in (("http://evil.example", False), (server.url, True)):
        response, _ = _get(server, "/api/health", method="OPTIONS", headers={
            "Origin": origin, "Access-Control-Request-Method": "GET"})
        assert (response.getheader("Access-Control-Allow-Origin") == origin) is allowed, origin


def test_a_forged_x_forwarded_for_is_not_taken_for_the_client_address(reset):
    """With no trusted proxy (OC_TRUSTED_PROXY_HOPS=0) the peer address is the client's, so a
    script cannot dodge the per-IP throttles or put another address in the audit log."""
    server = reset

    async def scenario():
        tab = RecordingTab(server.url, "/login", {VISITOR_KEY: uuid.uuid4().hex})
        await tab.sio.connect(
            f"{server.url}?token={tab.token}", socketio_path="/_event", transports=["websocket"],
            headers={"X-Forwarded-For": "203.0.113.66"}, namespaces=["/_event"], wait_timeout=10,
        )
        marker = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        await tab.emit(f"{AUTH}.online_contact___states___auth____login_state.submit",
                       form_data={"email": marker, "password": "guess"})
        for _ in range(100):
            with server.session() as s:
                row = s.exec(select(AuditLog).where(AuditLog.detail == f"email={marker}")).first()
            if row is not None:
                break
            await asyncio.sleep(0.05)
        await tab.close()
        assert row is not None and row.action == "login.failed"
        assert row.ip == "127.0.0.1"

    run_async(scenario())
