"""What the security review of issue #10 found, each now a test: writes that raced a hand-back,
a logout in one browser taking the agent offline in another, a new login not ending the old one,
a signed-out tab whose own state had expired, a tab that kept its links past its login, a
non-text login token, Redis going away under the throttles, and the counters' and audit log's
growth."""

from __future__ import annotations

import subprocess
import sys

import pytest
import reflex as rx
from sqlalchemy import update
from sqlmodel import Session, select

from online_contact.models import Agent, AuditLog, AuthSession, Chat
from online_contact.models._base import utcnow
from online_contact.realtime import AgentDesk, ChatRoom
from online_contact.realtime import reflex_internals as internals
from online_contact.realtime.publish import desk_token, room_token
from online_contact.services import agents as agent_service
from online_contact.services import auth, chats as chat_service, limits
from online_contact.services.db import engine, session_scope
from online_contact.services.errors import NotAllowed, ServiceError
from online_contact.states.agent_console import AgentConsoleState
from tests.support import ROOT
from tests.unit.pipeline import Client, agent_console, customer_starts_chat, names, only_agent1_online, run

from .test_logins_end_everywhere import another_login, settle


@pytest.fixture
def handed_over(session, make):
    """A chat assigned to `first`, read by first's worker, then handed to `second` (first went
    휴식) before first's write: returns (stale copy, first, second)."""
    make.offline_demo_agents()
    first = make.agent("first")
    stale = make.start(name="경합")
    assert stale.agent_id == first.id
    second = make.agent("second")
    with Session(engine(str(session.get_bind().url)), expire_on_commit=False) as other_worker:
        agent_service.set_status(other_worker, other_worker.get(Agent, first.id), "break")
    assert make.reload(Chat, stale.id).agent_id == second.id
    return stale, make.reload(Agent, first.id), second


def test_opening_a_chat_that_was_handed_over_meanwhile_is_refused(session, make, handed_over):
    stale, first, second = handed_over
    with pytest.raises(NotAllowed):
        chat_service.mark_opened(session, stale, first)
    stored = make.reload(Chat, stale.id)
    assert (stored.agent_id, stored.agent_opened_at) == (second.id, None)


@pytest.mark.parametrize("write", ["end", "save", "rate"])
def test_no_write_of_the_first_agent_lands_on_the_chat_now_someone_elses(session, make, handed_over, write):
    stale, first, second = handed_over
    stale.agent_opened_at = utcnow()  # as the first agent's tab believes
    with pytest.raises(NotAllowed):
        if write == "end":
            chat_service.end_by_agent(session, stale, first)
        elif write == "save":
            chat_service.save_info(session, stale, first, name="가로채기", email="", memo="", category_id=None)
        else:
            chat_service.request_rating(session, stale, first)
    stored = make.reload(Chat, stale.id)
    assert (stored.agent_id, stored.agent_ended_at, stored.customer_name, stored.rating_requested_at) == (
        second.id, None, "경합", None)
    assert make.reload(Agent, second.id).open_chat_count == 1


def test_logging_out_in_one_browser_keeps_the_agent_online_in_the_other(app, db_url):
    n, token = names(), only_agent1_online(db_url)
    other_browser = another_login(db_url, "agent1@example.com")

    async def scenario():
        _c, chat = await customer_starts_chat(app, db_url, "두 브라우저")
        stays = await agent_console(app, other_browser)
        leaves = await agent_console(app, token)
        await leaves.fire(f"{n.auth_state}.logout")
        await settle()
        with session_scope(db_url) as s:
            assert s.get(Agent, chat.agent_id).status == "online"
            assert s.get(Chat, chat.id).agent_id == chat.agent_id  # nothing handed back
        assert (await stays.state(AgentConsoleState)).agent_id == chat.agent_id

    run(app, scenario)


def test_a_new_login_in_a_browser_ends_the_one_it_had(app, db_url):
    n, old = names(), only_agent1_online(db_url)

    async def scenario():
        tab = await Client(app, "/login", {n.auth: old}).open()
        await tab.fire(f"{n.login}.submit", form_data={"email": "agent2@example.com", "password": "agent1234"})
        await settle()
        with session_scope(db_url) as s:
            assert auth.agent_for_token(s, old) is None
            ended = s.exec(select(AuthSession).where(AuthSession.token_hash == auth.hash_token(old))).one()
            assert ended.end_reason == "logout"
        state = await tab.state(AgentConsoleState)
        with session_scope(db_url) as s:
            assert auth.agent_for_token(s, state.auth_token).email == "agent2@example.com"

    run(app, scenario)


