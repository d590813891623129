"""개인정보 보호 in real browsers (each person in their own context): numbers a customer sends reach
the agent masked, live and in 채팅 기록; an agent masks a message by hand and the customer's open
tab shows it without a reload; an admin erases a customer; 감사 로그 lists who opened what; 설정 ›
개인정보 switches a kind of number off."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from online_contact.models import AuditLog, Chat, Customer, Message
from online_contact.services import privacy
from online_contact.services import settings as settings_service

from .helpers import agent_opens_chat, begin_chat, login, send, wait_wire_joined

CARD, PHONE = "4111 1111 1111 1111", "010-1234-5678"
# Under the customer's composer: the kinds of number masked automatically.
NOTE = "보호를 위해 자동으로 가려지는 번호:"
EVERY_KIND = "주민(외국인)등록번호·카드번호·전화번호·계좌번호·여권번호"


def _admin(browser: Browser, base: str) -> Page:
    page = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 900}).new_page()
    login(page, base, "admin@example.com", "admin1234")
    return page


def _open_in_history(admin: Page, base: str, name: str):
    admin.goto(f"{base}/history?customer={quote(name)}")
    row = admin.get_by_role("table", name="채팅 기록").get_by_role("row").filter(has_text=name)
    expect(row).to_have_count(1)
    row.get_by_role("button", name=re.compile("열기")).click()
    return admin.get_by_role("region", name="채팅 상세")


def _chat_of(server, name: str) -> Chat:
    with server.session() as s:
        return s.exec(select(Chat).where(Chat.customer_name == name).order_by(Chat.id.desc())).first()


def _end_chat(server, name: str) -> Chat:
    """The customer's chat is over (as far as 고객 정보 삭제 is concerned), set in the database."""
    chat = _chat_of(server, name)
    with server.session() as s:
        row = s.get(Chat, chat.id)
        row.status = "ended"
        s.add(row)
        s.commit()
    return chat


def test_numbers_reach_the_agent_masked_live_and_in_history_and_the_opening_is_recorded(browser, customer, agent, reset):
    name = f"마스킹{uuid.uuid4().hex[:6]}"
    base = begin_chat(customer, agent, reset, name=name)
    agent_opens_chat(agent, name)
    customer_log = customer.get_by_role("log", name="대화 내용")
    agent_log = agent.get_by_role("log", name="대화 내용")
    expect(customer.get_by_text(NOTE)).to_have_text(NOTE + " " + EVERY_KIND)
    wait_wire_joined(customer)
    send(customer, f"카드는 {CARD} 이고 연락처는 {PHONE} 입니다")

    masked = "카드는 **** **** **** 1111 이고 연락처는 010-****-5678 입니다"
    expect(agent_log).to_contain_text(masked)
    expect(customer_log).to_contain_text(masked)  # the customer sees it masked too
    for page in (agent, customer):
        expect(page.get_by_text(re.compile("1111 1111 1111|1234-5678"))).to_have_count(0)
    line = agent.get_by_role("navigation", name="채팅 목록").get_by_role("button", name=name)
    expect(line).to_contain_text("카드는 **** ****")

    admin = _admin(browser, base)
    panel = _open_in_history(admin, base, name)
    transcript = panel.get_by_role("log", name="대화 내용")
    expect(transcript).to_contain_text(masked)
    expect(transcript).not_to_contain_text("1234-5678")
    chat = _chat_of(reset, name)
    with reset.session() as s:
        assert CARD not in "".join(s.exec(select(Message.text).where(Message.chat_id == chat.id)))

    # 감사 로그 › 개인정보 접근: who opened which chat, from where.
    admin.goto(base + "/settings/audit")
    admin.get_by_label("작업").select_option(label="개인정보 접근 (열람·추출)")
    entry = admin.get_by_role("row").filter(has_text=f"chat #{chat.id}")
    expect(entry.first).to_contain_text("access.chat")
    expect(entry.first).to_contain_text("관리자")
    expect(admin.get_by_role("row").filter(has_text="settings.changed")).to_have_count(0)
    admin.context.close()


