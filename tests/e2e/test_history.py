"""채팅 기록 in a real browser: an admin finds a chat by a Korean word inside a longer one, edits
its memo, makes a ticket from it, and the search survives a reload and Back; an agent sees only
the chats they handled."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from online_contact.models import Agent, Chat, Customer, Ticket
from online_contact.models.chat import CHAT_ENDED
from online_contact.models._base import utcnow
from online_contact.services import messages as message_service

from .helpers import login


def _ended_chat(s, agent_email: str, name: str, lines: list[str]) -> int:
    """A chat that agent handled and ended, with its transcript (stored as the message path does)."""
    agent = s.exec(select(Agent).where(Agent.email == agent_email)).one()
    customer = Customer(name=name, email=f"{abs(hash(name)) % 10**6}@example.com")
    s.add(customer)
    s.commit()
    now = utcnow()
    chat = Chat(customer_id=customer.id, customer_name=name, customer_email=customer.email, agent_id=agent.id,
                status="open", assigned_at=now, agent_opened_at=now)
    s.add(chat)
    s.commit()
    for n, text in enumerate(lines):
        author = "customer" if n % 2 == 0 else "agent"
        message_service.post_message(s, chat, author, text, f"{name}-{n}", agent_id=agent.id if author == "agent" else None)
    chat.status, chat.agent_ended_at = CHAT_ENDED, utcnow()
    s.add(chat)
    s.commit()
    return chat.id


NAMES = {"refund": "김환불", "delivery": "이배송", "english": "Alex"}


@pytest.fixture
def chats(reset):
    """Three chats of this test (the server's database also holds other tests' chats: each
    check looks for these by their customers' names, made unique)."""
    tag = uuid.uuid4().hex[:6]
    names = {key: f"{name}{tag}" for key, name in NAMES.items()}
    with reset.session() as s:
        ids = {
            "refund": _ended_chat(s, "agent1@example.com", names["refund"], ["부분환불 요청합니다", "네, 확인해 드릴게요"]),
            "delivery": _ended_chat(s, "agent2@example.com", names["delivery"], ["배송이 늦어요", "죄송합니다"]),
            "english": _ended_chat(s, "agent1@example.com", names["english"], ["I want a REFUND", "Sure"]),
        }
    return ids, names


def _history(page: Page, base: str) -> None:
    page.goto(base + "/history")
    expect(page.get_by_role("heading", name="채팅 기록", level=1)).to_be_visible()


def _rows(page: Page):
    return page.get_by_role("table", name="채팅 기록").get_by_role("row").filter(has_not=page.get_by_role("columnheader"))


def _row(page: Page, name: str):
    return _rows(page).filter(has_text=name)


def test_an_admin_finds_a_chat_by_a_word_inside_a_longer_one_and_finishes_it(browser, reset, chats):
    ids, names = chats
    ctx = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 900})
    admin = ctx.new_page()
    login(admin, reset.url, "admin@example.com", "admin1234")
    _history(admin, reset.url)
    for name in names.values():
        expect(_row(admin, name)).to_have_count(1)

    admin.get_by_label("검색어").fill("환불")
    admin.get_by_role("button", name="검색", exact=True).click()
    expect(admin).to_have_url(re.compile(r"/history\?.*q=%ED%99%98%EB%B6%88"))
    expect(_row(admin, names["delivery"])).to_have_count(0)
    expect(_row(admin, names["english"])).to_have_count(0)
    found = _row(admin, names["refund"])
    expect(found).to_have_count(1)
    expect(found).to_contain_text("처리")

    # The side panel: transcript, timeline, and 고객정보 / 상담정보 to finish.
    found.get_by_role("button", name=re.compile("열기")).click()
    panel = admin.get_by_role("region", name="채팅 상세")
    expect(panel.get_by_role("log", name="대화 내용")).to_contain_text("부분환불 요청합니다")
    expect(panel).to_contain_text("첫 응답")
    expect(panel).to_contain_text("상담원 종료")
    memo = panel.get_by_label("메모")
    memo.fill("부분환불 처리 완료")
    expect(panel.get_by_text("저장되지 않은 변경")).to_be_visible()
    panel.get_by_role("button", name="저장", exact=True).click()
    expect(panel.get_by_text("저장되었습니다.")).to_be_visible()
    with reset.session() as s:
        assert s.get(Chat, ids["refund"]).memo == "부분환불 처리 완료"

    panel.get_by_role("button", name="티켓 만들기").click()
    dialog = admin.get_by_role("dialog", name="티켓 만들기")
    expect(dialog.get_by_label("제목")).not_to_have_value("")
    dialog.get_by_role("button", name="만들기").click()
    expect(dialog).to_be_hidden()
    with reset.session() as s:
        ticket = s.exec(select(Ticket).where(Ticket.chat_id == ids["refund"])).one()
    expect(panel.get_by_role("listitem").filter(has_text=f"#{ticket.id}")).to_be_visible()

    # English, case-insensitive; the search lives in the URL: reload keeps it, Back returns.
    admin.get_by_label("검색어").fill("refund")
    admin.get_by_role("button", name="검색", exact=True).click()
    expect(_row(admin, names["english"])).to_have_count(1)
    expect(_row(admin, names["refund"])).to_have_count(0)
    assert parse_qs(urlparse(admin.url).query)["q"] == ["refund"]
    admin.reload()
    expect(admin.get_by_label("검색어")).to_have_value("refund")
    expect(_row(admin, names["english"])).to_have_count(1)
    admin.go_back()
    expect(admin.get_by_label("검색어")).to_have_value("환불")
    expect(_row(admin, names["refund"])).to_have_count(1)
    expect(_row(admin, names["english"])).to_have_count(0)
    ctx.close()


