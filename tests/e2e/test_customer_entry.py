"""Customer entry: chat icon, 상담원 부재중 → 문의하기 ticket, consent gate."""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import expect
from sqlmodel import select

from online_contact.models import Chat, ConsentRecord, Ticket
from online_contact.models.settings import ChatSettings

from .helpers import go_online, login, open_help_center


def test_no_agent_popup_leads_to_inquiry_ticket(customer, reset):
    base = reset.url
    open_help_center(customer, base)
    customer.get_by_role("button", name="채팅", exact=True).click()
    popup = customer.get_by_role("alertdialog")
    expect(popup).to_contain_text("상담원 부재중")
    popup.get_by_role("button", name="문의하기").click()
    expect(customer).to_have_url(f"{base}/inquiry")

    # Bad input: a clear message, the typed text stays, nothing is stored.
    customer.get_by_label("이름").fill("김민수")
    customer.get_by_label("이메일").fill("not-an-email")
    customer.get_by_label("제목").fill("환불 문의")
    customer.get_by_label("내용").fill("주문한 상품 환불을 요청합니다.")
    customer.get_by_role("button", name="제출").click()
    expect(customer.get_by_role("alert")).to_contain_text("이메일 형식이 올바르지 않습니다.")
    expect(customer.get_by_label("내용")).to_have_value("주문한 상품 환불을 요청합니다.")
    with reset.session() as s:
        assert s.exec(select(Ticket).where(Ticket.subject == "환불 문의")).first() is None

    customer.get_by_label("이메일").fill("minsu@example.com")
    customer.get_by_role("button", name="제출").click()
    expect(customer.get_by_role("status")).to_contain_text("문의가 접수되었습니다")
    with reset.session() as s:
        ticket = s.exec(select(Ticket).where(Ticket.subject == "환불 문의")).one()
    assert ticket.source == "inquiry"
    assert ticket.requester_email == "minsu@example.com"
    expect(customer.get_by_role("status")).to_contain_text(f"#{ticket.id}")


def test_chat_disabled_shows_no_icon(customer, reset):
    with reset.session() as s:
        settings = s.exec(select(ChatSettings)).one()
        settings.chat_enabled = False
        s.add(settings)
    try:
        open_help_center(customer, reset.url)
        expect(customer.get_by_role("link", name="문의하기")).to_be_visible()
        expect(customer.get_by_role("button", name="채팅", exact=True)).to_have_count(0)
    finally:
        with reset.session() as s:
            settings = s.exec(select(ChatSettings)).one()
            settings.chat_enabled = True
            s.add(settings)
    customer.reload()
    expect(customer.get_by_role("button", name="채팅", exact=True)).to_be_visible()


def test_consent_is_required_and_recorded_before_the_chat_starts(customer, agent, reset):
    base = reset.url
    login(agent, base, "agent1@example.com")
    go_online(agent)

    open_help_center(customer, base)
    customer.get_by_role("button", name="채팅", exact=True).click()
    dialog = customer.get_by_role("dialog", name="채팅 상담")
    expect(dialog).to_contain_text("개인정보 수집 동의")
    for part in ("수집 목적", "수집 항목", "보유 기간", "거부할 권리"):
        expect(dialog).to_contain_text(part)
    customer.get_by_label("이름 (선택)").fill("이영희")
    with reset.session() as s:
        chats_before = len(s.exec(select(Chat)).all())
    customer.get_by_role("button", name="상담 시작").click()
    expect(customer.get_by_role("alert")).to_contain_text("개인정보 수집에 동의해 주세요")
    with reset.session() as s:
        assert len(s.exec(select(Chat)).all()) == chats_before

    customer.get_by_label("개인정보 수집 및 이용에 동의합니다 (필수)").check()
    customer.get_by_role("button", name="상담 시작").click()
    log = customer.get_by_role("log", name="대화 내용")
    expect(log).to_contain_text("안녕하세요, 고객센터입니다. 무엇을 도와드릴까요?")
    with reset.session() as s:
        chat = s.exec(select(Chat).order_by(Chat.id.desc())).first()
        consent = s.get(ConsentRecord, chat.consent_id)
    assert chat.customer_name == "이영희"
    assert consent is not None and consent.version and consent.customer_id == chat.customer_id
    assert chat.agent_id is not None and chat.assignment_reason
    assert chat.channel == "helpcenter"
    assert "Chrom" in chat.device  # parsed from the real user agent
    assert chat.ip in ("127.0.0.1", "::1", "::ffff:127.0.0.1")


