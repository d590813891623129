"""채팅 기록's screen through Reflex's event pipeline: the URL's search, an agent reaching for
someone else's chat, and 데이터 추출's reason, password setting and background job."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bench.history_data import generate
from online_contact.models import Agent, AuditLog, Chat
from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import settings as settings_service
from online_contact.services.auth import start_session
from online_contact.services.db import session_scope

from .pipeline import Client, names, run


def _tokens(db_url: str) -> dict[str, str]:
    with session_scope(db_url) as s:
        generate(s, chats=40, messages_per_chat=3, seed=12, days=5)
        return {a.email: start_session(s, a) for a in s.exec(select(Agent))}


async def _history_tab(app, token: str, query: dict | None = None) -> Client:
    from online_contact.states.history import HistoryState

    tab = Client(app, "/history", {names().auth: token})
    tab.query = query or {}
    await tab.open()
    await tab.fire(f"{HistoryState.get_full_name()}.load_history")
    return tab


def test_the_search_comes_from_the_url_and_an_agent_cannot_open_anothers_chat(app, db_url, monkeypatch):
    from online_contact.states.history import HistoryState

    monkeypatch.setenv("OC_EXPORT_DIR", str(__import__("tempfile").mkdtemp()))
    tokens = _tokens(db_url)
    h = HistoryState.get_full_name()
    with session_scope(db_url) as s:
        agent1 = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
        theirs = s.exec(select(Chat).where(Chat.agent_id != agent1.id, Chat.agent_id.is_not(None))).first().id
        mine, also_mine = [c.id for c in s.exec(select(Chat).where(Chat.agent_id == agent1.id).limit(2))]

    async def scenario():
        admin = await _history_tab(app, tokens["admin@example.com"], {"state": "processed", "from": "2020-01-01"})
        state = await admin.state(HistoryState)
        assert state.search["state"] == "processed" and state.rows and {r["state"] for r in state.rows} == {"processed"}
        assert state.is_admin and state.agent_options
        # A condition the URL got wrong is named as the screen labels it, and the default used.
        # 통계's click-through conditions stay with the search (and its export), named on screen.
        waited = await _history_tab(app, tokens["admin@example.com"], {"from": "2020-01-01", "wait": "4", "replied": "1"})
        state = await waited.state(HistoryState)
        assert state.search["wait"] == "4" and state.search["replied"] == "1" and len(state.extra_conditions) == 2
        await waited.fire(f"{h}.open_export")
        with session_scope(db_url) as s:
            admin_agent = s.exec(select(Agent).where(Agent.email == "admin@example.com")).one()
            from online_contact.services import history as history_service

            narrowed = history_service.count(s, admin_agent, history_service.parse_conditions({"from": "2020-01-01", "wait": "4"}))
            everything = history_service.count(s, admin_agent, history_service.parse_conditions({"from": "2020-01-01"}))
        assert (await waited.state(HistoryState)).export_count == narrowed < everything
        bad = await _history_tab(app, tokens["admin@example.com"], {"state": "x", "rating": "9"})
        state = await bad.state(HistoryState)
        assert state.invalid == ["상태", "평가"] and state.search["state"] == "" and state.rows

        agent = await _history_tab(app, tokens["agent1@example.com"], {"from": "2020-01-01"})
        state = await agent.state(HistoryState)
        assert state.rows and all(r["agent"] == agent1.name for r in state.rows) and not state.agent_options
        await agent.fire(f"{h}.open_chat", chat_id=theirs)
        state = await agent.state(HistoryState)
        assert state.selected_id == 0 and state.transcript == [] and state.panel_error
        await agent.fire(f"{h}.open_chat", chat_id=mine)
        state = await agent.state(HistoryState)
        assert state.selected_id == mine and state.transcript and state.timeline

        # 저장 by the agent of their own ended chat; the cascade takes only ids.
        await agent.fire(f"{h}.set_info_memo", value="후속 연락 필요")
        # Unsaved: the same chat clicked again keeps the edit; another one asks first.
        await agent.fire(f"{h}.open_chat", chat_id=mine)
        state = await agent.state(HistoryState)
        assert state.info_memo == "후속 연락 필요" and state.info_dirty and not state.confirm_open
        await agent.fire(f"{h}.open_chat", chat_id=also_mine)
        state = await agent.state(HistoryState)
        assert state.confirm_open and state.selected_id == mine
        await agent.fire(f"{h}.cancel_pending")
        await agent.fire(f"{h}.save_info")
        with session_scope(db_url) as s:
            assert s.get(Chat, mine).memo == "후속 연락 필요"

    run(app, scenario)


def test_an_export_needs_a_reason_and_runs_beside_the_screen(app, db_url, monkeypatch, tmp_path):
    from online_contact.states.history import HistoryState

    monkeypatch.setenv("OC_EXPORT_DIR", str(tmp_path))
    tokens = _tokens(db_url)
    h = HistoryState.get_full_name()

    async def wait_for(tab, check, seconds: float = 20.0):
        """Until the tab's state shows what the background job did (its real signal)."""
        for _ in range(int(seconds * 20)):
            state = await tab.state(HistoryState)
            if check(state):
                return state
            await asyncio.sleep(0.05)
        raise AssertionError("the export did not finish")

    async def scenario():
        admin = await _history_tab(app, tokens["admin@example.com"], {"from": "2020-01-01"})
        await admin.fire(f"{h}.open_export")
        state = await admin.state(HistoryState)
        assert state.export_open and state.export_count == state.total > 0
        await admin.fire(f"{h}.start_export", form_data={"reason": "  ", "password": ""})
        state = await admin.state(HistoryState)
        assert state.export_error and not state.export_running
        # A client sending the background event itself gets nothing: no job was checked.
        await admin.fire(f"{h}.run_export")
        assert not list(tmp_path.glob("*.xlsx"))

        with session_scope(db_url) as s:
            settings = settings_service.get_settings(s)
            settings.export_password_required = True
            s.add(settings)
        await admin.fire(f"{h}.start_export", form_data={"reason": "월말 보고", "password": ""})
        assert (await admin.state(HistoryState)).export_error

        await admin.fire(f"{h}.start_export", form_data={"reason": "월말 보고", "password": "비번1234"})
        state = await wait_for(admin, lambda st: st.export_url != "")
        assert not state.export_running and state.export_done == state.export_count
        assert len(list(tmp_path.glob("*.xlsx"))) == 1
        with session_scope(db_url) as s:
            entry = s.exec(select(AuditLog).where(AuditLog.action == "export.history")).one()
            admin_id = s.exec(select(Agent.id).where(Agent.role == ROLE_ADMIN)).first()
            assert entry.reason == "월말 보고" and entry.actor_agent_id == admin_id and '"password": true' in entry.detail

    run(app, scenario)


