"""설정 › 채팅화면 삽입 코드: the line a site owner pastes (per language), the sites allowed to
embed the chat, 상담원이 없으면 숨기기, and a live preview (services.embed)."""

from __future__ import annotations

import reflex as rx

from online_contact import routes
from online_contact.config import public_origins
from online_contact.i18n import LANGUAGES
from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import embed
from online_contact.services import settings as settings_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError

from .admin_form import AdminFormMixin
from .auth import AuthState
from .guard import require_role
from .lang import tr, tr_error


class EmbedSettingsState(AdminFormMixin, AuthState):
    snippets: dict[str, str] = {}
    preview_url: str = ""

    def _fields(self) -> dict[str, int]:
        return {"origins": embed.MAX_ORIGINS_TEXT, "hide_offline": 1}

    def _read(self, session) -> dict[str, str]:
        s = settings_service.get_settings(session)
        return {"origins": "\n".join(embed.origins_of(s)), "hide_offline": "1" if s.embed_hide_when_offline else "0"}

    def _forget_screen(self) -> None:
        super()._forget_screen()
        self.snippets, self.preview_url = {}, ""

    @rx.event
    @require_role(ROLE_ADMIN)
    def load_embed(self):
        """on_load of /settings/embed."""
        origin = public_origins()[0]
        self.snippets = {lang: embed.snippet(origin, lang) for lang in LANGUAGES}
        self.preview_url = f"{routes.WIDGET}?lang=ko&preview=1"
        self._load()

    @rx.event
    @require_role(ROLE_ADMIN)
    async def save(self):
        """저장: the sites and 상담원이 없으면 숨기기 apply to the next page that loads the code."""
        form = self.form
        try:
            with session_scope() as session:
                embed.save(session, self.agent_id, origins_text=form.get("origins", ""),
                           hide_when_offline=form.get("hide_offline") == "1", ip=self.router.session.client_ip or "")
                self._fill(self._read(session))
        except ServiceError as exc:
            self.errors, self.notice = {"origins": await tr_error(self, exc)}, ""
            return
        self.notice = await tr(self, "settings_saved")
