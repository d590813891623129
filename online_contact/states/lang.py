"""The UI language (Korean by default, English second), remembered in the browser."""

from __future__ import annotations

import reflex as rx

from online_contact.i18n import CATALOGS, LANGUAGES, normalize, translate


class LangState(rx.State):
    """Holds the language and exposes the catalog of the current language as `t`."""

    # The person's own choice, shared by every tab and frame of this origin (synced storage).
    lang: str = rx.LocalStorage("ko", name="oc_lang", sync=True)
    # What a page asks for (the widget's ?lang=, the embedding site's setLanguage), for this tab
    # or frame only. Never written to `lang`: the admin's preview of the widget (a frame of the
    # same origin, /widget?lang=ko) used to, and its sync switched the admin's pages to Korean.
    page_lang: str = ""

    @rx.var
    def shown(self) -> str:
        """The language this tab shows: what its page asks for, else the person's choice."""
        return normalize(self.page_lang or self.lang)

    @rx.var
    def t(self) -> dict[str, str]:
        """Every UI text in the current language: `LangState.t["chat"]`."""
        return CATALOGS[normalize(self.page_lang or self.lang)]

    @rx.event
    def set_lang(self, lang: str = "ko"):
        """Switch the UI language (the person's choice: every page, every tab)."""
        self.lang = normalize(lang)
        self.page_lang = ""

    def _show_page_lang(self, lang: str) -> None:
        """Show this tab in the language its page asks for, leaving the person's choice alone."""
        self.page_lang = normalize(lang)

    @rx.event
    def follow_page(self):
        """Before every page's own loader (pages.registry): the language the page's URL asks
        for (?lang=), else the person's choice. From the page, never from what this state held
        before: a same-origin frame shares its tab's session storage, and the widget preview on
        채팅화면 삽입 코드 writes the token Reflex gives it there, so the admin's next page loads
        the preview's state (its ?lang=ko included)."""
        asked = self.router.url.query_parameters.get("lang", "")
        self.page_lang = asked if asked in LANGUAGES else ""


async def shown_lang(state: rx.State) -> str:
    """The language the client that `state` belongs to is shown (LangState.shown)."""
    lang_state = await state.get_state(LangState)
    return normalize(lang_state.page_lang or lang_state.lang)


async def tr(state: rx.State, key: str, **params: object) -> str:
    """Translate `key` into the language of the client that `state` belongs to."""
    return translate(await shown_lang(state), key, **params)


async def tr_error(state: rx.State, exc) -> str:
    """The message of a ServiceError in the client's language."""
    return await tr(state, exc.code, **exc.params)