def test_an_agent_masks_a_message_by_hand_and_the_customers_tab_shows_it_without_a_reload(customer, agent, reset):
    name = f"수동{uuid.uuid4().hex[:6]}"
    begin_chat(customer, agent, reset, name=name)
    agent_opens_chat(agent, name)
    wait_wire_joined(customer)
    send(customer, "주소는 서울시 마포구 월드컵로 입니다")
    send(customer, "제 비밀번호는 hunter2 예요")
    agent_log = agent.get_by_role("log", name="대화 내용")
    customer_log = customer.get_by_role("log", name="대화 내용")
    expect(agent_log).to_contain_text("제 비밀번호는 hunter2 예요")

    # A part: the agent double-clicks a word (selects it) and presses 마스킹 beside the message.
    address = agent_log.locator(".oc-message").filter(has_text="월드컵로")
    address.locator(".oc-bubble").get_by_text("주소는 서울시 마포구 월드컵로 입니다").dblclick(position={"x": 95, "y": 8})
    selected = agent.evaluate("() => window.getSelection().toString()").strip()
    assert selected and selected in "주소는 서울시 마포구 월드컵로 입니다", selected
    address.get_by_role("button", name="마스킹").click()
    dialog = agent.get_by_role("alertdialog", name="메시지 마스킹")
    expected = "주소는 서울시 마포구 월드컵로 입니다".replace(selected, "*" * len(selected), 1)
    expect(dialog.locator("#mask-preview")).to_have_text(expected)
    dialog.get_by_role("button", name="선택 부분 마스킹").click()
    expect(dialog).to_be_hidden()
    expect(agent_log).to_contain_text(expected)
    expect(customer_log).to_contain_text(expected)  # the customer's open tab, no reload

    # The whole message: nothing selected.
    agent.evaluate("() => window.getSelection().removeAllRanges()")
    secret = agent_log.locator(".oc-message").filter(has_text="hunter2")
    secret.get_by_role("button", name="마스킹").click()
    dialog.get_by_role("button", name="메시지 전체 마스킹").click()
    expect(customer_log).not_to_contain_text("hunter2")
    expect(agent_log).not_to_contain_text("hunter2")
    expect(customer_log).to_contain_text("* ***** *******")
    with reset.session() as s:
        chat = s.exec(select(Chat).where(Chat.customer_name == name)).one()
        texts = list(s.exec(select(Message.text).where(Message.chat_id == chat.id)))
        entries = s.exec(select(AuditLog).where(AuditLog.action == privacy.MASK, AuditLog.target_id == chat.id)).all()
    assert "hunter2" not in " ".join(texts) and selected not in " ".join(t for t in texts if "월드컵" in t or "*" in t)
    assert len(entries) == 2 and all("hunter2" not in e.detail for e in entries)


def test_an_admin_erases_a_customer_from_history(browser, customer, agent, reset):
    name = f"삭제{uuid.uuid4().hex[:6]}"
    base = begin_chat(customer, agent, reset, name=name)
    agent_opens_chat(agent, name)
    wait_wire_joined(customer)
    send(customer, "환불해 주세요")
    expect(agent.get_by_role("log", name="대화 내용")).to_contain_text("환불해 주세요")
    admin = _admin(browser, base)
    panel = _open_in_history(admin, base, name)
    # A chat going on: refused, nothing changes.
    panel.get_by_role("button", name="고객 정보 삭제").click()
    dialog = admin.get_by_role("alertdialog", name="고객 정보 삭제")
    dialog.get_by_label("사유 (필수)").fill("고객 요청 (전화)")
    dialog.get_by_role("button", name="삭제", exact=True).click()
    expect(dialog.get_by_role("alert")).to_contain_text("진행 중인 채팅이 있는 고객은 삭제할 수 없습니다")
    dialog.get_by_role("button", name="취소").click()
    chat = _end_chat(reset, name)

    panel = _open_in_history(admin, base, name)
    panel.get_by_role("button", name="고객 정보 삭제").click()
    dialog.get_by_role("button", name="삭제", exact=True).click()
    expect(dialog.get_by_role("alert")).to_contain_text("사유를 입력해 주세요.")
    dialog.get_by_label("사유 (필수)").fill("고객 요청 (전화)")
    dialog.get_by_role("button", name="삭제", exact=True).click()
    expect(admin.get_by_text("고객 정보가 삭제되었습니다.")).to_be_visible()
    expect(panel.get_by_role("log", name="대화 내용")).to_contain_text("삭제된 메시지")
    expect(panel.get_by_role("log", name="대화 내용")).not_to_contain_text("환불해 주세요")
    with reset.session() as s:
        assert s.get(Customer, chat.customer_id).erased_at is not None and s.get(Chat, chat.id).customer_name == ""
    admin.context.close()


