"""A language choice sticks (issue 23): a page that asks for a language (the widget's ?lang=,
the admin's preview of it on 설정 › 채팅화면 삽입 코드, an embedding site's setLanguage) shows that
frame in it without rewriting the person's stored choice (oc_lang, synced to every tab and frame
of the origin); pressing 한국어 / English is the person's choice. In a browser:
tests/e2e/test_end_chat.py."""

from __future__ import annotations

from online_contact.states.customer_chat import CustomerChatState
from online_contact.states.lang import LangState

from .pipeline import Client, names, run


def test_a_pages_language_does_not_overwrite_the_persons_choice(app, db_url):
    n = names()
    stored = f"{LangState.get_full_name()}.lang_rx_state_"

    async def scenario():
        # The admin chose English; the preview frame of /settings/embed loads /widget?lang=ko.
        preview = await Client(app, "/widget", {n.visitor: "", stored: "en"}).open()
        preview.query = {"lang": "ko", "preview": "1"}
        await preview.fire(f"{n.customer}.load_widget")
        lang = await preview.state(LangState)
        assert lang.lang == "en"  # nothing for the browser to write back to oc_lang
        assert lang.shown == "ko" and lang.t["end_chat"] == "대화 종료"
        assert (await preview.state(CustomerChatState)).consent_lines  # the consent in Korean
        # The frame's token is the one the admin's tab loads next (they share session storage):
        # every page takes its language from its own URL first.
        preview.path, preview.query = "/settings", {}
        await preview.fire(f"{n.lang}.follow_page")
        assert ((await preview.state(LangState)).lang, (await preview.state(LangState)).shown) == ("en", "en")
        # An embedding site's setLanguage: that frame only, too.
        hosted = await Client(app, "/widget", {n.visitor: "", stored: "en"}).open()
        hosted.query = {"embed": "1", "page": "https://shop.example.com/p/1", "lang": "en"}
        await hosted.fire(f"{n.customer}.load_widget")
        assert (await hosted.state(CustomerChatState)).hosted
        await hosted.fire(f"{n.customer}.host_page", kind="lang", lang="ko")
        assert ((await hosted.state(LangState)).lang, (await hosted.state(LangState)).shown) == ("en", "ko")

        # Without ?lang= the widget shows the person's choice.
        plain = await Client(app, "/widget", {n.visitor: "", stored: "en"}).open()
        await plain.fire(f"{n.customer}.load_widget")
        assert ((await plain.state(LangState)).lang, (await plain.state(LangState)).shown) == ("en", "en")

        # Pressing a language in a frame that a page set is the person's choice: stored.
        framed = await Client(app, "/widget", {n.visitor: "", stored: "en"}).open()
        framed.query = {"lang": "ko"}
        await framed.fire(f"{n.customer}.load_widget")
        await framed.fire(f"{n.lang}.set_lang", lang="ko")
        assert ((await framed.state(LangState)).lang, (await framed.state(LangState)).shown) == ("ko", "ko")

    run(app, scenario)