def test_the_rows_come_before_the_total_which_is_counted_once_per_search(app, db_url):
    """Rows first, then the total (sent after them, so a long count never holds the list back);
    turning pages keeps the search's total; a new search (or page 1 again) counts anew."""
    from urllib.parse import parse_qs, urlsplit

    from online_contact.states.history import HistoryState

    with session_scope(db_url) as s:
        generate(s, chats=130, messages_per_chat=1, seed=21, days=5)
        admin = s.exec(select(Agent).where(Agent.role == ROLE_ADMIN)).first()
        token = start_session(s, admin)
        stored = len(s.exec(select(Chat.id)).all())
    sent: list = []

    def totals(tab) -> list[str]:
        """The total as each update sent to the tab showed it, in order."""
        found = []
        for sid, update in sent:
            for values in (getattr(update, "delta", None) or {}).values() if sid == tab.sid else ():
                found += [v for k, v in values.items() if k.startswith("total_text")]
        return found

    async def scenario():
        tab = await _history_tab(app, token, {"from": "2020-01-01"})
        state = await tab.state(HistoryState)
        assert len(state.rows) == 50 and state.total == stored and state.older_url
        assert totals(tab)[-2:] == ["…", f"{stored:,}"]
        # Page 2 of the same search: the total is kept, not counted again (a chat that arrived
        # meanwhile shows on the next search).
        with session_scope(db_url) as s:
            generate(s, chats=1, messages_per_chat=1, seed=22, days=1)
        tab.query = {k: v[0] for k, v in parse_qs(urlsplit(state.older_url).query).items()}
        sent.clear()
        await tab.fire(f"{HistoryState.get_full_name()}.load_history")
        state = await tab.state(HistoryState)
        assert state.page_no == 2 and len(state.rows) == 50 and state.total == stored
        assert "…" not in totals(tab)
        tab.query = {"from": "2020-01-01"}
        await tab.fire(f"{HistoryState.get_full_name()}.load_history")
        assert (await tab.state(HistoryState)).total == stored + 1
        # A search that fits on one page needs no count at all.
        tab.query = {"from": "2020-01-01", "rating": "5"}
        sent.clear()
        await tab.fire(f"{HistoryState.get_full_name()}.load_history")
        state = await tab.state(HistoryState)
        assert 0 < state.total == len(state.rows) < 50 and "…" not in totals(tab)

    run(app, scenario, sent)