def test_an_admin_switches_phone_masking_off_and_on(browser, customer, agent, reset):
    """…and the customer's open chat window names the kinds masked, following the switch live."""
    base = begin_chat(customer, agent, reset, name=f"스위치{uuid.uuid4().hex[:6]}")
    wait_wire_joined(customer)
    note = customer.get_by_text(NOTE)
    expect(note).to_have_text(NOTE + " " + EVERY_KIND)
    admin = _admin(browser, base)
    try:
        admin.goto(base + "/settings/privacy")
        expect(admin.get_by_role("heading", name="개인정보", level=1)).to_be_visible()
        phone = admin.get_by_role("switch", name="전화번호")
        expect(phone).to_be_checked()
        phone.click()
        months = admin.get_by_label("감사 로그 (접속기록)")
        months.fill("6")
        admin.get_by_role("button", name="저장", exact=True).click()
        expect(admin.get_by_text("12~120 사이의 개월 수를 입력해 주세요.")).to_be_visible()
        with reset.session() as s:
            assert settings_service.get_settings(s).mask_phone  # nothing saved
        months.fill("24")
        admin.get_by_role("button", name="저장", exact=True).click()
        expect(admin.get_by_text("저장되었습니다.")).to_be_visible()
        with reset.session() as s:
            assert not settings_service.get_settings(s).mask_phone
        without_phone = NOTE + " 주민(외국인)등록번호·카드번호·계좌번호·여권번호"
        expect(note).to_have_text(without_phone)  # without a reload
        customer.reload()  # and a page opened afterwards reads the switches itself
        expect(customer.get_by_text(NOTE)).to_have_text(without_phone)
        wait_wire_joined(customer)  # the reloaded page listens for the next change
        admin.reload()
        expect(admin.get_by_role("switch", name="전화번호")).not_to_be_checked()
        admin.get_by_role("switch", name="전화번호").click()
        admin.get_by_role("button", name="저장", exact=True).click()
        expect(admin.get_by_text("저장되었습니다.")).to_be_visible()
        expect(customer.get_by_text(NOTE)).to_have_text(NOTE + " " + EVERY_KIND)
    finally:
        with reset.session() as s:
            settings = settings_service.get_settings(s)
            settings.mask_phone = True
            s.add(settings)
            s.commit()
        admin.context.close()


def test_an_open_history_panel_follows_a_masking_and_an_erasure_done_elsewhere(browser, customer, agent, agent2, reset):
    """What a panel of 채팅 기록 shows is not left behind: the agent masks a message on the chat
    screen and an admin's open panel shows it masked; the admin erases the customer and the
    agent's own open panel (in another browser) shows the messages gone — neither reloads."""
    name = f"패널{uuid.uuid4().hex[:6]}"
    base = begin_chat(customer, agent, reset, name=name)
    agent_opens_chat(agent, name)
    wait_wire_joined(customer)
    send(customer, "제 비밀번호는 hunter2 예요")
    agent_log = agent.get_by_role("log", name="대화 내용")
    expect(agent_log).to_contain_text("hunter2")

    admin = _admin(browser, base)
    try:
        panel = _open_in_history(admin, base, name)
        transcript = panel.get_by_role("log", name="대화 내용")
        expect(transcript).to_contain_text("제 비밀번호는 hunter2 예요")
        watching = "() => window.ocHistoryWire && window.ocHistoryWire.watching() > 0"
        admin.wait_for_function(watching)

        agent_log.locator(".oc-message").filter(has_text="hunter2").get_by_role("button", name="마스킹").click()
        agent.get_by_role("alertdialog", name="메시지 마스킹").get_by_role("button", name="메시지 전체 마스킹").click()
        expect(transcript).to_contain_text("* ***** ******* **")
        expect(transcript).not_to_contain_text("hunter2")

        # The chat ends; the agent (logged in in a second browser) opens it in 채팅 기록.
        _end_chat(reset, name)
        login(agent2, base, "agent1@example.com")
        own = _open_in_history(agent2, base, name)
        expect(own.get_by_role("log", name="대화 내용")).to_contain_text("* ***** ******* **")
        agent2.wait_for_function(watching)

        panel = _open_in_history(admin, base, name)
        panel.get_by_role("button", name="고객 정보 삭제").click()
        dialog = admin.get_by_role("alertdialog", name="고객 정보 삭제")
        dialog.get_by_label("사유 (필수)").fill("고객 요청 (메일)")
        dialog.get_by_role("button", name="삭제", exact=True).click()
        expect(admin.get_by_text("고객 정보가 삭제되었습니다.")).to_be_visible()
        expect(own.get_by_role("log", name="대화 내용")).to_contain_text("삭제된 메시지")
        expect(own.get_by_role("status").filter(has_text="고객 정보가 삭제되었습니다.")).to_be_visible()
        expect(own).not_to_contain_text(name)
    finally:
        admin.context.close()
