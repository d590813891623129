"""설정 › 채팅화면 삽입 코드: the code a site owner pastes, per language (the /widget iframe until
the embed loader lands)."""

from __future__ import annotations

import html

import reflex as rx

from online_contact import routes
from online_contact.config import public_origins
from online_contact.i18n import LANGUAGES
from online_contact.models.agent import ROLE_ADMIN

from .auth import AuthState
from .guard import require_role


def widget_snippet(origin: str, language: str) -> str:
    """The iframe a site owner pastes before </body> (the chat at the bottom right)."""
    src = html.escape(f"{origin}{routes.WIDGET}?lang={language}", quote=True)
    title = "채팅" if language == "ko" else "Chat"
    return (
        f'<iframe src="{src}" title="{title}" '
        'style="position:fixed;bottom:16px;right:16px;width:380px;height:620px;max-width:100vw;'
        'max-height:100vh;border:0;z-index:2147483000" loading="lazy"></iframe>'
    )


class EmbedSettingsState(AuthState):
    snippets: dict[str, str] = {}
    preview_url: str = ""

    def _forget_screen(self) -> None:
        self.snippets, self.preview_url = {}, ""

    @rx.event
    @require_role(ROLE_ADMIN)
    def load_embed(self):
        """on_load of /settings/embed."""
        origin = public_origins()[0]
        self.snippets = {lang: widget_snippet(origin, lang) for lang in LANGUAGES}
        self.preview_url = f"{routes.WIDGET}?lang=ko&preview=1"
