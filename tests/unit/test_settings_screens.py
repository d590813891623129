"""The 서비스 관리 screens through Reflex's real event pipeline: what an admin's 저장 does, what it
pushes to the open pages (through the message path), and that nobody else can do it."""

from __future__ import annotations

import pytest
from sqlmodel import select

from online_contact.models import Agent, Category, Chat
from online_contact.realtime.wire import WIRE
from online_contact.services import settings as settings_service
from online_contact.services.auth import start_session
from online_contact.services.db import session_scope
from online_contact.states.agent_console import AgentConsoleState
from online_contact.states.settings_agents import AgentAdminState
from online_contact.states.settings_assignment import AssignmentSettingsState
from online_contact.states.settings_basic import BasicSettingsState
from online_contact.states.settings_categories import CategoryAdminState
from tests.support import RecordingSocketServer

from .pipeline import Client, customer_starts_chat, names, run

B, A, C, G = (s.get_full_name() for s in (BasicSettingsState, AssignmentSettingsState, CategoryAdminState, AgentAdminState))


@pytest.fixture
def pushed(monkeypatch):
    server = RecordingSocketServer()
    monkeypatch.setattr(WIRE, "server", server, raising=False)
    monkeypatch.setattr(WIRE, "_redis", None)
    return server.emits


def _login(db_url, email):
    with session_scope(db_url) as s:
        return start_session(s, s.exec(select(Agent).where(Agent.email == email)).one())


async def _tab(app, path, token, loader):
    tab = await Client(app, path, {names().auth: token}).open()
    await tab.fire(loader)
    return tab


def test_saving_chat_off_pushes_it_to_every_customer_page_and_refuses_new_chats(app, db_url, pushed):
    token = _login(db_url, "admin@example.com")

    async def scenario():
        admin = await _tab(app, "/settings", token, f"{B}.load_basic")
        state = await admin.state(BasicSettingsState)
        assert state.form["chat_enabled"] == "1" and state.form["greeting_ko"].startswith("안녕하세요")
        await admin.fire(f"{B}.edit", field="chat_enabled", value=False)
        assert (await admin.state(BasicSettingsState)).dirty
        await admin.fire(f"{B}.save")
        state = await admin.state(BasicSettingsState)
        assert state.notice == "저장되었습니다." and not state.dirty
        assert ("site", {"chat_enabled": False}, ["site"], None) in pushed
        with session_scope(db_url) as s:
            assert not settings_service.get_settings(s).chat_enabled

    run(app, scenario)


def test_an_empty_greeting_is_refused_next_to_it_and_nothing_is_saved(app, db_url, pushed):
    token = _login(db_url, "admin@example.com")

    async def scenario():
        admin = await _tab(app, "/settings", token, f"{B}.load_basic")
        await admin.fire(f"{B}.edit", field="chat_enabled", value=False)
        await admin.fire(f"{B}.edit", field="greeting_en", value="   ")
        await admin.fire(f"{B}.save")
        state = await admin.state(BasicSettingsState)
        assert state.errors == {"greeting_en": "인사말을 입력해 주세요."} and state.dirty
        await admin.fire(f"{B}.edit", field="greeting_ko", value="x" * 1001)
        assert "1000자" in (await admin.state(BasicSettingsState)).errors["greeting_ko"]
        with session_scope(db_url) as s:
            assert settings_service.get_settings(s).chat_enabled  # nothing of the form was saved
        assert pushed == []

    run(app, scenario)


