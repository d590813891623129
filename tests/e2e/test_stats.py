"""통계 in a browser: an admin's 오늘, the click-through to 채팅 기록, 상담원별, and an agent's own
figures only. The server's database also holds other tests' chats: each check is relative to
what the page showed before this test's chats were added."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect
from sqlmodel import select

from online_contact.models import Agent, Chat, Customer
from online_contact.models._base import utcnow
from online_contact.models.chat import CHAT_ENDED

from .helpers import login


def _value(page: Page, label: str) -> int:
    link = page.get_by_role("group", name=label, exact=True).get_by_role("link").first
    expect(link).to_be_visible()
    return int(link.inner_text().replace(",", ""))


def _today(page: Page, base: str) -> None:
    page.goto(base + "/stats")
    page.get_by_role("button", name="오늘").click()
    expect(page).to_have_url(base + "/stats?period=today")
    expect(page.get_by_role("group", name="인입", exact=True)).to_be_visible()


def _add_chats(s, tag: str) -> None:
    agent = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
    customer = Customer(name=tag)
    s.add(customer)
    s.commit()
    now = utcnow()
    # 처리 by agent1, and one the customer left before anyone opened it (대기 중 이탈).
    s.add(Chat(customer_id=customer.id, customer_name=f"{tag}처리", agent_id=agent.id, status=CHAT_ENDED, assigned_at=now,
               agent_opened_at=now, first_agent_reply_at=now, agent_ended_at=now))
    s.add(Chat(customer_id=customer.id, customer_name=f"{tag}이탈", status=CHAT_ENDED, customer_ended_at=now))
    s.commit()


def test_an_admin_reads_today_and_opens_the_chats_behind_a_number(browser, reset):
    ctx = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000})
    admin = ctx.new_page()
    try:
        login(admin, reset.url, "admin@example.com", "admin1234")
        _today(admin, reset.url)
        incoming, abandoned = _value(admin, "인입"), _value(admin, "포기")
        tag = "통계" + uuid.uuid4().hex[:6]
        with reset.session() as s:
            _add_chats(s, tag)
        admin.reload()
        expect(admin.get_by_role("group", name="인입", exact=True).get_by_role("link")).to_have_text(f"{incoming + 2:,}")
        expect(admin.get_by_role("group", name="포기", exact=True).get_by_role("link").first).to_have_text(f"{abandoned + 1:,}")
        # 상담원별 has agent1's row.
        with reset.session() as s:
            name = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one().name
        table = admin.get_by_role("table", name="상담원별")
        expect(table.get_by_role("rowheader", name=name, exact=True)).to_have_count(1)
        # 대기 중 이탈 opens 채팅 기록 on exactly those chats: this test's is among them.
        admin.get_by_role("group", name="포기", exact=True).get_by_role("link", name="대기 중 이탈").click()
        expect(admin.get_by_role("heading", name="채팅 기록", level=1)).to_be_visible()
        assert "state=left_waiting" in admin.url
        expect(admin.get_by_role("table", name="채팅 기록").get_by_text(f"{tag}이탈")).to_be_visible()
        expect(admin.get_by_role("table", name="채팅 기록").get_by_text(f"{tag}처리")).to_have_count(0)
        # A bar of the chart: 최근 7일, the 포기 part of today's bar (the chart's second series,
        # its newest bar) opens 채팅 기록 on today's 미처리 chats.
        admin.goto(reset.url + "/stats")
        admin.get_by_role("button", name="최근 7일").click()
        expect(admin).to_have_url(reset.url + "/stats?period=7d")
        abandoned_bars = admin.locator(".recharts-bar").nth(1).locator(".recharts-bar-rectangle")
        expect(abandoned_bars.last).to_be_visible()
        abandoned_bars.last.click()
        expect(admin.get_by_role("heading", name="채팅 기록", level=1)).to_be_visible()
        assert "state=unprocessed" in admin.url
        expect(admin.get_by_role("table", name="채팅 기록").get_by_text(f"{tag}이탈")).to_be_visible()
    finally:
        ctx.close()


def test_an_agents_stats_show_no_other_agent(agent: Page, reset):
    login(agent, reset.url, "agent1@example.com")
    agent.get_by_role("link", name="통계").click()
    expect(agent.get_by_role("heading", name="통계", level=1)).to_be_visible()
    with reset.session() as s:
        me = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one().name
        others = [a.name for a in s.exec(select(Agent).where(Agent.email != "agent1@example.com"))]
    table = agent.get_by_role("table", name="상담원별")
    expect(table.get_by_role("rowheader")).to_have_count(1)
    expect(table.get_by_role("rowheader", name=me, exact=True)).to_have_count(1)
    for other in others:
        expect(table.get_by_role("rowheader", name=other, exact=True)).to_have_count(0)
