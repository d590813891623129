"""채팅화면 삽입 코드, defined once: the sites allowed to embed the chat, what the loader
(/embed.js) is told, the code a site owner pastes, and the /widget's frame-ancestors.

The settings screen, the /embed.js route and the security middleware all read it from here."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from sqlmodel import Session

from online_contact import routes

from . import audit
from .errors import ServiceError
from .text import LIMITS, clean

MAX_ORIGINS = 50
MAX_ORIGINS_TEXT = 5000
# scheme://host[:port] and nothing else (a path, a query or a wildcard is not an origin).
# (CSP host sources cannot name an IPv6 address; a domain outside ASCII is typed as punycode.)
_ORIGIN = re.compile(r"https?://[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::(?P<port>\d{1,5}))?")
_DEFAULT_PORT = {"http": ":80", "https": ":443"}
MAX_PAGE_URL = LIMITS["channel"]  # what a chat keeps of its page
# And at most this many bytes of it (UTF-8): the channel is in 채팅 기록's PostgreSQL index
# (ix_chat_history), whose btree refuses a row over 2,704 bytes — 2,000 Hangul characters of a
# path failed the chat's INSERT.
MAX_PAGE_BYTES = 2000


def parse_origins(text) -> list[str]:
    """The allowed sites as typed (one per line, or separated by commas or spaces): each an
    origin like https://www.example.com (a trailing / is forgiven). ServiceError naming the first
    line that is not one; duplicates are dropped, the order kept."""
    if not isinstance(text, str) or len(text) > MAX_ORIGINS_TEXT:
        raise ServiceError("error.embed_origins_too_long", max=MAX_ORIGINS)
    found: list[str] = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        origin = item.strip().lower().rstrip("/")
        match = _ORIGIN.fullmatch(origin)
        if not match or (match.group("port") and not 0 < int(match.group("port")) < 65536):
            raise ServiceError("error.embed_origin_invalid", value=item[:80])
        scheme = origin.split(":", 1)[0]
        if origin.endswith(_DEFAULT_PORT[scheme]):
            origin = origin[: -len(_DEFAULT_PORT[scheme])]  # as browsers name it
        if origin not in found:
            found.append(origin)
    if len(found) > MAX_ORIGINS:
        raise ServiceError("error.embed_origins_too_long", max=MAX_ORIGINS)
    return found


def origins_of(settings) -> list[str]:
    """The stored sites (checked again: only origins ever reach a header or the loader)."""
    return [o for o in (settings.embed_origins or "").split("\n") if _ORIGIN.fullmatch(o)]


def _page_parts(url) -> tuple[str, str] | None:
    """(origin, path) of an http(s) page URL as browsers name them (scheme and host lower-case,
    no user:password@, no default port), or None when it is not one."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(clean(url).strip()[:MAX_PAGE_URL])
        port = parts.port
    except ValueError:  # a port that is not a number, a malformed IPv6 address
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORT or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    origin = f"{scheme}://{host}" + (f":{port}" if port is not None and f":{port}" != _DEFAULT_PORT[scheme] else "")
    return origin, parts.path


def page_channel(url) -> str:
    """An embedding page as a chat records it (its 채널, shown in 고객정보, 통계's 채널별 and the
    export): origin and path only, '' when `url` is not an http(s) page. The query and the
    fragment are dropped, and path parameters (`;jsessionid=…`) with them: that is where sites
    keep a visitor's email, session and reset tokens, which an agent must never be shown. The
    loader sends no more (embed.js), and /widget?page= and start_chat pass what they are given
    through here, so a page sending more changes nothing. Defined once: the site check reads it
    too (migration 0011 keeps its own frozen copy, as it was then: a change here leaves it alone)."""
    parts = _page_parts(url)
    if parts is None:
        return ""
    origin, path = parts
    channel = (origin + (path.split(";", 1)[0] or "/"))[:MAX_PAGE_URL]
    return channel.encode()[:MAX_PAGE_BYTES].decode("utf-8", "ignore")  # a character cut in two goes


def site_allowed(settings, page_url: str) -> bool:
    """Whether a page (its origin) may embed the chat: any when no site is listed."""
    allowed = origins_of(settings)
    if not allowed:
        return True
    parts = _page_parts(page_url)
    return parts is not None and parts[0] in allowed


def save(session: Session, actor_id: int, *, origins_text, hide_when_offline, ip: str = "") -> bool:
    """설정 › 채팅화면 삽입 코드 › 저장: the allowed sites and 상담원이 없으면 숨기기. Checked first,
    then written in one transaction, audited (before → after). Returns whether anything changed."""
    from .settings import get_settings

    if not isinstance(hide_when_offline, bool):
        raise ServiceError("error.value_invalid")
    allowed = parse_origins(origins_text)
    settings = get_settings(session)
    before = {"origins": origins_of(settings), "hide_when_offline": settings.embed_hide_when_offline}
    settings.embed_origins = "\n".join(allowed)
    settings.embed_hide_when_offline = hide_when_offline
    session.add(settings)
    session.commit()
    return audit.record_change(
        session, audit.SETTINGS_CHANGED, actor_id=actor_id, target_type="embed", target_id=settings.id,
        before=before, after={"origins": allowed, "hide_when_offline": hide_when_offline}, ip=ip,
    )


def loader_config(session: Session, app_origin: str) -> dict:
    """What /embed.js is told: whether to draw the launcher at all (chat on; and, when the admin
    chose 상담원이 없으면 숨기기, someone Online) and on which sites."""
    from .routing import any_agent_online
    from .settings import get_settings

    settings = get_settings(session)
    shown = settings.chat_enabled and not (settings.embed_hide_when_offline and not any_agent_online(session))
    return {"app": app_origin, "enabled": bool(shown), "origins": origins_of(settings)}


def snippet(public_origin: str, language: str) -> str:
    """The one line a site owner pastes before </body>."""
    src = html.escape(f"{public_origin}{routes.EMBED_JS}", quote=True)
    return f'<script async src="{src}" data-lang="{html.escape(language, quote=True)}"></script>'


def frame_ancestors() -> str:
    """The CSP frame-ancestors of /widget: the app itself (the settings' preview) and exactly the
    allowed sites, or any site when none are listed. Read on each /widget response (one small
    query per chat window opened), so a change applies at once in every worker."""
    from .db import session_scope
    from .settings import get_settings

    try:
        with session_scope() as session:
            allowed = origins_of(get_settings(session))
    except Exception:  # noqa: BLE001 - the database away: no other site may frame it meanwhile
        return "'self'"
    return " ".join(("'self'", *allowed)) if allowed else "*"
