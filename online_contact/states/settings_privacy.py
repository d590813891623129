"""설정 › 개인정보: which personal numbers are masked automatically, how long each kind of record
is kept, and what the last retention pass did (services.privacy, services.retention)."""

from __future__ import annotations

import json

import reflex as rx
from sqlmodel import select

from online_contact.config import local_time
from online_contact.models import AuditLog
from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import privacy
from online_contact.services import settings as settings_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError
from online_contact.services.retention import COUNTS

from .admin_form import AdminFormMixin
from .auth import AuthState
from .guard import require_role
from .lang import tr


class PrivacySettingsState(AdminFormMixin, AuthState):
    # The last retention pass that did something: when, and how many of each kind.
    last_run: str = ""
    last_counts: dict[str, int] = {}

    def _fields(self) -> dict[str, int]:
        return {**dict.fromkeys(privacy.MASK_FIELDS.values(), 1), **dict.fromkeys(privacy.KEEP_LIMITS, 3)}

    def _read(self, session) -> dict[str, str]:
        entry = session.exec(select(AuditLog).where(AuditLog.action == privacy.RETENTION).order_by(AuditLog.id.desc()).limit(1)).first()
        self.last_run = local_time(entry.created_at, "%Y-%m-%d %H:%M") if entry else ""
        try:
            counts = json.loads(entry.detail) if entry else {}
        except ValueError:
            counts = {}
        counts = counts if isinstance(counts, dict) else {}
        self.last_counts = {k: counts[k] if isinstance(counts.get(k), int) else 0 for k in COUNTS}
        return privacy.form_of(settings_service.get_settings(session))

    def _forget_screen(self) -> None:
        super()._forget_screen()
        self.last_run, self.last_counts = "", {}

    @rx.event
    @require_role(ROLE_ADMIN)
    def load_privacy(self):
        """on_load of /settings/privacy."""
        self._load()

    @rx.event
    @require_role(ROLE_ADMIN)
    async def save(self):
        """저장: masking applies to the next message; the next retention pass uses the periods."""
        try:
            with session_scope() as session:
                privacy.save(session, self.agent_id, dict(self.form), ip=self.router.session.client_ip or "")
                self._fill(self._read(session))
                kinds = list(privacy.kinds_of(settings_service.get_settings(session)))
        except ServiceError as exc:
            await self._refused(exc)
            return
        self.notice = await tr(self, "settings_saved")
        from online_contact.realtime.wire import SITE_ROOM, WIRE

        # Every worker masks by the new switches from its next message (this one already does).
        await WIRE.settings_changed()
        # The customers' open chat windows name the kinds masked: pushed to every page now.
        await WIRE.announce("site", {"masked_kinds": kinds}, SITE_ROOM)