def test_a_category_change_reaches_every_agent_page(app, db_url, pushed):
    token = _login(db_url, "admin@example.com")

    async def scenario():
        admin = await _tab(app, "/settings/categories", token, f"{C}.load_categories")
        with session_scope(db_url) as s:
            delivery = s.exec(select(Category).where(Category.name == "배송")).one().id
        await admin.fire(f"{C}.open_add", parent_id=delivery)
        await admin.fire(f"{C}.set_dialog_name", value="배송 문의")
        await admin.fire(f"{C}.save_dialog")
        state = await admin.state(CategoryAdminState)
        assert state.dialog == "" and any(n["path"] == "주문 › 배송 › 배송 문의" for n in state.nodes)
        [(event, data, rooms, _skip)] = [e for e in pushed if e[0] == "categories"]
        assert rooms == ["agents"]
        # An agent's page, told so, reads the categories again: the new one is offered.
        agent = await Client(app, "/agent", {names().auth: _login(db_url, "agent1@example.com")}).open()
        await agent.fire(f"{names().agent}.load_console")
        await agent.fire(f"{names().agent}.refresh_categories")
        offered = (await agent.state(AgentConsoleState)).categories
        assert {"name": "배송 문의", "parent": str(delivery)} in [{"name": c["name"], "parent": c["parent"]} for c in offered]
        # A fourth level is refused in the dialog, nothing pushed.
        leaf = next(n["id"] for n in state.nodes if n["name"] == "배송 문의")
        await admin.fire(f"{C}.open_add", parent_id=leaf)
        await admin.fire(f"{C}.set_dialog_name", value="너무 깊음")
        await admin.fire(f"{C}.save_dialog")
        assert "3단계" in (await admin.state(CategoryAdminState)).dialog_error
        assert len([e for e in pushed if e[0] == "categories"]) == 1

    run(app, scenario)


def test_an_assignment_change_drains_the_queue_at_once(app, db_url, pushed):
    token = _login(db_url, "admin@example.com")
    with session_scope(db_url) as s:
        for a in s.exec(select(Agent)).all():
            a.status = "online" if a.email == "agent1@example.com" else "offline"
            s.add(a)
        s.exec(select(Agent)).all()
        settings_service.get_settings(s).default_max_open_chats = 1

    async def scenario():
        _c1, first = await customer_starts_chat(app, db_url, "첫째")
        _c2, second = await customer_starts_chat(app, db_url, "둘째")
        with session_scope(db_url) as s:
            assert s.get(Chat, first.id).agent_id and s.get(Chat, second.id).agent_id is None  # the limit of 1
        admin = await _tab(app, "/settings/assignment", token, f"{A}.load_assignment")
        await admin.fire(f"{A}.edit", field="default_max", value="")
        await admin.fire(f"{A}.save")
        with session_scope(db_url) as s:
            assert s.get(Chat, second.id).agent_id is not None

    run(app, scenario)


def test_agents_cannot_use_any_settings_screen(app, db_url, pushed):
    token = _login(db_url, "agent1@example.com")

    async def scenario():
        tab = await Client(app, "/settings", {names().auth: token}).open()
        for event in (f"{B}.load_basic", f"{B}.save", f"{A}.save", f"{C}.delete", f"{G}.save", f"{G}.confirm_yes"):
            await tab.fire(event)
        await tab.fire(f"{B}.edit", field="chat_enabled", value=False)
        await tab.fire(f"{G}.ask", action="deactivate", agent_id=1)
        await tab.fire(f"{G}.confirm_yes")
        assert (await tab.state(BasicSettingsState)).form == {}  # nothing was even loaded
        with session_scope(db_url) as s:
            assert settings_service.get_settings(s).chat_enabled
            assert all(a.active for a in s.exec(select(Agent)))
        assert pushed == []

    run(app, scenario)


def test_the_admins_widget_preview_never_starts_a_real_chat(app, db_url, pushed):
    n = names()

    async def scenario():
        from online_contact.states.customer_chat import CustomerChatState

        tab = Client(app, "/widget", {})
        tab.query = {"preview": "1"}
        await tab.open()
        await tab.fire(f"{n.customer}.open_chat")
        state = await tab.state(CustomerChatState)
        assert state.preview and state.consent_lines  # the consent step is shown as a customer sees it
        await tab.fire(f"{n.customer}.give_consent", form_data={"agree": "on", "name": "미리보기"})
        state = await tab.state(CustomerChatState)
        assert "미리보기" in state.consent_error and state.phase == "consent"
        with session_scope(db_url) as s:
            assert s.exec(select(Chat)).all() == []

    run(app, scenario)