def test_a_tab_whose_own_state_expired_is_let_go_by_the_room_and_the_desk(app, db_url):
    """The room keeps its list of tabs after a tab's own state expired (Reflex's idle expiry):
    the logout still takes that tab off the room's and the desk's lists."""
    n, token = names(), only_agent1_online(db_url)
    sent: list = []

    async def scenario():
        customer, chat = await customer_starts_chat(app, db_url, "만료된 탭")
        gone = await agent_console(app, token)
        await gone.fire(f"{n.agent}.select_chat", chat_id=chat.id)
        assert gone.token in await _linked(app, room_token(chat.id), ChatRoom)
        app.state_manager.states.pop(gone.token)  # its own state expired; its socket is still there
        other = await agent_console(app, token)
        await other.fire(f"{n.auth_state}.logout")
        await settle()
        assert gone.token not in await _linked(app, room_token(chat.id), ChatRoom)
        assert gone.token not in await _linked(app, desk_token(chat.agent_id), AgentDesk)
        sent.clear()
        await customer.fire(f"{n.customer}.send", form_data={"text": "아직 보이나요", "client_id": "x1"})
        await settle()
        assert [u for sid, u in sent if sid == gone.sid] == []

    run(app, scenario, sent)


def test_a_tab_still_linked_after_its_login_ended_lets_go_at_its_next_event(app, db_url):
    n, token = names(), only_agent1_online(db_url)

    async def scenario():
        _c, chat = await customer_starts_chat(app, db_url, "남은 링크")
        tab = await agent_console(app, token)
        await tab.fire(f"{n.agent}.select_chat", chat_id=chat.id)
        with session_scope(db_url) as s:  # ended without the fan-out (as if it had failed)
            s.exec(update(AuthSession).values(ended_at=utcnow(), end_reason="logout"))
        await tab.fire(f"{n.agent}.toggle_screen")
        assert tab.token not in await _linked(app, room_token(chat.id), ChatRoom)
        assert tab.token not in await _linked(app, desk_token(chat.agent_id), AgentDesk)

    run(app, scenario)


@pytest.mark.parametrize("stored", [5, 1.5, ["token"], {"a": 1}, None, True])
def test_a_login_token_that_is_not_text_is_nobody_and_raises_nothing(app, db_url, stored):
    n = names()

    async def scenario():
        tab = await Client(app, "/agent", {}).open()
        await tab.fire("reflex___state____state.reflex___state____update_vars_internal_state.update_vars_internal",
                       vars={n.auth: stored})
        for handler in ("load_console", "toggle_screen", "set_info_memo"):
            await tab.fire(f"{n.agent}.{handler}")
        state = await tab.state(AgentConsoleState)
        assert state.agent_id == 0 and state.auth_token == ""

    run(app, scenario)


def test_throttles_count_in_the_database_while_redis_is_away(session, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    monkeypatch.setenv("OC_LIMIT_CHATS_PER_IP", "2/3600")
    monkeypatch.setattr(limits, "_redis_down_until", 0.0)
    bind = session.get_bind()
    decisions = [limits.hit(limits.CHATS_PER_IP, "203.0.113.9", bind=bind).allowed for _ in range(3)]
    assert decisions == [True, True, False]
    assert limits._redis_down_until > 0  # and Redis is left alone for a while, not asked each time


def test_expired_counters_are_pruned_and_a_throttled_stream_writes_one_audit_entry(session, monkeypatch):
    monkeypatch.setenv("OC_LIMIT_LOGIN_PER_IP", "1/600")
    for _ in range(6):
        with pytest.raises(ServiceError):
            auth.authenticate(session, "agent1@example.com", "guess", ip="203.0.113.44")
    throttled = session.exec(select(AuditLog).where(AuditLog.action == "login.throttled")).all()
    assert len(throttled) == 1
    bind = session.get_bind()
    assert limits.prune(bind, now=limits.time.time() + 10**6) >= 1
    assert session.exec(select(limits.RATE_COUNTER.c.key)).all() == []


def test_manage_deactivate_ends_the_accounts_logins_within_a_sweep(db_url, session, make):
    env = {"DATABASE_URL": db_url, "PATH": "/usr/bin:/bin"}
    agent = make.demo_agent("admin@example.com")
    token = auth.start_session(session, agent)
    session.commit()
    done = subprocess.run([sys.executable, "-m", "online_contact.manage", "deactivate", "admin@example.com"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert "deactivated" in done.stdout
    assert make.reload(Agent, agent.id).active is False
    assert auth.agent_for_token(session, token) is None
    # The running server's sweep marks the login ended (and signs its tabs out).
    assert [e.login_id for e in auth.close_dead_sessions(session)] != []


async def _linked(app, token, cls):
    root = await app.state_manager.get_state(rx.BaseStateToken(ident=token, cls=cls))
    return internals.linked_tabs(await root.get_state(cls))
