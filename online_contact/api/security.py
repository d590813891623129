"""The HTTP and websocket surface: one ASGI middleware in front of everything the app serves
(pages, the /_event websocket, /api routes).

- Host: a request whose Host header is not one of the app's (config.allowed_hosts) is refused
  with 400, websocket upgrades included, so a forged Host is never reflected in anything.
- Every response gets Content-Security-Policy, X-Content-Type-Options: nosniff and
  Referrer-Policy (and Strict-Transport-Security when OC_PUBLIC_URL is https). Scripts: the app's own files and the production build's inline scripts, by
  their SHA-256 (no 'unsafe-inline', no eval: a script the server did not build never runs).
- Framing: every page but /widget refuses to be framed (frame-ancestors 'none', and
  X-Frame-Options: DENY for older browsers); /widget may be framed by the app itself and by the
  sites allowed under 설정 › 채팅화면 삽입 코드 (any site when none are listed: services.embed).
- Websocket and CORS origins are Reflex's cors_allowed_origins (rxconfig.py, config.public_origins).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from functools import lru_cache

from online_contact.config import allowed_hosts, public_origins

logger = logging.getLogger("online_contact.security")

FRAMEABLE = ("/widget",)
# Scripts other sites load, never a document: a page's policy means nothing on them, and its
# two kilobytes would be most of what each of the sites' page views fetches (embed.js).
NOT_DOCUMENTS = ("/embed.js",)
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


@lru_cache(maxsize=1)
def _inline_script_hashes(build_stamp: float) -> tuple[str, ...]:
    """'sha256-…' of every inline script of the built pages (the build is fixed while serving)."""
    from online_contact.realtime.reflex_internals import built_pages_dir

    hashes = set()
    for page in built_pages_dir().rglob("*.html"):
        for body in _INLINE_SCRIPT.findall(page.read_bytes()):
            hashes.add("'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'")
    return tuple(sorted(hashes))


def _build_stamp() -> float:
    from online_contact.realtime.reflex_internals import built_pages_dir

    index = built_pages_dir() / "index.html"
    return index.stat().st_mtime if index.exists() else 0.0


def _websocket_sources() -> str:
    """The app's own origins as websocket sources (the page's socket goes to where it came from)."""
    sources = []
    for origin in public_origins():
        scheme, rest = origin.split("://", 1)
        sources.append(("wss://" if scheme == "https" else "ws://") + rest)
    return " ".join(sources)


def content_security_policy(path: str) -> str:
    from online_contact.services import embed

    # /widget: the sites of 설정 › 채팅화면 삽입 코드 (any when none are listed); the rest: none.
    frame = embed.frame_ancestors() if _frameable(path) else "'none'"
    scripts = " ".join(("'self'", *_inline_script_hashes(_build_stamp())))
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            # Radix and Emotion set styles inline.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            f"connect-src 'self' {_websocket_sources()}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame}",
        )
    )


def _frameable(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") or path.startswith(p + "?") or path == p + ".html" for p in FRAMEABLE)


def _host_of(scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == b"host":
            return value.decode("latin-1")
    return ""


_HOST = re.compile(r"(?:(?P<name>[a-z0-9.-]+)|\[(?P<ip6>[0-9a-f:]+)\])(?::\d{1,5})?")


def _hostname(host: str) -> str:
    """The host name of a Host header ('' when it is not a well-formed host[:port])."""
    found = _HOST.fullmatch(host.strip().lower())
    return (found.group("name") or found.group("ip6")) if found else ""


class SecurityMiddleware:
    """See the module docstring."""

    def __init__(self, app) -> None:
        self.app = app
        self.hosts = set(allowed_hosts())
        # Served over HTTPS (OC_PUBLIC_URL says so): browsers are told to keep to it.
        self.https = all(o.startswith("https://") for o in public_origins())

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = _host_of(scope)
        if _hostname(host) not in self.hosts:
            logger.warning("refused a request for an unknown host (%d chars)", len(host))
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return None
            await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"Invalid host"})
            return None
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        extra = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]
        if path not in NOT_DOCUMENTS:
            extra.append((b"content-security-policy", content_security_policy(path).encode()))
            if not _frameable(path):
                extra.append((b"x-frame-options", b"DENY"))
            else:
                # Which sites may frame it changes with the settings: never from a cache.
                extra.append((b"cache-control", b"no-store"))
        if self.https:
            extra.append((b"strict-transport-security", b"max-age=31536000"))

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in extra}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": headers + extra}
            await send(message)

        return await self.app(scope, receive, send_with_headers)
