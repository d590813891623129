"""A customer who ends a chat ends it for every figure at that moment (issue 23): 통계 and
채팅 기록 count it as 처리 / 포기 at once, its times end then, the agent's slot under 최대 동시
상담 수 is free for the queue, and the agent can no longer post to it — while the chat stays on
the agent's screen for its information until they press 대화 종료. The `check_*` functions run
on PostgreSQL too (tests/integration/test_postgresql.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from online_contact.models import Agent, Chat, Message
from online_contact.models._base import utcnow
from online_contact.models.chat import AUTHOR_AGENT, CHAT_ENDED, CHAT_OPEN, CHAT_WAITING
from online_contact.services import chats as chat_service
from online_contact.services import history, live, routing, stats
from online_contact.services import messages as message_service
from online_contact.services.db import engine, session_scope
from online_contact.services.errors import ServiceError


def _admin(session: Session) -> Agent:
    return session.exec(select(Agent).where(Agent.role == "admin")).first()


def _today() -> stats.Period:
    return stats.Period(history.today(), history.today())


def _listed(session: Session, state: str) -> set[int]:
    c = history.parse_conditions({"state": state, "from": history.today().isoformat(), "to": history.today().isoformat()})
    return {chat.id for chat in history.page(session, _admin(session), c).chats}


def test_a_customer_who_leaves_an_unanswered_chat_is_abandoned_at_once(session, make):
    """통계 for today showed 포기 0 and 진행 중 1 for a customer who had left, until the agent
    pressed 대화 종료."""
    make.offline_demo_agents()
    agent = make.agent("slow", max_open_chats=5)
    never_opened = make.start()
    opened = make.start()
    chat_service.mark_opened(session, opened, agent)
    assert {never_opened.agent_id, opened.agent_id} == {agent.id}

    chat_service.end_by_customer(session, make.reload(Chat, never_opened.id))
    chat_service.end_by_customer(session, make.reload(Chat, opened.id))

    for chat_id in (never_opened.id, opened.id):
        chat = make.reload(Chat, chat_id)
        assert chat.status == CHAT_ENDED and chat.agent_ended_at is None  # still on the agent's screen
        assert history.state_of(chat) == chat_service.UNPROCESSED
    assert history.abandoned_kind(make.reload(Chat, never_opened.id)) == history.LEFT_WAITING
    assert history.abandoned_kind(make.reload(Chat, opened.id)) == history.NO_REPLY
    assert [c.id for c in chat_service.chats_of_agent(session, agent.id)] == [never_opened.id, opened.id]

    total = stats.report(session, _admin(session), _today()).total
    assert (total.incoming, total.in_progress, total.abandoned, total.left_waiting, total.no_reply) == (2, 0, 2, 1, 1)
    summary = stats.summary(session, _admin(session), _today())
    assert (summary.incoming, summary.processed, summary.abandoned) == (2, 0, 2)
    assert _listed(session, history.UNPROCESSED) == {never_opened.id, opened.id}
    assert _listed(session, history.LEFT_WAITING) == {never_opened.id}
    assert _listed(session, history.NO_REPLY) == {opened.id}
    assert _listed(session, history.IN_PROGRESS) == set()
    now = live.now_view(session, _admin(session))
    assert now.open_chats == 0
    assert [(a.open_chats, a.unanswered) for a in now.agents if a.agent_id == agent.id] == [(0, 0)]


def check_an_answered_chat_the_customer_left_ends_there(session: Session) -> None:
    """처리 (answered before the customer left), and 대화 시간 / 상담 시간 end when the customer
    left, not when the agent pressed 대화 종료 ten minutes later: in Python and in SQL alike."""
    agent = session.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
    start = utcnow() - timedelta(minutes=30)
    chat = Chat(customer_id=_a_customer(session), status=CHAT_ENDED, agent_id=agent.id, created_at=start,
                agent_opened_at=start + timedelta(seconds=5), first_agent_reply_at=start + timedelta(seconds=20),
                customer_ended_at=start + timedelta(seconds=320))
    session.add(chat)
    session.commit()
    dialect = session.get_bind().dialect.name

    def figures() -> tuple:
        row = session.exec(select(history.STATE, history.wait_seconds_sql(dialect), history.handle_seconds_sql(dialect))
                           .where(Chat.id == chat.id)).one()
        stored = session.get(Chat, chat.id, populate_existing=True)
        return tuple(row), (history.state_of(stored), history.wait_seconds(stored), history.handle_seconds(stored),
                            history.chat_seconds(stored))

    in_sql, in_python = figures()
    assert in_sql == (chat_service.PROCESSED, 20, 300) and in_python == (chat_service.PROCESSED, 20, 300, 320)
    # The agent closes it later: nothing changes.
    session.exec(update(Chat).where(Chat.id == chat.id).values(agent_ended_at=start + timedelta(seconds=920)))
    session.commit()
    assert figures() == (in_sql, in_python)
    # The other way round (the agent ended first, the customer's button came later): the agent's end.
    session.exec(update(Chat).where(Chat.id == chat.id).values(agent_ended_at=start + timedelta(seconds=100)))
    session.commit()
    in_sql, in_python = figures()
    assert in_sql[2] == 80 and in_python[2:] == (80, 100)


def _a_customer(session: Session) -> int:
    from online_contact.models import Customer

    customer = Customer(visitor_key=f"left-{utcnow().timestamp()}")
    session.add(customer)
    session.commit()
    return customer.id


def test_an_answered_chat_the_customer_left_ends_there(session):
    check_an_answered_chat_the_customer_left_ends_there(session)


def test_the_customer_leaving_frees_the_agents_slot_for_the_queue(session, make):
    make.offline_demo_agents()
    agent = make.agent("solo", max_open_chats=1)
    first = make.start()
    queued = make.start()
    assert (first.agent_id, queued.status) == (agent.id, CHAT_WAITING)
    chat_service.mark_opened(session, first, agent)

    assignments = chat_service.end_by_customer(session, first)

    assert [(a.chat_id, a.agent_id) for a in assignments] == [(queued.id, agent.id)]
    assert make.reload(Chat, queued.id).status == CHAT_OPEN
    assert make.reload(Agent, agent.id).open_chat_count == 1
    # The left chat stays on the agent's screen (its information, 티켓 만들기) next to the new one.
    assert [c.id for c in chat_service.chats_of_agent(session, agent.id)] == [first.id, queued.id]
    # 대화 종료 then gives back nothing more: the new chat keeps its slot.
    assert chat_service.end_by_agent(session, make.reload(Chat, first.id), make.reload(Agent, agent.id)) == []
    assert make.reload(Agent, agent.id).open_chat_count == 1
    assert [c.id for c in chat_service.chats_of_agent(session, agent.id)] == [queued.id]


@pytest.mark.parametrize("customer_first", [True, False])
def test_either_order_of_ending_gives_back_exactly_one_slot(session, make, customer_first):
    make.offline_demo_agents()
    agent = make.agent("two", max_open_chats=5)
    chat, other = make.start(), make.start()
    assert make.reload(Agent, agent.id).open_chat_count == 2
    chat_service.mark_opened(session, chat, agent)

    for end in ((lambda: chat_service.end_by_customer(session, make.reload(Chat, chat.id))),
                (lambda: chat_service.end_by_agent(session, make.reload(Chat, chat.id), make.reload(Agent, agent.id))))[
            :: 1 if customer_first else -1]:
        end()
        assert make.reload(Agent, agent.id).open_chat_count == 1
    # Pressed again on either side: nothing more.
    chat_service.end_by_customer(session, make.reload(Chat, chat.id))
    chat_service.end_by_agent(session, make.reload(Chat, chat.id), make.reload(Agent, agent.id))
    assert make.reload(Agent, agent.id).open_chat_count == 1
    assert make.reload(Chat, other.id).status == CHAT_OPEN


@pytest.mark.parametrize("customer_first", [True, False])
def test_two_workers_each_ending_from_a_copy_read_before_either_give_back_one_slot(db_url, session, make, customer_first):
    """The customer's worker and the agent's each read the chat open, then both end it: the one
    that writes second sees the first one's end in the row, not in its stale copy."""
    make.offline_demo_agents()
    agent = make.agent("both", max_open_chats=5)
    chat, other = make.start(), make.start()
    chat_service.mark_opened(session, chat, agent)
    with Session(engine(db_url), expire_on_commit=False) as agents_worker:
        agents_copy = agents_worker.get(Chat, chat.id)
        agent_row = agents_worker.get(Agent, agent.id)
        agents_worker.commit()
        customers_copy = make.reload(Chat, chat.id)
        assert customers_copy.customer_ended_at is None and agents_copy.agent_ended_at is None
        ends = [lambda: chat_service.end_by_customer(session, customers_copy),
                lambda: chat_service.end_by_agent(agents_worker, agents_copy, agent_row)]
        for end in ends if customer_first else reversed(ends):
            end()
    assert make.reload(Agent, agent.id).open_chat_count == 1
    assert make.reload(Chat, other.id).status == CHAT_OPEN


