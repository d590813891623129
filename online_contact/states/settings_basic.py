"""설정 › 기본 설정: 채팅 사용, 인사말 and 만족도 안내 메시지 per language, 개인정보 수집 동의 text."""

from __future__ import annotations

import reflex as rx

from online_contact.i18n import LANGUAGES
from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import settings as settings_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError

from .admin_form import AdminFormMixin
from .auth import AuthState
from .guard import require_role
from .lang import tr

TEXT_FIELDS = {f"{kind}_{lang}": settings_service.MAX_TEXT for kind in ("greeting", "guide") for lang in LANGUAGES}
CONSENT_FIELDS = {f"consent_{lang}": settings_service.MAX_CONSENT for lang in LANGUAGES}


class BasicSettingsState(AdminFormMixin, AuthState):
    """The form of 기본 설정; the versions of the consent text in force."""

    consent_versions: dict[str, str] = {}

    def _fields(self) -> dict[str, int]:
        return {"chat_enabled": 1, "export_password_required": 1, **TEXT_FIELDS, **CONSENT_FIELDS}

    def _read(self, session) -> dict[str, str]:
        settings = settings_service.get_settings(session)
        values = {"chat_enabled": "1" if settings.chat_enabled else "0",
                  "export_password_required": "1" if settings.export_password_required else "0"}
        versions = {}
        for lang in LANGUAGES:
            texts = settings_service.texts(session, settings, lang)
            own = texts if texts is not None and texts.language == lang else None
            values[f"greeting_{lang}"] = own.greeting if own else ""
            values[f"guide_{lang}"] = own.satisfaction_guide if own else ""
            consent = settings_service.current_consent(session, lang)
            values[f"consent_{lang}"] = consent.body
            versions[lang] = consent.version
        self.consent_versions = versions
        return values

    @rx.event
    @require_role(ROLE_ADMIN)
    def load_basic(self):
        """on_load of /settings."""
        self._load()

    @rx.event
    @require_role(ROLE_ADMIN)
    async def save(self):
        """저장: everything is checked first, then saved in one go (with any error, nothing)."""
        form = dict(self.form)
        enabled = form.get("chat_enabled") == "1"
        try:
            with session_scope() as session:
                changed_enabled = settings_service.save_basic(
                    session, self.agent_id, chat_enabled=enabled,
                    texts={lang: (form.get(f"greeting_{lang}", ""), form.get(f"guide_{lang}", "")) for lang in LANGUAGES},
                    consents={lang: form.get(f"consent_{lang}", "") for lang in LANGUAGES},
                    export_password_required=form.get("export_password_required") == "1",
                    ip=self.router.session.client_ip or "",
                )
                self._fill(self._read(session))
        except ServiceError as exc:
            await self._refused(exc)
            return
        self.notice = await tr(self, "settings_saved")
        if changed_enabled:
            from online_contact.realtime.wire import SITE_ROOM, WIRE

            await WIRE.announce("site", {"chat_enabled": enabled}, SITE_ROOM)
