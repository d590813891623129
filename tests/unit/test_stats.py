"""통계: every figure of a known set of chats, computed by hand (and on PostgreSQL by
tests/integration). The set has each kind of 처리 / 포기, ratings, a ticket, a reassignment,
chats on both sides of midnight in Seoul and an agent's status changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from online_contact.models import Agent, AgentStatusLog, Category, Chat, ChatAssignment, Customer, Ticket
from online_contact.models.chat import CHAT_OPEN, CHAT_ENDED
from online_contact.services import agents as agent_service
from online_contact.services import history, live, stats

SEOUL = ZoneInfo("Asia/Seoul")
DAY = date(2026, 11, 10)  # a Tuesday
SHOP = "https://shop.example.com/p/1"


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SEOUL).astimezone(timezone.utc)


def build(session: Session) -> dict:
    """The known set (see each chat's comment); returns the ids it made."""
    agent1 = session.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
    agent2 = session.exec(select(Agent).where(Agent.email == "agent2@example.com")).one()
    leaf = session.exec(select(Category).where(Category.name == "배송지연")).one()
    customer = Customer(visitor_key="k" * 32)
    session.add(customer)
    session.flush()

    def chat(created, agent, *, opened=None, reply=None, ended=None, status=CHAT_ENDED, **more) -> Chat:
        c = Chat(customer_id=customer.id, created_at=created, agent_id=agent.id if agent else None, status=status,
                 agent_opened_at=created + timedelta(seconds=opened) if opened is not None else None,
                 first_agent_reply_at=created + timedelta(seconds=reply) if reply is not None else None,
                 agent_ended_at=created + timedelta(seconds=ended) if ended is not None else None, **more)
        session.add(c)
        session.flush()
        if agent:
            session.add(ChatAssignment(chat_id=c.id, agent_id=agent.id, reason="balanced", assigned_at=created))
        return c

    # A: 처리, wait 8 s, handled 600 s, 5점, a ticket, 배송지연, help center.
    a = chat(_at(10, 10), agent1, opened=5, reply=8, ended=608, rating_score=5, category_id=leaf.id)
    session.add(Ticket(source="chat", subject="A", chat_id=a.id))
    # B: 처리 from the shop's page, wait 25 s, handled 300 s, 3점.
    b = chat(_at(10, 10, 30), agent1, opened=20, reply=25, ended=325, rating_score=3, channel=SHOP)
    # C: 무응답 (opened, never answered; the customer left).
    c = chat(_at(10, 11), agent2, opened=30, customer_ended_at=_at(10, 11) + timedelta(seconds=100))
    # D: 대기 중 이탈, after being reassigned: agent1 went 휴식 (released), then agent2, who opened
    # it only after the customer had left (to close it).
    d = chat(_at(10, 12), agent2, opened=90, customer_ended_at=_at(10, 12) + timedelta(seconds=40))
    session.add(ChatAssignment(chat_id=d.id, agent_id=agent1.id, reason="balanced", assigned_at=_at(10, 12),
                               released_at=_at(10, 12) + timedelta(seconds=10), release_reason="agent_break"))
    # E: created 23:50 in Seoul, ended after midnight: counts on the 10th. 처리, wait 100 s, 4점.
    e = chat(_at(10, 23, 50), agent2, opened=60, reply=100, ended=1200, rating_score=4)
    # F: 00:05 on the 11th in Seoul (still the 10th in UTC): not in the period.
    chat(_at(11, 0, 5), agent1, opened=1, reply=2, ended=60)
    # G: 진행중, answered after 200 s.
    g = chat(_at(10, 13), agent1, opened=100, reply=200, status=CHAT_OPEN)
    # H: the day before (the previous period): 처리.
    chat(_at(9, 10), agent1, opened=1, reply=2, ended=30)
    # agent1 on the 10th: 온라인 09:00–12:00, 휴식 12:00–12:30, 온라인 from 12:30 on (still).
    for status, start, end in (("online", _at(10, 9), _at(10, 12)), ("break", _at(10, 12), _at(10, 12, 30)),
                               ("online", _at(10, 12, 30), None)):
        session.add(AgentStatusLog(agent_id=agent1.id, status=status, started_at=start, ended_at=end))
    session.commit()
    return {"agent1": agent1, "agent2": agent2, "leaf": leaf, "ids": {k: v.id for k, v in zip("ABCDEG", (a, b, c, d, e, g))}}


def check_every_figure_matches_the_hand_computed_values(session: Session) -> None:
    made = build(session)
    admin = session.exec(select(Agent).where(Agent.role == "admin")).first()
    period = stats.Period(DAY, DAY)
    now = _at(11, 1)
    r = stats.report(session, admin, period, now=now)
    t = r.total
    assert (t.incoming, t.processed, t.left_waiting, t.no_reply, t.abandoned, t.in_progress) == (6, 3, 1, 1, 2, 1)
    assert t.response_rate == 0.5 and stats.rate_colour(t.response_rate) == "red"
    assert sorted(t.waits) == [8, 25, 100, 200]
    assert t.wait_avg == pytest.approx(83.25) and t.wait_median == 25 and t.wait_p90 == 200
    assert sorted(t.handles) == [300, 600, 1100] and t.handle_avg == pytest.approx(2000 / 3)
    assert t.satisfaction == pytest.approx(4.0) and len(t.scores) == 3 and t.rated_share == 0.5
    assert t.distribution == [0, 0, 1, 1, 1] and t.tickets == 1
    assert t.wait_buckets == [1, 1, 0, 1, 1]
    assert (r.previous.incoming, r.previous.processed, r.previous.abandoned, r.previous.tickets) == (1, 1, 0, 0)
    assert (r.previous.wait_avg, r.previous.handle_avg, r.previous.satisfaction) == (2.0, 28.0, None)
    # The summary the cards compare with is the same figures, summed by the database.
    same = stats.summary(session, admin, period)
    assert (same.incoming, same.processed, same.abandoned, same.tickets) == (t.incoming, t.processed, t.abandoned, t.tickets)
    assert same.wait_avg == pytest.approx(t.wait_avg) and same.handle_avg == pytest.approx(t.handle_avg)
    assert same.satisfaction == pytest.approx(t.satisfaction) and same.response_rate == t.response_rate
    # By day (one day), by hour, 요일 × 시간대.
    assert [(d, f.incoming) for d, f in r.days] == [(DAY, 6)]
    assert {h: f.incoming for h, f in enumerate(r.hours) if f.incoming} == {10: 2, 11: 1, 12: 1, 13: 1, 23: 1}
    assert r.week[1][10] == 2 and sum(map(sum, r.week)) == 6
    # 상담원별: 배정 counts every assignment (D was agent1's before it went to agent2).
    rows = {row.name: row for row in r.agents}
    one, two = rows[made["agent1"].name], rows[made["agent2"].name]
    assert (one.assigned, one.figures.incoming, one.figures.processed) == (4, 3, 2)
    assert (two.assigned, two.figures.incoming, two.figures.processed) == (3, 3, 1)
    assert one.figures.satisfaction == pytest.approx(4.0) and two.figures.satisfaction == pytest.approx(4.0)
    assert (one.online_seconds, one.break_seconds) == (3 * 3600 + 11 * 3600 + 30 * 60, 30 * 60)
    assert (two.online_seconds, two.break_seconds) == (0, 0)
    # 처리유형별 at every level; 채널별.
    assert [(c["path"], c["count"]) for c in r.categories] == [
        ("주문", 1), ("주문 › 배송", 1), ("주문 › 배송 › 배송지연", 1), ("", 5)]  # the last: no 처리유형
    assert {c["channel"]: c["count"] for c in r.channels} == {"helpcenter": 5, SHOP: 1}

    # Click-through: the 채팅 기록 search of each figure lists exactly its chats.
    ids = made["ids"]

    def listed(**conditions) -> set[int]:
        c = history.parse_conditions(stats.history_query(period, **conditions))
        assert not c.invalid, c.invalid
        return {chat.id for batch in history.rows_in_batches(session, admin, c) for chat in batch}

    assert listed() == set(ids.values())
    assert listed(state="processed") == {ids["A"], ids["B"], ids["E"]}
    assert listed(state="unprocessed") == {ids["C"], ids["D"]}
    assert listed(state="left_waiting") == {ids["D"]} and listed(state="no_reply") == {ids["C"]}
    assert listed(ticket="1") == {ids["A"]} and listed(rating="any") == {ids["A"], ids["B"], ids["E"]}
    assert listed(wait="0") == {ids["A"]} and listed(wait="3") == {ids["E"]} and listed(wait="4") == {ids["G"]}
    assert listed(hour="10") == {ids["A"], ids["B"]} and listed(dow="1", hour="23") == {ids["E"]}
    assert listed(hour="10", state="processed") == {ids["A"], ids["B"]} and listed(dow="2") == set()
    assert listed(channel=SHOP) == {ids["B"]}
    # 배정: every chat the agent was given, also one handed on since (D).
    assert listed(assigned=str(made["agent1"].id)) == {ids["A"], ids["B"], ids["D"], ids["G"]} and listed(agent=str(made["agent1"].id)) == {ids["A"], ids["B"], ids["G"]}
    assert listed(category=str(session.exec(select(Category).where(Category.name == "주문")).one().id)) == {ids["A"]}

    # An agent's figures are their own chats only, and only their row.
    mine = stats.report(session, made["agent2"], period, now=now)
    assert (mine.total.incoming, mine.total.processed) == (3, 1)
    assert [row.name for row in mine.agents] == [made["agent2"].name]


def test_every_figure_matches_the_hand_computed_values(session, monkeypatch):
    monkeypatch.setenv("OC_TIMEZONE", "Asia/Seoul")
    check_every_figure_matches_the_hand_computed_values(session)


def test_every_status_change_is_in_the_status_history(session):
    agent = session.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
    agent_service.set_status(session, agent, "online")
    agent_service.set_status(session, agent, "online")  # no change, no row
    agent_service.set_status(session, agent, "break")
    agent_service.leave_online(session, agent, "offline", "agent_logout")
    logs = session.exec(select(AgentStatusLog).where(AgentStatusLog.agent_id == agent.id).order_by(AgentStatusLog.id)).all()
    assert [log.status for log in logs] == ["online", "break", "offline"]
    assert all(log.ended_at is not None for log in logs[:-1]) and logs[-1].ended_at is None
    assert logs[0].ended_at == logs[1].started_at


def test_the_screen_shows_the_figures_and_links_each_to_its_chats(app, db_url, monkeypatch):
    from urllib.parse import parse_qs, urlsplit

    from online_contact.services.auth import start_session
    from online_contact.services.db import session_scope
    from online_contact.states.stats import StatsState

    from .pipeline import Client, names, run

    monkeypatch.setenv("OC_TIMEZONE", "Asia/Seoul")
    with session_scope(db_url) as s:
        made = build(s)
        admin = s.exec(select(Agent).where(Agent.role == "admin")).first()
        tokens = {"admin": start_session(s, admin), "agent2": start_session(s, made["agent2"])}
    name = StatsState.get_full_name()

    async def open_stats(token: str, query: dict) -> Client:
        tab = await Client(app, "/stats", {names().auth: token}).open()
        tab.query = query
        await tab.fire(f"{name}.load_stats")
        return tab

    def query_of(href: str) -> dict:
        return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}

    sent: list = []

    async def scenario():
        tab = await open_stats(tokens["admin"], {"from": DAY.isoformat(), "to": DAY.isoformat()})
        state = await tab.state(StatsState)
        cards = {c["key"]: c for c in state.cards}
        assert state.period_key == "custom" and state.one_day and state.is_admin
        assert (cards["incoming"]["value"], cards["processed"]["value"], cards["abandoned"]["value"]) == ("6", "3", "2")
        assert cards["response_rate"]["value"] == "50.0%" and cards["response_rate"]["colour"] == "red"
        assert cards["incoming"]["delta"] == "▲ 5" and cards["wait"]["value"] == "1:23"
        assert cards["satisfaction"]["value"] == "4.00" and "3" in cards["satisfaction"]["sub"]
        assert query_of(cards["abandoned"]["no_reply_href"]) == {"from": "2026-11-10", "to": "2026-11-10", "state": "no_reply"}
        assert query_of(cards["tickets"]["href"])["ticket"] == "1"
        assert cards["incoming"]["tip"].startswith("기간 중 시작된 채팅 수")
        assert [b["count"] for b in state.buckets] == [1, 1, 0, 1, 1]
        rows = {r["name"]: r for r in state.agent_rows}
        assert rows[made["agent1"].name]["online_text"] == "14:30:00" and rows[made["agent1"].name]["assigned"] == 4
        await tab.fire(f"{name}.sort_by", table="agents", column="assigned")
        state = await tab.state(StatsState)
        assert [r["assigned"] for r in state.agent_rows] == sorted((r["assigned"] for r in state.agent_rows), reverse=True)
        await tab.fire(f"{name}.sort_by", table="agents", column="nonsense")  # ignored
        # A bar of the chart (one day: an hour) and a cell of 요일 × 시간대 open exactly their chats.
        hour10 = next(d for d in state.days if d["label"] == "10")
        assert query_of(hour10["href_processed"]) == {"from": "2026-11-10", "to": "2026-11-10", "state": "processed", "hour": "10"}
        assert query_of(state.week[1][23]["href"])["dow"] == "1" and query_of(state.week[1][23]["href"])["hour"] == "23"
        sent.clear()
        for href in ("https://evil.example/", "/settings", "javascript:alert(1)", hour10["href_processed"]):
            await tab.fire(f"{name}.go", href=href)
        redirects = [e.payload.get("path") for _sid, u in sent for e in (getattr(u, "events", None) or []) if e.name == "_redirect"]
        assert redirects == [hour10["href_processed"]]
        # An agent: their own figures and their own row only.
        mine = await open_stats(tokens["agent2"], {"from": DAY.isoformat(), "to": DAY.isoformat()})
        state = await mine.state(StatsState)
        assert {c["key"]: c["value"] for c in state.cards}["incoming"] == "3"
        assert [r["name"] for r in state.agent_rows] == [made["agent2"].name] and not state.is_admin

    run(app, scenario, sent)