def test_a_chat_the_customer_left_while_it_waited_is_given_to_nobody(session, make):
    """A customer who left between the queue's read and the claim: no slot is taken for a chat
    whose end would not give it back."""
    make.offline_demo_agents()
    agent = make.agent("late", status="offline")
    chat = make.start()
    session.exec(update(Chat).where(Chat.id == chat.id).values(customer_ended_at=utcnow()))  # the customer's first UPDATE
    session.commit()
    session.exec(update(Agent).where(Agent.id == agent.id).values(status="online"))
    session.commit()
    assert not routing.try_claim(session, chat.id, agent.id, routing.REASON_BALANCED)
    assert make.reload(Agent, agent.id).open_chat_count == 0
    assert make.reload(Chat, chat.id).agent_id is None


def check_an_agents_post_to_a_chat_the_customer_left_is_refused(session: Session, chat: Chat, agent: Agent) -> None:
    """Opened, answered, then the customer left: a later reply is refused with a message (and
    one whose gate was read before the customer left is refused by its UPDATE); nothing stored."""
    chat_service.mark_opened(session, chat, agent)
    message_service.post_message(session, chat, AUTHOR_AGENT, "안녕하세요", "before", agent_id=agent.id)
    gate_read_before = session.connection().execute(
        select(*message_service._GATE_COLUMNS).where(Chat.__table__.c.id == chat.id)).first()
    session.commit()
    chat_service.end_by_customer(session, session.get(Chat, chat.id))
    last_seq = session.get(Chat, chat.id, populate_existing=True).last_seq

    with pytest.raises(ServiceError, match="error.customer_left"):
        message_service.post_message(session, session.get(Chat, chat.id), AUTHOR_AGENT, "아무도 못 읽는 답변", "after", agent_id=agent.id)
    session.rollback()
    with pytest.raises(ServiceError, match="error.customer_left"):
        message_service.post_message(session, gate_read_before, AUTHOR_AGENT, "늦은 답변", "late", agent_id=agent.id)
    session.rollback()
    # A resend of the reply stored before she left (its answer lost on the way) is that reply,
    # not a refusal that would put a sent text back in the composer.
    resent, created = message_service.post_message(session, session.get(Chat, chat.id), AUTHOR_AGENT, "안녕하세요", "before", agent_id=agent.id)
    assert (resent.text, created) == ("안녕하세요", False)
    # Nor is she shown a rating form: 평가 is refused too.
    with pytest.raises(ServiceError, match="error.customer_left"):
        chat_service.request_rating(session, session.get(Chat, chat.id), agent)
    session.rollback()
    texts = session.exec(select(Message.text).where(Message.chat_id == chat.id, Message.author == AUTHOR_AGENT)).all()
    assert texts == ["안녕하세요"]
    assert session.get(Chat, chat.id, populate_existing=True).last_seq == last_seq


