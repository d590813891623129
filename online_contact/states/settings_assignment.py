"""설정 › 상담원 할당 설정: recent-agent preference, 할당 방식, default 최대 동시 상담 수, 대기 시간 제한."""

from __future__ import annotations

import reflex as rx

from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import routing
from online_contact.services import settings as settings_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError

from .admin_form import AdminFormMixin
from .auth import AuthState
from .guard import require_role
from .lang import tr, tr_error


class AssignmentSettingsState(AdminFormMixin, AuthState):
    def _fields(self) -> dict[str, int]:
        return {"prefer_recent": 1, "method": 16, "default_max": 4, "queue_timeout": 5}

    def _read(self, session) -> dict[str, str]:
        s = settings_service.get_settings(session)
        return {
            "prefer_recent": "1" if s.prefer_recent_agent else "0",
            "method": s.assignment_method,
            "default_max": "" if s.default_max_open_chats is None else str(s.default_max_open_chats),
            "queue_timeout": str(s.queue_timeout_minutes),
        }

    @rx.event
    @require_role(ROLE_ADMIN)
    def load_assignment(self):
        """on_load of /settings/assignment."""
        self._load()

    @rx.event
    @require_role(ROLE_ADMIN)
    async def save(self):
        """저장: applies to the next assignment, and the queue drains at once to anyone the
        change made eligible."""
        form = self.form
        try:
            with session_scope() as session:
                settings_service.save_assignment(
                    session, self.agent_id, form.get("prefer_recent") == "1", form.get("method", ""),
                    form.get("default_max", ""), self.router.session.client_ip or "",
                    queue_timeout_minutes=form.get("queue_timeout", ""),
                )
                assignments = routing.drain_queue(session, settings_service.get_settings(session))
                self._fill(self._read(session))
        except ServiceError as exc:
            field = {"error.limit_invalid": "default_max", "error.queue_timeout_invalid": "queue_timeout"}.get(exc.code, "method")
            self.errors, self.notice = {field: await tr_error(self, exc)}, ""
            return
        self.notice = await tr(self, "settings_saved")
        from online_contact.realtime import publish_assignments

        publish_assignments(assignments)
