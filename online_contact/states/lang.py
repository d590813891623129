"""The UI language (Korean by default, English second), remembered in the browser."""

from __future__ import annotations

import reflex as rx

from online_contact.i18n import CATALOGS, normalize, translate


class LangState(rx.State):
    """Holds the language and exposes the catalog of the current language as `t`."""

    lang: str = rx.LocalStorage("ko", name="oc_lang", sync=True)

    @rx.var
    def t(self) -> dict[str, str]:
        """Every UI text in the current language: `LangState.t["chat"]`."""
        return CATALOGS[normalize(self.lang)]

    @rx.event
    def set_lang(self, lang: str = "ko"):
        """Switch the UI language."""
        self.lang = normalize(lang)


async def tr(state: rx.State, key: str, **params: object) -> str:
    """Translate `key` into the language of the client that `state` belongs to."""
    lang_state = await state.get_state(LangState)
    return translate(lang_state.lang, key, **params)


async def tr_error(state: rx.State, exc) -> str:
    """The message of a ServiceError in the client's language."""
    return await tr(state, exc.code, **exc.params)
