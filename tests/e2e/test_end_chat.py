"""대화 종료 and what follows it, as people do it (issue 23): ending asks once, on both sides and on a
phone; after the customer leaves the agent cannot reply but still finishes the chat's info; and a
language chosen by an admin stays chosen after the widget's preview on 채팅화면 삽입 코드."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from online_contact.models import Chat, Message
from online_contact.models.chat import AUTHOR_AGENT

from .helpers import agent_opens_chat, begin_chat, login, open_help_center, send, start_chat, go_online


def _chat(server, name: str) -> Chat:
    with server.session() as s:
        return s.exec(select(Chat).where(Chat.customer_name == name).order_by(Chat.id.desc())).first()


def _customer_ends(customer: Page) -> None:
    customer.get_by_role("button", name="대화 종료").click()
    dialog = customer.get_by_role("alertdialog", name="대화를 종료할까요?")
    dialog.get_by_role("button", name="대화 종료").click()
    expect(customer.get_by_text("대화를 종료했습니다.")).to_be_visible()


def test_after_the_customer_leaves_the_agent_cannot_reply_but_finishes_the_info(customer, agent, reset):
    name = "떠난고객"
    begin_chat(customer, agent, reset, name=name)
    agent_opens_chat(agent, name)
    send(agent, "무엇을 도와드릴까요?")
    expect(customer.get_by_role("log", name="대화 내용")).to_contain_text("무엇을 도와드릴까요?")
    box = agent.get_by_role("textbox", name="메시지")
    box.fill("쓰던 답변")

    _customer_ends(customer)

    expect(agent.get_by_role("status").filter(has_text="고객이 대화를 종료했습니다.")).to_contain_text("메시지는 더 보낼 수 없습니다")
    expect(box).to_be_disabled()
    expect(box).to_have_value("쓰던 답변")  # what was typed stays in view
    expect(agent.get_by_role("button", name="전송")).to_be_disabled()
    # The chat stays on the screen for its information and 티켓 만들기.
    info = agent.get_by_role("region", name="고객정보")
    info.get_by_label("메모").fill("고객이 먼저 나감")
    info.get_by_role("button", name="저장").click()
    expect(info.get_by_text("저장되었습니다.")).to_be_visible()
    agent.get_by_role("button", name="티켓 만들기").click()
    expect(agent.get_by_role("dialog", name="티켓 만들기")).to_be_visible()
    agent.get_by_role("dialog", name="티켓 만들기").get_by_role("button", name="취소").click()

    chat = _chat(reset, name)
    assert chat.memo == "고객이 먼저 나감" and chat.customer_ended_at is not None and chat.agent_ended_at is None
    with reset.session() as s:
        replies = s.exec(select(Message.text).where(Message.chat_id == chat.id, Message.author == AUTHOR_AGENT)).all()
    assert replies == ["무엇을 도와드릴까요?"]


def test_ending_asks_once_and_cancel_or_escape_keep_the_chat_on_both_sides(customer, agent, reset):
    name = "확인손님"
    begin_chat(customer, agent, reset, name=name)
    agent_opens_chat(agent, name)

    # The customer: 취소, then Escape, keep the chat; the question names what ending does.
    end = customer.get_by_role("button", name="대화 종료")
    end.click()
    dialog = customer.get_by_role("alertdialog", name="대화를 종료할까요?")
    expect(dialog).to_contain_text("대화를 종료하면")
    dialog.get_by_role("button", name="취소").click()
    expect(dialog).to_have_count(0)
    end.click()
    expect(dialog).to_be_visible()
    customer.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    send(customer, "아직 있어요")
    expect(agent.get_by_role("log", name="대화 내용")).to_contain_text("아직 있어요")
    assert _chat(reset, name).customer_ended_at is None

    # The agent: the same, and with unsaved edits the one question settles them too.
    agent_end = agent.get_by_role("region", name="채팅 화면").get_by_role("button", name="대화 종료")
    agent_end.click()
    question = agent.get_by_role("alertdialog", name="대화를 종료할까요?")
    expect(question).to_contain_text("채팅 화면에서 사라지고")
    agent.keyboard.press("Escape")
    expect(question).to_have_count(0)
    info = agent.get_by_role("region", name="고객정보")
    info.get_by_label("메모").fill("종료 전 메모")
    agent_end.click()
    expect(question).to_contain_text("저장하지 않은 고객정보/상담정보가 있습니다.")
    question.get_by_role("button", name="취소").click()
    expect(question).to_have_count(0)
    expect(info.get_by_label("메모")).to_have_value("종료 전 메모")
    assert _chat(reset, name).agent_ended_at is None

    agent_end.click()
    question.get_by_role("button", name="저장하고 종료").click()
    expect(agent.get_by_role("navigation", name="채팅 목록").get_by_role("button", name=name)).to_have_count(0)
    expect(agent.get_by_text(re.compile(r"^대화중 0$"))).to_be_visible()
    chat = _chat(reset, name)
    assert chat.agent_ended_at is not None and chat.memo == "종료 전 메모"
    expect(customer.get_by_text("상담원이 대화를 종료했습니다.")).to_be_visible()


@pytest.fixture
def phone(browser: Browser, reset):
    ctx = browser.new_context(locale="ko-KR", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    yield page
    ctx.close()


def test_a_customer_on_a_phone_ends_with_one_tap_and_a_confirmation(phone, agent, reset):
    base = reset.url
    login(agent, base, "agent1@example.com")
    go_online(agent)
    open_help_center(phone, base)
    start_chat(phone, name="폰손님")

    phone.get_by_role("button", name="대화 종료").tap()
    dialog = phone.get_by_role("alertdialog", name="대화를 종료할까요?")
    expect(dialog).to_be_in_viewport()
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    dialog.get_by_role("button", name="취소").tap()
    expect(dialog).to_have_count(0)
    assert _chat(reset, "폰손님").customer_ended_at is None

    phone.get_by_role("button", name="대화 종료").tap()
    dialog.get_by_role("button", name="대화 종료").tap()
    expect(phone.get_by_text("대화를 종료했습니다.")).to_be_visible()
    expect(phone.get_by_role("button", name="새 상담 시작")).to_be_visible()
    assert _chat(reset, "폰손님").customer_ended_at is not None


def test_an_admin_who_chose_english_stays_in_english_after_the_embed_preview(browser, reset):
    base = reset.url
    ctx = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 900})
    admin = ctx.new_page()
    try:
        login(admin, base, "admin@example.com", "admin1234")
        admin.get_by_role("button", name="English").click()
        expect(admin.get_by_role("link", name="Statistics")).to_be_visible()

        admin.goto(base + "/settings/embed")
        expect(admin.get_by_role("heading", name="Chat embed code", level=1)).to_be_visible()
        # The preview frame shows the widget in the language of its own page (?lang=ko).
        preview = admin.frame_locator('iframe[title="Chat preview"]')
        expect(preview.get_by_role("heading", name="개인정보 수집 동의")).to_be_visible()
        expect(admin.get_by_role("heading", name="Chat embed code", level=1)).to_be_visible()

        # Every page after it: English, as chosen (also a second visit, and a new tab).
        admin.goto(base + "/settings")
        expect(admin.get_by_role("heading", name="General", level=1)).to_be_visible()
        admin.goto(base + "/settings/embed")
        expect(preview.get_by_role("heading", name="개인정보 수집 동의")).to_be_visible()
        admin.goto(base + "/agent")
        expect(admin.get_by_role("link", name="Statistics")).to_be_visible()
        another = ctx.new_page()
        another.goto(base + "/settings")
        expect(another.get_by_role("heading", name="General", level=1)).to_be_visible()
    finally:
        ctx.close()