def test_an_agents_history_shows_only_the_chats_they_handled(agent, reset, chats):
    _ids, names = chats
    login(agent, reset.url, "agent1@example.com")
    agent.get_by_role("link", name="채팅 기록").click()
    expect(agent.get_by_role("heading", name="채팅 기록", level=1)).to_be_visible()
    expect(_row(agent, names["refund"])).to_have_count(1)
    expect(_row(agent, names["english"])).to_have_count(1)
    expect(_row(agent, names["delivery"])).to_have_count(0)
    with reset.session() as s:
        others = [a.name for a in s.exec(select(Agent).where(Agent.email != "agent1@example.com"))]
    for row in _rows(agent).all():
        for other in others:
            expect(row.get_by_role("cell").nth(2)).not_to_have_text(other)
    # No 상담원 condition for an agent (they only have their own).
    expect(agent.get_by_label("상담원", exact=True)).to_have_count(0)
    agent.get_by_label("고객 (이름 / 이메일)").fill(names["delivery"])
    agent.get_by_role("button", name="검색", exact=True).click()
    expect(agent.get_by_text("조건에 맞는 채팅이 없습니다.")).to_be_visible()


def test_an_admin_exports_the_search_with_a_reason_and_the_file_holds_it(browser, reset, chats, tmp_path):
    from openpyxl import load_workbook

    from online_contact.models import AuditLog

    ids, names = chats
    ctx = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 900}, accept_downloads=True)
    admin = ctx.new_page()
    login(admin, reset.url, "admin@example.com", "admin1234")
    admin.goto(reset.url + "/history?" + "customer=" + names["refund"])
    expect(_row(admin, names["refund"])).to_have_count(1)
    admin.get_by_role("button", name="데이터 추출").click()
    dialog = admin.get_by_role("dialog", name="데이터 추출 (Excel)")
    expect(dialog).to_contain_text("1건")
    # No reason, no export.
    dialog.get_by_role("button", name="추출 시작").click()
    expect(dialog.get_by_role("alert")).to_contain_text("추출 사유를 입력해 주세요.")
    dialog.get_by_label("사유 (필수)").fill("환불 민원 회신 자료")
    dialog.get_by_role("button", name="추출 시작").click()
    expect(dialog.get_by_text("파일이 준비되었습니다.")).to_be_visible()
    href = dialog.get_by_role("link", name="내려받기").get_attribute("href")
    with admin.expect_download() as info:
        dialog.get_by_role("link", name="내려받기").click()
    path = tmp_path / "export.xlsx"
    info.value.save_as(path)
    assert info.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(path)
    rows = list(book["채팅 기록"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [ids["refund"]] and rows[0][3] == names["refund"]
    lines = [r[3] for r in book["대화 내용"].iter_rows(min_row=2, values_only=True)]
    assert lines == ["부분환불 요청합니다", "네, 확인해 드릴게요"]
    with reset.session() as s:
        entry = s.exec(select(AuditLog).where(AuditLog.action == "export.history").order_by(AuditLog.id.desc())).first()
        assert entry.reason == "환불 민원 회신 자료" and '"chats": 1' in entry.detail
    # The link alone (opened without the login's header) gives nothing.
    assert admin.request.get(reset.url + href).status == 404
    ctx.close()


def test_the_chat_screen_and_history_ride_on_the_tabs_one_websocket(agent: Page, reset):
    """Between the chat screen and 채팅 기록 (the top bar's links: no page load) each screen opens
    its /_wire socket on Reflex's connection: the tab keeps one websocket, however often the
    agent goes back and forth (socket.io-client keeps a namespace it left in its manager, and
    the next screen's socket then opened a websocket of its own)."""
    base = reset.url
    login(agent, base, "agent1@example.com")
    agent.wait_for_function("() => window.ocWire && window.ocWire.connected()")
    opened: list[str] = []
    agent.on("websocket", lambda ws: opened.append(ws.url))
    for _ in range(2):
        agent.get_by_role("link", name="채팅 기록").click()
        expect(agent.get_by_role("heading", name="채팅 기록", level=1)).to_be_visible()
        agent.wait_for_function("() => window.ocHistoryWire && window.ocHistoryWire.connected()")
        agent.get_by_role("link", name="채팅", exact=True).click()
        expect(agent).to_have_url(f"{base}/agent")
        agent.wait_for_function("() => window.ocWire && window.ocWire.connected()")
    assert opened == []