def test_an_open_panel_reads_again_only_what_it_shows_and_only_while_its_reader_may_see_the_chat(app, db_url):
    """``changed`` (a 마스킹 or an erasure elsewhere) makes the panel read what it shows again —
    the masked text, not a message that came since, and no second access record — and a panel
    whose chat was handed on to another agent since is closed and reads nothing."""
    from online_contact.models import Message
    from online_contact.services import messages as message_service
    from online_contact.services import privacy
    from online_contact.states.history import HistoryState

    tokens = _tokens(db_url)
    h = HistoryState.get_full_name()
    with session_scope(db_url) as s:
        agent1 = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
        agent2 = s.exec(select(Agent).where(Agent.email == "agent2@example.com")).one()
        chat_id = s.exec(select(Chat.id).where(Chat.agent_id == agent1.id)).first()
        first = s.exec(select(Message).where(Message.chat_id == chat_id).order_by(Message.seq)).first()

    def records() -> int:
        with session_scope(db_url) as s:
            return len(s.exec(select(AuditLog).where(AuditLog.action == privacy.VIEWED, AuditLog.target_id == chat_id)).all())

    async def scenario():
        tab = await _history_tab(app, tokens["agent1@example.com"], {"from": "2020-01-01"})
        await tab.fire(f"{h}.open_chat", chat_id=chat_id)
        shown = (await tab.state(HistoryState)).transcript
        assert shown and records() == 1
        with session_scope(db_url) as s:  # masked elsewhere, and a message comes after it
            row = s.get(Message, first.id)
            row.text = privacy.hide(row.text)
            s.add(row)
            message_service.append(s, chat_id, "customer", "나중에 온 메시지", "later-1")
        await tab.fire(f"{h}.transcript_changed", chat_id=chat_id)
        state = await tab.state(HistoryState)
        texts = [m["text"] for m in state.transcript]
        assert len(texts) == len(shown) and "*" in texts[0] and "나중에 온 메시지" not in texts
        assert records() == 1
        await tab.fire(f"{h}.transcript_changed", chat_id=chat_id + 1)  # not the open chat: nothing
        assert (await tab.state(HistoryState)).transcript == state.transcript

        with session_scope(db_url) as s:  # handed on to agent2
            chat = s.get(Chat, chat_id)
            chat.agent_id = agent2.id
            s.add(chat)
        await tab.fire(f"{h}.transcript_changed", chat_id=chat_id)
        state = await tab.state(HistoryState)
        assert state.selected_id == 0 and state.transcript == [] and records() == 1

    run(app, scenario)
