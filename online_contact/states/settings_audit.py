"""설정 › 감사 로그: every settings change, agent-management action, login, access to personal data
(chats opened in 채팅 기록, exports) and privacy action, newest first, filterable by person and
by kind of action."""

from __future__ import annotations

import json

import reflex as rx
from sqlmodel import select

from online_contact.config import local_time
from online_contact.models import Agent
from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import audit
from online_contact.services.db import session_scope
from online_contact.services.text import as_text, parse_id

from .auth import AuthState
from .guard import require_role

PAGE = 100
MAX_SHOWN = 1000  # entries a tab holds; narrow the filters for older ones
# The filter's kinds of action: the prefixes of AuditLog.action each one shows. 개인정보 접근 is
# what PIPA's safety-measures standard calls access records: chats opened in 채팅 기록, exports.
KINDS = {
    "settings.": ("settings.",), "category.": ("category.",), "account.": ("account.",), "login.": ("login.",),
    "export.": ("export.",), "access.": ("access.", "export."), "privacy.": ("privacy.",),
}


def _detail(text: str) -> str:
    """A change as 'field: before → after', one per line (other details as they are)."""
    try:
        diff = json.loads(text)
    except (ValueError, TypeError):
        return text
    if not isinstance(diff, dict):
        return text
    pairs = "\n".join(
        f"{field}: {pair[0] if pair[0] not in (None, '') else '—'} → {pair[1] if pair[1] not in (None, '') else '—'}"
        for field, pair in diff.items()
        if isinstance(pair, list) and len(pair) == 2
    )
    if pairs:
        return pairs
    # Other details (an export: its conditions and row counts), one "key: value" per line.
    return "\n".join(
        f"{key}: " + (", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else str(value))
        for key, value in diff.items()
    ) or text


class AuditLogState(AuthState):
    entries: list[dict] = []
    admins: list[dict[str, str]] = []
    actor_filter: str = ""
    kind_filter: str = ""
    more: bool = False

    def _forget_screen(self) -> None:
        self.entries, self.admins, self.more = [], [], False

    def _query(self, session, before_id: int | None = None) -> list[dict]:
        rows = audit.recent(session, action_prefix=KINDS.get(self.kind_filter, ()), limit=PAGE + 1,
                            actor_id=parse_id(self.actor_filter) or None, before_id=before_id)
        self.more = len(rows) > PAGE
        names = {agent_id: name for agent_id, name in session.exec(select(Agent.id, Agent.name))}
        return [
            {"id": r.id, "at": local_time(r.created_at, "%Y-%m-%d %H:%M:%S"), "who": names.get(r.actor_agent_id, "—"),
             "action": r.action, "target": f"{r.target_type} #{r.target_id}" if r.target_id else r.target_type,
             "ip": r.ip, "detail": _detail(r.detail) + (f"\n사유 / reason: {r.reason}" if r.reason else "")}
            for r in rows[:PAGE]
        ]

    @rx.event
    @require_role(ROLE_ADMIN)
    def load_audit(self):
        """on_load of /settings/audit."""
        with session_scope() as session:
            # Everyone who can be in it: agents too (what they opened in 채팅 기록, their logins).
            self.admins = [{"id": str(a.id), "name": f"{a.name} ({a.email})"}
                           for a in session.exec(select(Agent).order_by(Agent.name))]
            self.entries = self._query(session)

    @rx.event
    @require_role(ROLE_ADMIN)
    def filter_actor(self, value: str = ""):
        self.actor_filter = str(parse_id(as_text(value, 20)) or "")
        with session_scope() as session:
            self.entries = self._query(session)

    @rx.event
    @require_role(ROLE_ADMIN)
    def filter_kind(self, value: str = ""):
        self.kind_filter = value if value in KINDS else ""
        with session_scope() as session:
            self.entries = self._query(session)

    @rx.event
    @require_role(ROLE_ADMIN)
    def load_more(self):
        if not self.entries or len(self.entries) >= MAX_SHOWN:
            return
        with session_scope() as session:
            self.entries = self.entries + self._query(session, before_id=self.entries[-1]["id"])
        self.more = self.more and len(self.entries) < MAX_SHOWN