def check_the_live_view(session: Session) -> None:
    from online_contact.models import Message
    from online_contact.models.chat import CHAT_WAITING

    made = build(session)
    admin = session.exec(select(Agent).where(Agent.role == "admin")).first()
    now = _at(11, 1)
    g = session.get(Chat, made["ids"]["G"])
    session.add(Message(chat_id=g.id, seq=1, author="customer", text="아직인가요?", client_msg_id="g1", created_at=now))
    g.last_seq = 1
    session.add(g)
    customer = session.exec(select(Customer)).first()
    session.add(Chat(customer_id=customer.id, status=CHAT_WAITING, created_at=now - timedelta(seconds=300)))
    session.add(Chat(customer_id=customer.id, status=CHAT_WAITING, created_at=now - timedelta(seconds=40)))
    for who, status in ((made["agent1"], "online"), (made["agent2"], "break")):
        who.status = status
        session.add(who)
    session.commit()
    view = live.now_view(session, admin, now=now)
    assert (view.waiting, view.longest_wait, view.open_chats) == (2, 300, 3)  # and G, open
    assert view.statuses["online"] >= 1 and view.statuses["break"] >= 1
    rows = {a.name: a for a in view.agents}
    assert (rows[made["agent1"].name].open_chats, rows[made["agent1"].name].unanswered) == (1, 1)  # G (F ended)
    assert (rows[made["agent2"].name].open_chats, rows[made["agent2"].name].unanswered) == (0, 0)
    mine = live.now_view(session, made["agent2"], now=now)
    assert [a.name for a in mine.agents] == [made["agent2"].name] and mine.waiting == 0