def test_an_agents_post_to_a_chat_the_customer_left_is_refused(session, make):
    make.offline_demo_agents()
    agent = make.agent("typist")
    chat = make.start()
    check_an_agents_post_to_a_chat_the_customer_left_is_refused(session, chat, make.reload(Agent, agent.id))


def test_the_end_dialogs_save_or_discard_choice_and_a_forged_one(app, db_url):
    """대화 종료's dialog with unsaved info (AgentConsoleState.end_chat_after_edits): 저장하고 종료
    stores the edits and ends; a forged argument does nothing; 저장하지 않고 종료 ends without them.
    end_chat itself, sent without the dialog, still asks about unsaved edits (the server's rule)."""
    from online_contact.states.agent_console import AgentConsoleState

    from .pipeline import agent_console, customer_starts_chat, names, only_agent1_online, run

    n, token = names(), only_agent1_online(db_url)

    async def scenario():
        _customer, saved = await customer_starts_chat(app, db_url, "저장종료")
        _customer2, dropped = await customer_starts_chat(app, db_url, "버림종료")
        agent = await agent_console(app, token)
        for chat, choice in ((saved, True), (dropped, False)):
            await agent.fire(f"{n.agent}.select_chat", chat_id=chat.id)
            await agent.fire(f"{n.agent}.set_info_memo", value=f"메모 {chat.id}")
            state = await agent.state(AgentConsoleState)
            assert state.active_chat_id == chat.id and state.info_dirty
            await agent.fire(f"{n.agent}.end_chat")  # no dialog: the unsaved-edits question
            state = await agent.state(AgentConsoleState)
            assert state.confirm_open
            await agent.fire(f"{n.agent}.cancel_pending")
            await agent.fire(f"{n.agent}.end_chat_after_edits", save="yes")  # forged: nothing
            with session_scope(db_url) as s:
                assert s.get(Chat, chat.id).agent_ended_at is None
            await agent.fire(f"{n.agent}.end_chat_after_edits", save=choice)
        with session_scope(db_url) as s:
            kept, gone = s.get(Chat, saved.id), s.get(Chat, dropped.id)
            assert kept.agent_ended_at is not None and kept.memo == f"메모 {saved.id}"
            assert gone.agent_ended_at is not None and gone.memo == ""

    run(app, scenario)


def test_a_chat_the_customer_left_before_this_rule_gives_its_slot_back_when_the_agent_ends_it(session, make):
    """Left by the customer under the old rule (status still open, a slot still held): the
    agent's 대화 종료 gives the slot back, as it did then."""
    make.offline_demo_agents()
    agent = make.agent("upgraded", max_open_chats=5)
    chat, other = make.start(), make.start()
    chat_service.mark_opened(session, chat, agent)
    session.exec(update(Chat).where(Chat.id == chat.id).values(customer_ended_at=utcnow()))  # the old end
    session.commit()
    assert make.reload(Agent, agent.id).open_chat_count == 2
    chat_service.end_by_agent(session, make.reload(Chat, chat.id), make.reload(Agent, agent.id))
    assert make.reload(Agent, agent.id).open_chat_count == 1
    assert make.reload(Chat, other.id).status == CHAT_OPEN
