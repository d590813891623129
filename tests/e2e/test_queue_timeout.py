"""대기 시간 제한 (issue 23): a chat queued longer than the setting leaves the queue; its customer's
window says so and offers the 1:1 문의, and the next customer moves up."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Browser, expect
from sqlalchemy import update
from sqlmodel import select

from online_contact.models import Agent, Chat
from online_contact.models._base import utcnow

from .helpers import go_online, login, open_help_center, start_chat


def test_a_customer_who_waited_too_long_is_offered_the_inquiry_and_the_next_moves_up(browser: Browser, customer, agent, reset):
    base = reset.url
    login(agent, base, "agent1@example.com")
    go_online(agent)
    with reset.session() as s:  # Online, but with no free slot: chats wait in the queue
        s.exec(update(Agent).where(Agent.email == "agent1@example.com").values(max_open_chats=0))
        s.commit()
    open_help_center(customer, base)
    start_chat(customer, name="오래기다림")
    expect(customer.get_by_role("status")).to_contain_text("대기 순서: 1")
    other_ctx = browser.new_context(locale="ko-KR")
    try:
        other = other_ctx.new_page()
        open_help_center(other, base)
        start_chat(other, name="다음차례")
        expect(other.get_by_role("status")).to_contain_text("대기 순서: 2")

        # The first chat started 11 minutes ago (the setting's default is 10); the presence pass
        # (every second in these tests) ends it.
        with reset.session() as s:
            chat = s.exec(select(Chat).where(Chat.customer_name == "오래기다림")).one()
            s.exec(update(Chat).where(Chat.id == chat.id).values(created_at=utcnow() - timedelta(minutes=11)))
            s.commit()
        line = customer.get_by_role("status").filter(has_text="상담 대기 시간이 길어져 상담이 종료되었습니다.")
        expect(line).to_contain_text("1:1 문의를 남겨 주시면 답변드리겠습니다.")
        expect(customer.get_by_role("textbox", name="메시지")).to_be_disabled()
        expect(other.get_by_role("status")).to_contain_text("대기 순서: 1")
        # A reload still says why, with the same way on (for a while: services/chats.py).
        customer.reload()
        expect(line).to_contain_text("1:1 문의를 남겨 주시면 답변드리겠습니다.")
        line.get_by_role("link", name="문의하기").click()
        expect(customer).to_have_url(base + "/inquiry")
        with reset.session() as s:
            ended = s.get(Chat, chat.id)
            assert ended.status == "ended" and ended.agent_id is None and ended.queue_timeout_at is not None
    finally:
        other_ctx.close()