def test_the_live_view(session):
    check_the_live_view(session)


def test_todays_figures_and_the_live_view_follow_the_ticks(app, db_url):
    from online_contact.models._base import utcnow
    from online_contact.models.chat import CHAT_WAITING
    from online_contact.services.auth import start_session
    from online_contact.services.db import session_scope
    from online_contact.states.stats import StatsState

    from .pipeline import Client, names, run

    with session_scope(db_url) as s:
        admin = s.exec(select(Agent).where(Agent.role == "admin")).first()
        token = start_session(s, admin)
        customer = Customer(visitor_key="t" * 32)
        s.add(customer)
        s.commit()
        customer_id = customer.id
    name = StatsState.get_full_name()

    def add_waiting_chat():
        with session_scope(db_url) as s:
            s.add(Chat(customer_id=customer_id, status=CHAT_WAITING, created_at=utcnow()))
            s.commit()

    async def scenario():
        tab = await Client(app, "/stats", {names().auth: token}).open()
        tab.query = {"period": "today"}
        await tab.fire(f"{name}.load_stats")
        state = await tab.state(StatsState)
        before = int({c["key"]: c["value"] for c in state.cards}["incoming"].replace(",", ""))
        waiting = int(state.live["waiting"].replace(",", ""))
        assert state.includes_today and state.updated
        add_waiting_chat()
        await tab.fire(f"{name}.tick")
        state = await tab.state(StatsState)
        assert {c["key"]: c["value"] for c in state.cards}["incoming"] == f"{before + 1:,}"
        assert state.live["waiting"] == f"{waiting + 1:,}"
        # Ticks closer together than the page's timer are ignored (a client could send them).
        add_waiting_chat()
        await tab.fire(f"{name}.tick")
        state = await tab.state(StatsState)
        assert state.live["waiting"] == f"{waiting + 1:,}"
        state._last_tick = 0.0  # ten seconds later
        # A period that ended yesterday: the tick renews only the live view.
        tab.query = {"period": "yesterday"}
        await tab.fire(f"{name}.load_stats")
        cards = (await tab.state(StatsState)).cards
        await tab.fire(f"{name}.tick")
        state = await tab.state(StatsState)
        assert state.cards == cards and state.live["waiting"] == f"{waiting + 2:,}"

    run(app, scenario)


