"""이전 메시지 보기 a page at a time over the message path, held by the page alone (issue 23): the
customer and the agent page back through a long transcript, every message once, and a message
masked by hand changes in the older pages a tab loaded too."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect
from sqlmodel import select

from online_contact.models import Chat

from .helpers import agent_opens_chat, begin_chat, wait_wire_joined


def test_both_sides_page_back_through_a_long_transcript_and_see_a_masked_older_message_change(customer, agent, reset, monkeypatch):
    from online_contact.config import MESSAGE_WINDOW
    from online_contact.services.messages import post_message

    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_SECOND", "0")  # stored at once, below
    name = f"긴글{uuid.uuid4().hex[:6]}"
    begin_chat(customer, agent, reset, name=name)
    with reset.session() as s:
        chat = s.exec(select(Chat).where(Chat.customer_name == name)).one()
        # 6 KB each: a page of older messages holds about ten of them.
        for i in range(1, MESSAGE_WINDOW + 41):
            post_message(s, s.get(Chat, chat.id), "customer", f"긴 글 {i:03d} " + "가" * 1990)
    total = MESSAGE_WINDOW + 41  # with the greeting
    customer.reload()
    agent_opens_chat(agent, name)
    for page in (customer, agent):
        log = page.get_by_role("log", name="대화 내용")
        expect(log).to_contain_text(f"긴 글 {MESSAGE_WINDOW + 40:03d}")
        # Only the newest are shown: the room's window (50) and the few appended since, when the
        # room was brought up to date while the messages above were being stored.
        expect(log.get_by_text("긴 글 001 ", exact=False)).to_have_count(0)
        assert log.locator(".oc-message").count() < total
        wait_wire_joined(page)
        clicks = 0
        more = log.get_by_role("button", name="이전 메시지 보기")
        while more.count():
            shown = log.locator(".oc-message").count()
            more.click()
            clicks += 1
            expect(log.locator(".oc-message")).not_to_have_count(shown)
        assert clicks >= 4  # pages, not the whole transcript at once
        expect(log.locator(".oc-message")).to_have_count(total)
        expect(log.get_by_text("긴 글 001 ", exact=False)).to_have_count(1)

    # The agent masks the first message, which both tabs hold only in their loaded pages.
    agent_log = agent.get_by_role("log", name="대화 내용")
    agent_log.locator(".oc-message").filter(has_text="긴 글 001 ").get_by_role("button", name="마스킹").click()
    agent.get_by_role("alertdialog", name="메시지 마스킹").get_by_role("button", name="메시지 전체 마스킹").click()
    for page in (customer, agent):
        log = page.get_by_role("log", name="대화 내용")
        expect(log.get_by_text("긴 글 001 ", exact=False)).to_have_count(0)
        expect(log.locator(".oc-message")).to_have_count(total)


def test_the_pages_an_agent_loaded_of_one_chat_never_show_in_the_next(browser, agent, reset, monkeypatch):
    from online_contact.config import MESSAGE_WINDOW
    from online_contact.services.messages import post_message

    from .helpers import go_online, login, open_help_center, start_chat

    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_SECOND", "0")
    login(agent, reset.url, "agent1@example.com")
    go_online(agent)
    contexts = [browser.new_context(locale="ko-KR") for _ in range(2)]
    try:
        names = [f"{kind}{uuid.uuid4().hex[:6]}" for kind in ("첫째", "둘째")]
        for name, ctx in zip(names, contexts):
            page = ctx.new_page()
            open_help_center(page, reset.url)
            start_chat(page, name=name)
        with reset.session() as s:
            for name in names:
                chat = s.exec(select(Chat).where(Chat.customer_name == name)).one()
                for i in range(1, MESSAGE_WINDOW + 10):
                    post_message(s, s.get(Chat, chat.id), "customer", f"{name} 지난 이야기 {i:03d}")
        first, second = names
        agent_opens_chat(agent, first)
        log = agent.get_by_role("log", name="대화 내용")
        expect(log).to_contain_text(f"{first} 지난 이야기 {MESSAGE_WINDOW + 9:03d}")
        wait_wire_joined(agent)
        log.get_by_role("button", name="이전 메시지 보기").click()
        expect(log).to_contain_text(f"{first} 지난 이야기 001")
        agent.get_by_role("navigation", name="채팅 목록").get_by_role("button", name=second).click()
        expect(log).to_contain_text(f"{second} 지난 이야기 {MESSAGE_WINDOW + 9:03d}")
        expect(log).not_to_contain_text(first)
        expect(log).not_to_contain_text(f"{second} 지난 이야기 001")  # the newest only, as above
        log.get_by_role("button", name="이전 메시지 보기").click()  # the second chat's own pages
        expect(log).to_contain_text(f"{second} 지난 이야기 001")
        expect(log.locator(".oc-message")).to_have_count(MESSAGE_WINDOW + 10)
        expect(log).not_to_contain_text(first)
    finally:
        for ctx in contexts:
            ctx.close()
