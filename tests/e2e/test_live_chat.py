"""The live chat between a customer and an agent, in two browser contexts."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlmodel import select

from online_contact.models import Chat, Message, Rating, Ticket
from online_contact.services.chats import PROCESSED, UNPROCESSED, processing_status

from .helpers import agent_opens_chat, begin_chat, go_online, login, open_help_center, send, start_chat


def _latest_chat(server) -> Chat:
    with server.session() as s:
        return s.exec(select(Chat).order_by(Chat.id.desc())).first()


def test_new_chat_blinks_counts_and_messages_flow_both_ways(customer, agent, reset):
    base = reset.url
    login(agent, base, "agent1@example.com")
    icon = agent.get_by_role("button", name="채팅", exact=True)
    expect(icon).to_have_attribute("data-blinking", "false")
    expect(agent.get_by_text(re.compile(r"^대화중 0$"))).to_be_visible()
    go_online(agent)

    open_help_center(customer, base)
    start_chat(customer, name="박지성")

    # Without reload: the icon blinks, 대화중 rises, the name is in the list.
    expect(icon).to_have_attribute("data-blinking", "true")
    expect(agent.get_by_text(re.compile(r"^대화중 1$"))).to_be_visible()
    agent_opens_chat(agent, "박지성")
    expect(icon).to_have_attribute("data-blinking", "false")
    assert processing_status(_latest_chat(reset)) == UNPROCESSED  # opened, no reply yet

    info = agent.get_by_role("region", name="고객정보")
    expect(info.get_by_label("이름")).to_have_value("박지성")
    expect(info).to_contain_text("127.0.0.1")
    expect(info).to_contain_text("Chrom")
    expect(info).to_contain_text("헬프센터")

    agent_log = agent.get_by_role("log", name="대화 내용")
    customer_log = customer.get_by_role("log", name="대화 내용")
    send(agent, "안녕하세요, 상담원입니다. 무엇을 도와드릴까요?")
    expect(customer_log).to_contain_text("안녕하세요, 상담원입니다. 무엇을 도와드릴까요?")
    send(customer, "배송이 너무 늦어요")
    expect(agent_log).to_contain_text("배송이 너무 늦어요")
    # The chat list line shows the last message and that the customer awaits a reply.
    line = agent.get_by_role("navigation", name="채팅 목록").get_by_role("button", name="박지성")
    expect(line).to_contain_text("배송이 너무 늦어요")
    expect(line.get_by_text("답변 대기")).to_be_visible()
    send(agent, "확인해 보겠습니다")
    expect(customer_log).to_contain_text("확인해 보겠습니다")
    expect(line).to_contain_text("확인해 보겠습니다")
    expect(line.get_by_text("답변 대기")).to_have_count(0)
    assert processing_status(_latest_chat(reset)) == PROCESSED

    # Both transcripts list the same lines in the same order.
    expect(customer_log.locator(".oc-message")).to_have_count(4)
    expect(agent_log.locator(".oc-message")).to_have_count(4)
    first_lines = lambda log: [t.split("\n")[0] for t in log.locator(".oc-message").all_inner_texts()]  # noqa: E731
    assert first_lines(customer_log) == first_lines(agent_log)
    assert first_lines(customer_log)[1:] == ["안녕하세요, 상담원입니다. 무엇을 도와드릴까요?", "배송이 너무 늦어요", "확인해 보겠습니다"]


def test_hangul_enter_sends_once_and_bad_messages_are_refused(customer, agent, reset):
    begin_chat(customer, agent, reset, name="홍길동")
    box = customer.get_by_role("textbox", name="메시지")
    log = customer.get_by_role("log", name="대화 내용")

    # Enter while an input method is still composing must not send.
    box.click()
    customer.keyboard.insert_text("환불 요청합니다")
    box.dispatch_event("keydown", {"key": "Enter", "code": "Enter", "keyCode": 229, "isComposing": True, "bubbles": True})
    customer.wait_for_timeout(700)
    expect(log).not_to_contain_text("환불 요청합니다")
    box.press("Enter")
    expect(log.get_by_text("환불 요청합니다", exact=True)).to_have_count(1)
    expect(box).to_have_value("")
    customer.wait_for_timeout(500)
    with reset.session() as s:
        chat = s.exec(select(Chat).order_by(Chat.id.desc())).first()
        texts = [m.text for m in s.exec(select(Message).where(Message.chat_id == chat.id))]
    assert texts.count("환불 요청합니다") == 1

    # Real IME composition through the browser: the last syllable arrives.
    cdp = customer.context.new_cdp_session(customer)
    box.click()
    cdp.send("Input.imeSetComposition", {"text": "감", "selectionStart": 1, "selectionEnd": 1})
    cdp.send("Input.imeSetComposition", {"text": "감사", "selectionStart": 2, "selectionEnd": 2})
    cdp.send("Input.insertText", {"text": "감사"})
    box.press("Enter")
    expect(log.get_by_text("감사", exact=True)).to_have_count(1)

    # Empty: refused with a message.
    box.press("Enter")
    expect(customer.get_by_role("alert")).to_contain_text("메시지를 입력해 주세요.")
    # Too long: refused, and the typed text stays in the box.
    long_text = "가" * 2001
    box.fill(long_text)
    box.press("Enter")
    expect(customer.get_by_role("alert")).to_contain_text("2000자")
    expect(box).to_have_value(long_text)
    expect(log).not_to_contain_text("가" * 50)


def test_rating_by_customer_and_by_agent_request(customer, agent, reset):
    begin_chat(customer, agent, reset, name="최민지")
    chat_id = _latest_chat(reset).id

    customer.get_by_role("button", name="평가").click()
    form = customer.get_by_role("region", name="상담 평가")
    form.get_by_role("radio", name="5").check()
    form.get_by_label("의견 (선택)").fill("친절했어요")
    form.get_by_role("button", name="제출").click()
    expect(customer.get_by_text("평가해 주셔서 감사합니다.")).to_be_visible()

    agent_opens_chat(agent, "최민지")
    agent.get_by_role("region", name="채팅 화면").get_by_role("button", name="평가", exact=True).click()
    expect(customer.get_by_role("log", name="대화 내용")).to_contain_text("상담은 만족스러우셨나요?")
    form = customer.get_by_role("region", name="상담 평가")
    expect(form).to_be_visible()
    form.get_by_role("radio", name="4").check()
    form.get_by_role("button", name="제출").click()
    expect(form).to_have_count(0)

    with reset.session() as s:
        ratings = s.exec(select(Rating).where(Rating.chat_id == chat_id).order_by(Rating.id)).all()
    assert [(r.score, r.comment) for r in ratings] == [(5, "친절했어요"), (4, "")]
    assert ratings[0].requested_by_agent_id is None
    assert ratings[1].requested_by_agent_id == _latest_chat(reset).agent_id


def test_customer_ends_agent_saves_info_creates_ticket_then_ends(customer, agent, reset):
    begin_chat(customer, agent, reset, name="정수빈", email="subin@example.com")
    agent_opens_chat(agent, "정수빈")
    send(agent, "무엇을 도와드릴까요?")
    expect(customer.get_by_role("log", name="대화 내용")).to_contain_text("무엇을 도와드릴까요?")

    customer.get_by_role("button", name="대화 종료").click()
    customer.get_by_role("alertdialog").get_by_role("button", name="대화 종료").click()  # asks once
    expect(customer.get_by_text("대화를 종료했습니다.")).to_be_visible()
    expect(agent.get_by_text("고객이 대화를 종료했습니다.")).to_be_visible()

    info = agent.get_by_role("region", name="고객정보")
    info.get_by_label("메모").fill("배송 지연 보상 안내함")
    expect(info.get_by_text("저장되지 않은 변경사항")).to_be_visible()
    # Ending asks first and names unsaved edits; cancelling keeps them.
    agent.get_by_role("button", name="대화 종료").click()
    dialog = agent.get_by_role("alertdialog")
    expect(dialog).to_contain_text("저장하지 않은 고객정보/상담정보가 있습니다.")
    dialog.get_by_role("button", name="취소").click()
    expect(info.get_by_label("메모")).to_have_value("배송 지연 보상 안내함")

    info.get_by_label("대분류").select_option(label="주문")
    info.get_by_label("중분류").select_option(label="배송")
    info.get_by_label("소분류").select_option(label="배송지연")
    info.get_by_role("button", name="저장").click()
    expect(info.get_by_text("저장되었습니다.")).to_be_visible()
    expect(info.get_by_text("저장되지 않은 변경사항")).to_have_count(0)
    chat = _latest_chat(reset)
    assert chat.memo == "배송 지연 보상 안내함"
    with reset.session() as s:
        from online_contact.services.categories import path_label

        assert path_label(s, chat.category_id) == "주문 › 배송 › 배송지연"

    agent.get_by_role("button", name="티켓 만들기").click()
    dialog = agent.get_by_role("dialog", name="티켓 만들기")
    expect(dialog.get_by_label("제목")).to_have_value(re.compile("정수빈"))
    dialog.get_by_role("button", name="만들기").click()
    expect(agent.get_by_text(re.compile(r"티켓 #\d+이\(가\) 만들어졌습니다"))).to_be_visible()
    with reset.session() as s:
        ticket = s.exec(select(Ticket).where(Ticket.chat_id == chat.id)).one()
    assert ticket.customer_id == chat.customer_id and ticket.source == "chat"

    agent.get_by_role("button", name="대화 종료").click()
    agent.get_by_role("alertdialog").get_by_role("button", name="대화 종료").click()
    expect(agent.get_by_role("navigation", name="채팅 목록").get_by_role("button", name="정수빈")).to_have_count(0)
    expect(agent.get_by_text(re.compile(r"^대화중 0$"))).to_be_visible()
    chat = _latest_chat(reset)
    assert chat.status == "ended" and chat.agent_ended_at is not None and chat.customer_ended_at is not None

    agent.get_by_role("link", name="티켓").click()
    expect(agent.get_by_role("table")).to_contain_text(ticket.subject)


def test_reload_and_return_resume_the_open_chat(customer, agent, reset):
    base = begin_chat(customer, agent, reset, name="강하늘")
    send(customer, "첫 번째 질문입니다")
    agent_opens_chat(agent, "강하늘")
    send(agent, "네, 말씀하세요")
    log = customer.get_by_role("log", name="대화 내용")
    expect(log).to_contain_text("네, 말씀하세요")

    customer.reload()
    log = customer.get_by_role("log", name="대화 내용")
    for line in ("안녕하세요, 고객센터입니다", "첫 번째 질문입니다", "네, 말씀하세요"):
        expect(log).to_contain_text(line)
    send(customer, "다시 왔어요")
    expect(agent.get_by_role("log", name="대화 내용")).to_contain_text("다시 왔어요")

    # Coming back later in the same browser (a new tab) resumes it as well.
    later = customer.context.new_page()
    later.goto(base + "/")
    log = later.get_by_role("log", name="대화 내용")
    expect(log).to_contain_text("다시 왔어요")
    expect(log.locator(".oc-message")).to_have_count(4)


def test_balanced_assignment_spreads_chats_over_online_agents(browser, agent, agent2, reset):
    base = reset.url
    login(agent, base, "agent1@example.com")
    login(agent2, base, "agent2@example.com")
    go_online(agent)
    go_online(agent2)
    contexts = [browser.new_context(locale="ko-KR") for _ in range(2)]
    try:
        for i, ctx in enumerate(contexts):
            page = ctx.new_page()
            open_help_center(page, base)
            start_chat(page, name=f"고객{i}")
        for page in (agent, agent2):
            expect(page.get_by_text(re.compile(r"^대화중 1$"))).to_be_visible()
    finally:
        for ctx in contexts:
            ctx.close()


def test_long_transcript_beyond_the_live_window_is_complete_after_reload(customer, agent, reset, monkeypatch):
    from online_contact.config import MESSAGE_WINDOW
    from online_contact.services.messages import post_message

    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_SECOND", "0")  # 69 messages stored at once, below

    begin_chat(customer, agent, reset, name="윤서연")
    chat_id = _latest_chat(reset).id
    with reset.session() as s:
        chat = s.get(Chat, chat_id)
        for i in range(1, MESSAGE_WINDOW + 20):
            post_message(s, chat, "customer", f"긴 대화 {i:03d}")
    customer.reload()
    log = customer.get_by_role("log", name="대화 내용")
    expect(log).to_contain_text(f"긴 대화 {MESSAGE_WINDOW + 19:03d}")
    expect(log.locator(".oc-message")).to_have_count(MESSAGE_WINDOW)
    expect(log).not_to_contain_text("긴 대화 001")
    log.get_by_role("button", name="이전 메시지 보기").click()
    expect(log.locator(".oc-message")).to_have_count(MESSAGE_WINDOW + 20)  # greeting + 119
    expect(log).to_contain_text("긴 대화 001")
    expect(log.get_by_role("button", name="이전 메시지 보기")).to_have_count(0)
    # New messages keep arriving below the loaded history.
    agent_opens_chat(agent, "윤서연")
    send(agent, "모두 확인했습니다")
    expect(log).to_contain_text("모두 확인했습니다")
    expect(log.get_by_text("긴 대화 001", exact=True)).to_have_count(1)


def test_agent_drafts_stay_with_their_chat(browser, agent, reset):
    base = reset.url
    login(agent, base, "agent1@example.com")
    go_online(agent)
    contexts = [browser.new_context(locale="ko-KR") for _ in range(2)]
    try:
        for name, ctx in zip(("가나다", "라마바"), contexts):
            page = ctx.new_page()
            open_help_center(page, base)
            start_chat(page, name=name)
        agent_opens_chat(agent, "가나다")
        box = agent.get_by_role("textbox", name="메시지")
        box.fill("가나다 고객님께 쓰던 답장")
        agent.get_by_role("navigation", name="채팅 목록").get_by_role("button", name="라마바").click()
        expect(agent.get_by_role("heading", name="라마바")).to_be_visible()
        expect(box).to_have_value("")
        agent.get_by_role("navigation", name="채팅 목록").get_by_role("button", name="가나다").click()
        expect(box).to_have_value("가나다 고객님께 쓰던 답장")
        agent.reload()
        expect(agent.get_by_role("textbox", name="메시지")).to_have_value("가나다 고객님께 쓰던 답장")
    finally:
        for ctx in contexts:
            ctx.close()