def test_the_tables_export_to_excel_for_the_same_login_audited(app, db_url, monkeypatch, tmp_path):
    from openpyxl import load_workbook
    from starlette.testclient import TestClient

    from online_contact.api import build_api
    from online_contact.models import AuditLog
    from online_contact.services.auth import start_session
    from online_contact.services.db import session_scope
    from online_contact.states.stats import StatsState

    from .pipeline import Client, names, run

    monkeypatch.setenv("OC_TIMEZONE", "Asia/Seoul")
    monkeypatch.setenv("OC_EXPORT_DIR", str(tmp_path / "exports"))
    with session_scope(db_url) as s:
        made = build(s)
        agent1 = made["agent1"]
        agent1.name = "=HYPERLINK(\"http://evil\")"  # a name Excel would run as a formula
        s.add(agent1)
        s.commit()
        admin = s.exec(select(Agent).where(Agent.role == "admin")).first()
        token, other = start_session(s, admin), start_session(s, made["agent2"])
    name = StatsState.get_full_name()
    found: dict = {}

    async def scenario():
        tab = await Client(app, "/stats", {names().auth: token}).open()
        tab.query = {"from": DAY.isoformat(), "to": DAY.isoformat()}
        await tab.fire(f"{name}.load_stats")
        await tab.fire(f"{name}.open_export")
        await tab.fire(f"{name}.start_export", form_data={"reason": ""})
        state = await tab.state(StatsState)
        assert state.export_error and not state.export_url  # a reason first
        await tab.fire(f"{name}.start_export", form_data={"reason": "월간 보고"})
        found["url"] = (await tab.state(StatsState)).export_url

    run(app, scenario)
    assert found["url"].startswith("/api/export/")
    client = TestClient(build_api())
    assert client.get(found["url"], headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert client.get(found["url"]).status_code == 404
    response = client.get(found["url"], headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    path = tmp_path / "stats.xlsx"
    path.write_bytes(response.content)
    book = load_workbook(path)
    assert book.sheetnames == ["요약", "일별", "상담원별", "처리유형별", "채널별"]
    summary = {row[0].value: row[1].value for row in book["요약"].iter_rows(min_row=2)}
    assert (summary["인입"], summary["응대"], summary["포기"], summary["티켓 전환"]) == (6, 3, 2, 1)
    assert summary["응답률"] == 0.5 and summary["평균 대기 시간"] == timedelta(seconds=83)
    agents = {row[0].value: row[1].value for row in book["상담원별"].iter_rows(min_row=2)}
    assert agents["=HYPERLINK(\"http://evil\")"] == 4
    assert not [c.coordinate for ws in book.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    with session_scope(db_url) as s:
        entry = s.exec(select(AuditLog).where(AuditLog.action == "export.stats")).one()
        assert entry.reason == "월간 보고" and '"from": "2026-11-10"' in entry.detail


def test_a_running_period_is_compared_with_the_same_part_of_the_one_before(session, monkeypatch):
    monkeypatch.setenv("OC_TIMEZONE", "Asia/Seoul")
    build(session)
    admin = session.exec(select(Agent).where(Agent.role == "admin")).first()
    period = stats.Period(DAY, DAY)
    # At 09:00 on the 10th, the 9th is compared until 09:00 (H, created at 10:00, not yet) …
    assert stats.report(session, admin, period, now=_at(10, 9)).previous.incoming == 0
    # … at 12:05 until 12:05; once the period is over, all of the day before.
    assert stats.report(session, admin, period, now=_at(10, 12, 5)).previous.incoming == 1
    assert stats.report(session, admin, period, now=_at(12, 0)).previous.incoming == 1


def test_an_agent_who_left_while_on_a_break_goes_offline_and_the_break_ends(session, db_url, monkeypatch):
    from online_contact.realtime import presence
    from tests.support import run_async

    monkeypatch.setenv("DATABASE_URL", db_url)
    agent = session.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
    agent_service.set_status(session, agent, "break")

    async def no_tabs(agent_id):
        return 0

    monkeypatch.setattr(presence, "_connected_tabs", no_tabs)
    monkeypatch.setattr(presence, "publish_status_change", lambda change: None)
    run_async(presence.check_presence({}, 0))
    session.expire_all()
    assert session.get(Agent, agent.id).status == "offline"
    logs = session.exec(select(AgentStatusLog).where(AgentStatusLog.agent_id == agent.id).order_by(AgentStatusLog.id)).all()
    assert [log.status for log in logs] == ["break", "offline"] and logs[0].ended_at is not None