def test_english_is_the_second_language(customer, agent, reset):
    base = reset.url
    login(agent, base, "agent2@example.com")
    go_online(agent)
    customer.goto(base + "/?lang=en")
    expect(customer.get_by_role("heading", name="How can we help?")).to_be_visible()
    customer.get_by_role("button", name="Chat", exact=True).click()
    customer.get_by_label("I agree to the collection and use of personal data (required)").check()
    customer.get_by_role("button", name="Start chat").click()
    expect(customer.get_by_role("log", name="Conversation")).to_contain_text(
        "Hello, this is customer support. How can we help you?"
    )
    customer.get_by_role("button", name="한국어").click()
    expect(customer.get_by_role("button", name="대화 종료")).to_be_visible()


def test_an_agent_who_closed_the_browser_stops_receiving_chats(browser, customer, reset):
    """Presence: the Online agent's only tab closes; they go Offline and customers see 부재중."""
    from online_contact.models import Agent

    base = reset.url
    ctx = browser.new_context(locale="ko-KR")
    agent = ctx.new_page()
    login(agent, base, "agent1@example.com")
    go_online(agent)
    ctx.close()
    deadline_ms = 20_000
    with reset.session() as s:
        assert s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one().status == "online"
    customer.wait_for_timeout(1000)
    for _ in range(deadline_ms // 500):
        with reset.session() as s:
            if s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one().status == "offline":
                break
        customer.wait_for_timeout(500)
    else:
        raise AssertionError("the agent who left is still Online")
    open_help_center(customer, base)
    customer.get_by_role("button", name="채팅", exact=True).click()
    expect(customer.get_by_role("alertdialog")).to_contain_text("상담원 부재중")


def test_wrong_password_gets_a_clear_error_and_no_session(browser, reset):
    page = browser.new_context(locale="ko-KR").new_page()
    try:
        page.goto(reset.url + "/agent")
        expect(page).to_have_url(reset.url + "/login")
        page.get_by_label("이메일").fill("agent1@example.com")
        page.get_by_label("비밀번호").fill("틀린비밀번호")
        page.get_by_role("button", name="로그인").click()
        expect(page.get_by_role("alert")).to_contain_text("이메일 또는 비밀번호가 올바르지 않습니다.")
        expect(page).to_have_url(reset.url + "/login")
        assert page.evaluate("localStorage.getItem('oc_auth')") in (None, "", '""')
    finally:
        page.context.close()


def test_widget_records_the_embedding_page_as_channel(customer, agent, reset):
    base = reset.url
    # A page whose query and fragment hold the visitor's email and a token: the channel is the
    # page's origin + path only (고객정보, 통계's 채널별 and the export show it).
    page = "https://shop.example.com/products/42"
    page_url = page + "?ref=banner&email=kim%40example.com#reset_token=s3cr3t"
    # Nobody Online: 상담원 부재중, and after closing it the widget offers to try again.
    customer.goto(f"{base}/widget?page={quote(page_url, safe='')}")
    expect(customer.get_by_role("alertdialog")).to_contain_text("상담원 부재중")
    customer.get_by_role("alertdialog").get_by_role("button", name="닫기").click()
    expect(customer.get_by_role("link", name="문의하기")).to_be_visible()

    login(agent, base, "agent1@example.com")
    go_online(agent)
    customer.get_by_role("button", name="상담 시작").click()
    customer.get_by_label("개인정보 수집 및 이용에 동의합니다 (필수)").check()
    customer.get_by_role("button", name="상담 시작").click()
    expect(customer.get_by_role("log", name="대화 내용")).to_contain_text("안녕하세요")
    with reset.session() as s:
        chat = s.exec(select(Chat).order_by(Chat.id.desc())).first()
    assert chat.channel == page
    agent.get_by_role("button", name="채팅", exact=True).click()
    agent.get_by_role("navigation", name="채팅 목록").get_by_role("button", name=f"#{chat.id}").click()
    expect(agent.get_by_role("region", name="고객정보")).to_contain_text(page)
    expect(agent.get_by_role("region", name="고객정보")).not_to_contain_text("banner")
