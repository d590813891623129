"""services.routing (and the queue draining done by agents.set_status / chats.end_by_agent)."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from online_contact.models import Agent, Chat, ChatSettings
from online_contact.models._base import utcnow
from online_contact.models.agent import STATUS_BREAK, STATUS_OFFLINE, STATUS_ONLINE
from online_contact.models.chat import CHAT_ENDED, CHAT_OPEN, CHAT_WAITING
from online_contact.models.settings import ASSIGN_BALANCED, ASSIGN_RANDOM
from online_contact.services import agents as agent_service
from online_contact.services import chats as chat_service
from online_contact.services import routing
from online_contact.services import settings as settings_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError


def cfg(prefer_recent_agent: bool = False, method: str = ASSIGN_BALANCED) -> ChatSettings:
    """Settings as assign_chat reads them (not stored)."""
    return ChatSettings(prefer_recent_agent=prefer_recent_agent, assignment_method=method)


def assigned_agent(make, chat_id: int) -> int | None:
    return make.reload(Chat, chat_id).agent_id


# --------------------------------------------------------------------------------------------
# eligibility
# --------------------------------------------------------------------------------------------


def test_eligible_agents_are_online_chat_capable_active_and_under_limit(session, make):
    make.offline_demo_agents()
    unlimited = make.agent("unlimited")
    under = make.agent("under-limit", max_open_chats=2, open_chat_count=1)
    make.agent("on-break", status=STATUS_BREAK)
    make.agent("offline", status=STATUS_OFFLINE)
    make.agent("no-chat", can_chat=False)
    make.agent("inactive", active=False)
    make.agent("full", max_open_chats=2, open_chat_count=2)
    make.agent("zero-limit", max_open_chats=0)

    assert {a.id for a in routing.eligible_agents(session)} == {unlimited.id, under.id}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": STATUS_BREAK},
        {"status": STATUS_OFFLINE},
        {"can_chat": False},
        {"active": False},
        {"max_open_chats": 3, "open_chat_count": 3},
    ],
    ids=["break", "offline", "cannot-chat", "inactive", "full"],
)
def test_ineligible_agent_never_gets_a_chat(session, make, kwargs):
    make.offline_demo_agents()
    agent = make.agent("ineligible", **kwargs)
    chat = make.waiting_chat()

    assert routing.assign_chat(session, chat.id, cfg()) is None

    chat = make.reload(Chat, chat.id)
    assert (chat.status, chat.agent_id, chat.assignment_reason) == (CHAT_WAITING, None, "")
    assert make.reload(Agent, agent.id).open_chat_count == kwargs.get("open_chat_count", 0)


def test_break_and_offline_agents_get_nothing_even_when_least_busy(session, make):
    make.offline_demo_agents()
    # The Online agent is the busiest and most recently assigned: balanced ranking alone would
    # prefer the others, so only the eligibility rule keeps chats away from them.
    online = make.agent("online", open_chat_count=5, last_assigned_at=utcnow())
    on_break = make.agent("break", status=STATUS_BREAK)
    offline = make.agent("offline", status=STATUS_OFFLINE)
    for _ in range(4):
        chat = make.waiting_chat()
        result = routing.assign_chat(session, chat.id, cfg())
        assert result is not None and result.agent_id == online.id
    assert make.reload(Agent, on_break.id).open_chat_count == 0
    assert make.reload(Agent, offline.id).open_chat_count == 0
    assert make.reload(Agent, online.id).open_chat_count == 9


def test_start_chat_with_only_break_and_offline_agents_waits(session, make):
    make.offline_demo_agents()
    make.agent("break", status=STATUS_BREAK)
    make.agent("offline", status=STATUS_OFFLINE)
    chat = make.start()
    assert chat.status == CHAT_WAITING
    assert chat.agent_id is None
    assert chat.assigned_at is None
    assert routing.queue_position(session, chat) == 1


def test_any_agent_online_counts_full_agents_but_not_break(session, make):
    make.offline_demo_agents()
    make.agent("break", status=STATUS_BREAK)
    assert routing.any_agent_online(session) is False
    make.agent("full", max_open_chats=1, open_chat_count=1)
    assert routing.any_agent_online(session) is True
    assert routing.eligible_agents(session) == []


# --------------------------------------------------------------------------------------------
# recent-agent preference
# --------------------------------------------------------------------------------------------


@pytest.fixture
def recent_setup(session, make):
    """A customer whose previous chat was with `recent`; balanced ranking alone prefers `other`
    (never assigned, while `recent` was assigned a minute ago)."""
    make.offline_demo_agents()
    other = make.agent("other")
    recent = make.agent("recent", last_assigned_at=utcnow() - timedelta(minutes=1))
    customer = make.customer()
    previous = Chat(
        customer_id=customer.id,
        status=CHAT_ENDED,
        agent_id=recent.id,
        created_at=utcnow() - timedelta(days=1),
    )
    session.add(previous)
    session.commit()
    chat = make.waiting_chat(customer)
    return {"other": other, "recent": recent, "customer": customer, "chat": chat}


def test_recent_agent_is_picked_when_online(session, make, recent_setup):
    s = recent_setup
    result = routing.assign_chat(session, s["chat"].id, cfg(prefer_recent_agent=True))
    assert result == routing.Assignment(s["chat"].id, s["recent"].id, routing.REASON_RECENT)
    chat = make.reload(Chat, s["chat"].id)
    assert chat.agent_id == s["recent"].id
    assert chat.assignment_reason == "recent_agent"
    assert chat.status == CHAT_OPEN
    assert chat.assigned_at is not None


def test_recent_agent_preference_also_wins_over_random_method(session, make, recent_setup):
    s = recent_setup
    result = routing.assign_chat(
        session, s["chat"].id, cfg(prefer_recent_agent=True, method=ASSIGN_RANDOM), random.Random(3)
    )
    assert (result.agent_id, result.reason) == (s["recent"].id, "recent_agent")


@pytest.mark.parametrize(
    "change",
    [{"status": STATUS_OFFLINE}, {"status": STATUS_BREAK}, {"max_open_chats": 1, "open_chat_count": 1}],
    ids=["offline", "break", "full"],
)
def test_recent_agent_not_eligible_another_agent_is_picked(session, make, recent_setup, change):
    s = recent_setup
    recent = s["recent"]
    for key, value in change.items():
        setattr(recent, key, value)
    session.add(recent)
    session.commit()

    result = routing.assign_chat(session, s["chat"].id, cfg(prefer_recent_agent=True))
    assert result is not None
    assert (result.agent_id, result.reason) == (s["other"].id, "balanced")
    assert make.reload(Chat, s["chat"].id).assignment_reason == "balanced"


def test_preference_off_does_not_force_the_recent_agent(session, make, recent_setup):
    s = recent_setup
    result = routing.assign_chat(session, s["chat"].id, cfg(prefer_recent_agent=False))
    assert (result.agent_id, result.reason) == (s["other"].id, "balanced")
    assert make.reload(Chat, s["chat"].id).agent_id == s["other"].id


def test_recent_agent_is_the_one_of_the_latest_previous_chat(session, make):
    make.offline_demo_agents()
    a_minute_ago = utcnow() - timedelta(minutes=1)
    fresh = make.agent("fresh")  # the balanced choice
    older = make.agent("older", last_assigned_at=a_minute_ago)
    newer = make.agent("newer", last_assigned_at=a_minute_ago)
    customer = make.customer()
    session.add(Chat(customer_id=customer.id, status=CHAT_ENDED, agent_id=newer.id,
                     created_at=utcnow() - timedelta(hours=1)))
    session.add(Chat(customer_id=customer.id, status=CHAT_ENDED, agent_id=older.id,
                     created_at=utcnow() - timedelta(days=2)))
    # A chat of another customer with `older` must not count.
    session.add(Chat(customer_id=make.customer().id, status=CHAT_ENDED, agent_id=older.id))
    session.commit()
    chat = make.waiting_chat(customer)

    result = routing.assign_chat(session, chat.id, cfg(prefer_recent_agent=True))
    assert (result.agent_id, result.reason) == (newer.id, "recent_agent")
    assert fresh.id != newer.id


def test_start_chat_uses_stored_settings_for_recent_agent(session, make):
    """End to end through start_chat: the second chat of a customer goes to the agent of the first."""
    make.offline_demo_agents()
    first_agent = make.agent("first")
    customer = make.customer()
    chat1 = make.start(customer)
    assert chat1.agent_id == first_agent.id
    chat_service.end_by_customer(session, chat1)
    chat_service.mark_opened(session, chat1, first_agent)  # 대화 종료 needs the chat opened
    chat_service.end_by_agent(session, chat1, first_agent)
    make.agent("newcomer")  # balanced would now prefer the never-assigned newcomer

    make.settings(prefer_recent_agent=True)
    chat2 = make.start(customer)
    assert (chat2.agent_id, chat2.assignment_reason) == (first_agent.id, "recent_agent")


# --------------------------------------------------------------------------------------------
# balanced and random methods
# --------------------------------------------------------------------------------------------


def test_balanced_picks_fewest_open_chats_first(session, make):
    make.offline_demo_agents()
    long_ago = utcnow() - timedelta(hours=3)
    busy = make.agent("busy", open_chat_count=2, last_assigned_at=long_ago)
    idle = make.agent("idle", open_chat_count=0, last_assigned_at=utcnow())
    make.agent("middle", open_chat_count=1, last_assigned_at=long_ago)

    chat = make.waiting_chat()
    result = routing.assign_chat(session, chat.id, cfg())
    assert (result.agent_id, result.reason) == (idle.id, "balanced")
    assert make.reload(Chat, chat.id).assignment_reason == "balanced"
    assert make.reload(Agent, busy.id).open_chat_count == 2


def test_balanced_tie_goes_to_longest_since_last_assignment(session, make):
    make.offline_demo_agents()
    now = utcnow()
    recent = make.agent("recent", last_assigned_at=now - timedelta(minutes=1))
    oldest = make.agent("oldest", last_assigned_at=now - timedelta(minutes=30))
    middle = make.agent("middle", last_assigned_at=now - timedelta(minutes=10))

    order = []
    for _ in range(3):
        chat = make.waiting_chat()
        order.append(routing.assign_chat(session, chat.id, cfg()).agent_id)
    assert order == [oldest.id, middle.id, recent.id]


def test_balanced_never_assigned_agent_goes_first(session, make):
    make.offline_demo_agents()
    make.agent("assigned-long-ago", last_assigned_at=utcnow() - timedelta(days=30))
    never = make.agent("never")
    chat = make.waiting_chat()
    assert routing.assign_chat(session, chat.id, cfg()).agent_id == never.id


def test_balanced_spreads_chats_evenly_and_records_assignment(session, make):
    make.offline_demo_agents()
    agents = [make.agent(f"a{i}") for i in range(3)]
    before = utcnow()
    picks = []
    for _ in range(6):
        chat = make.waiting_chat()
        picks.append(routing.assign_chat(session, chat.id, cfg()).agent_id)
    assert Counter(picks) == {a.id: 2 for a in agents}
    # Each round gives every agent one chat before anyone gets a second.
    assert len(set(picks[:3])) == 3 and len(set(picks[3:])) == 3
    for a in agents:
        stored = make.reload(Agent, a.id)
        assert stored.open_chat_count == 2
        assert stored.last_assigned_at is not None and stored.last_assigned_at >= before


def test_random_method_only_picks_eligible_agents(session, make):
    make.offline_demo_agents()
    eligible = {make.agent("e1").id, make.agent("e2").id}
    ineligible = {
        make.agent("break", status=STATUS_BREAK).id,
        make.agent("offline", status=STATUS_OFFLINE).id,
        make.agent("full", max_open_chats=1, open_chat_count=1).id,
        make.agent("no-chat", can_chat=False).id,
    }
    rng = random.Random(20261125)
    picks = []
    for _ in range(20):
        chat = make.waiting_chat()
        result = routing.assign_chat(session, chat.id, cfg(method=ASSIGN_RANDOM), rng)
        assert result.reason == "random"
        assert make.reload(Chat, chat.id).assignment_reason == "random"
        picks.append(result.agent_id)
    assert set(picks) == eligible  # both eligible agents drawn, nobody else
    assert not set(picks) & ineligible


def test_rank_candidates_random_is_reproducible_with_a_seed(session, make):
    agents = [make.agent(f"r{i}") for i in range(6)]
    first = [a.id for a, _ in routing.rank_candidates(agents, ASSIGN_RANDOM, random.Random(7))]
    second = [a.id for a, _ in routing.rank_candidates(agents, ASSIGN_RANDOM, random.Random(7))]
    assert first == second
    assert sorted(first) == sorted(a.id for a in agents)
    reasons = {r for _, r in routing.rank_candidates(agents, ASSIGN_RANDOM, random.Random(7))}
    assert reasons == {"random"}


# --------------------------------------------------------------------------------------------
# queue
# --------------------------------------------------------------------------------------------


def test_no_eligible_agent_keeps_chat_waiting(session, make):
    make.offline_demo_agents()
    chat = make.waiting_chat()
    assert routing.assign_chat(session, chat.id, cfg()) is None
    stored = make.reload(Chat, chat.id)
    assert (stored.status, stored.agent_id, stored.assigned_at) == (CHAT_WAITING, None, None)


def test_assign_chat_ignores_a_chat_that_is_not_waiting(session, make):
    make.offline_demo_agents()
    agent = make.agent("a")
    chat = make.waiting_chat()
    chat.status = CHAT_ENDED
    session.add(chat)
    session.commit()
    assert routing.assign_chat(session, chat.id, cfg()) is None
    assert make.reload(Agent, agent.id).open_chat_count == 0


def test_queue_position_is_first_in_first_out(session, make):
    make.offline_demo_agents()
    t0 = utcnow() - timedelta(minutes=10)
    # Inserted in an order different from arrival time: the position follows created_at.
    c_third = make.waiting_chat(created_at=t0 + timedelta(minutes=2))
    c_first = make.waiting_chat(created_at=t0)
    c_second = make.waiting_chat(created_at=t0 + timedelta(minutes=1))
    pos = lambda c: routing.queue_position(session, make.reload(Chat, c.id))  # noqa: E731
    assert [pos(c_first), pos(c_second), pos(c_third)] == [1, 2, 3]
    assert routing.waiting_chat_ids(session) == [c_first.id, c_second.id, c_third.id]

    # The first customer leaves: everybody moves up, and the left chat has no position.
    chat_service.end_by_customer(session, make.reload(Chat, c_first.id))
    assert [pos(c_first), pos(c_second), pos(c_third)] == [0, 1, 2]
    assert routing.waiting_chat_ids(session) == [c_second.id, c_third.id]


def test_queue_position_zero_for_assigned_chat(session, make):
    make.offline_demo_agents()
    make.agent("a")
    chat = make.start()
    assert chat.status == CHAT_OPEN
    assert routing.queue_position(session, chat) == 0


def test_going_online_drains_queue_oldest_first(session, make):
    make.offline_demo_agents()
    agent = make.agent("late", status=STATUS_OFFLINE, max_open_chats=2)
    t0 = utcnow() - timedelta(minutes=10)
    newest = make.waiting_chat(created_at=t0 + timedelta(minutes=3))
    oldest = make.waiting_chat(created_at=t0)
    middle = make.waiting_chat(created_at=t0 + timedelta(minutes=1))
    make.settings(prefer_recent_agent=True, method=ASSIGN_BALANCED)

    assignments = agent_service.set_status(session, agent, STATUS_ONLINE).assignments

    assert [a.chat_id for a in assignments] == [oldest.id, middle.id]
    assert {a.agent_id for a in assignments} == {agent.id}
    assert make.reload(Chat, oldest.id).agent_id == agent.id
    assert make.reload(Chat, middle.id).agent_id == agent.id
    left = make.reload(Chat, newest.id)
    assert (left.status, left.agent_id) == (CHAT_WAITING, None)
    assert routing.queue_position(session, left) == 1
    assert make.reload(Agent, agent.id).open_chat_count == 2

    # The agent ends a chat: the freed slot takes the next queued chat.
    chat_service.mark_opened(session, make.reload(Chat, oldest.id), make.reload(Agent, agent.id))
    more = chat_service.end_by_agent(session, make.reload(Chat, oldest.id), make.reload(Agent, agent.id))
    assert [(a.chat_id, a.agent_id) for a in more] == [(newest.id, agent.id)]
    assert make.reload(Chat, newest.id).status == CHAT_OPEN
    assert make.reload(Agent, agent.id).open_chat_count == 2


def test_drain_skips_chats_the_customer_left(session, make):
    make.offline_demo_agents()
    agent = make.agent("a", status=STATUS_OFFLINE)
    gone = make.waiting_chat(created_at=utcnow() - timedelta(minutes=5))
    stays = make.waiting_chat()
    chat_service.end_by_customer(session, gone)
    assert make.reload(Chat, gone.id).status == CHAT_ENDED

    assignments = agent_service.set_status(session, agent, STATUS_ONLINE).assignments
    assert [a.chat_id for a in assignments] == [stays.id]
    assert make.reload(Chat, gone.id).agent_id is None
    assert make.reload(Agent, agent.id).open_chat_count == 1


def test_drain_continues_past_a_chat_taken_meanwhile(session, make, monkeypatch):
    """The waiting list is read once; a chat another worker took in the meantime is skipped,
    not a reason to stop draining."""
    make.offline_demo_agents()
    agent = make.agent("a", status=STATUS_OFFLINE)
    taken = make.waiting_chat(created_at=utcnow() - timedelta(minutes=5))
    taken.status = CHAT_OPEN  # assigned elsewhere after the list was read
    session.add(taken)
    session.commit()
    queued = make.waiting_chat()
    real = routing.waiting_chat_ids
    monkeypatch.setattr(routing, "waiting_chat_ids", lambda s: [taken.id, *real(s)])

    assignments = agent_service.set_status(session, agent, STATUS_ONLINE).assignments
    assert [(a.chat_id, a.agent_id) for a in assignments] == [(queued.id, agent.id)]
    assert make.reload(Chat, taken.id).agent_id is None


def test_break_status_does_not_drain_and_invalid_status_is_rejected(session, make):
    make.offline_demo_agents()
    agent = make.agent("a", status=STATUS_OFFLINE)
    chat = make.waiting_chat()
    change = agent_service.set_status(session, agent, STATUS_BREAK)
    assert (change.moved, change.assignments) == ([], [])
    assert make.reload(Agent, agent.id).status == STATUS_BREAK
    assert make.reload(Chat, chat.id).status == CHAT_WAITING

    with pytest.raises(ServiceError) as err:
        agent_service.set_status(session, make.reload(Agent, agent.id), "away")
    assert err.value.code == "error.status_invalid"
    assert make.reload(Agent, agent.id).status == STATUS_BREAK


def test_set_status_records_change_time(session, make):
    agent = make.agent("a", status=STATUS_OFFLINE)
    before = make.reload(Agent, agent.id).status_changed_at
    agent_service.set_status(session, agent, STATUS_BREAK)
    after = make.reload(Agent, agent.id)
    assert after.status == STATUS_BREAK
    assert after.status_changed_at > before


def test_release_slot_never_goes_below_zero(session, make):
    agent = make.agent("a", open_chat_count=1)
    routing.release_slot(session, agent.id)
    session.commit()
    assert make.reload(Agent, agent.id).open_chat_count == 0
    routing.release_slot(session, agent.id)
    routing.release_slot(session, agent.id)
    session.commit()
    assert make.reload(Agent, agent.id).open_chat_count == 0


# --------------------------------------------------------------------------------------------
# concurrency (file SQLite, one session per thread)
# --------------------------------------------------------------------------------------------


def _run_concurrently(db_url: str, jobs: list, timeout: float = 60) -> list:
    """Run job(session, settings) for each job in its own thread, all released by one Barrier."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            with session_scope(db_url) as s:
                settings = settings_service.get_settings(s)
                s.commit()
                barrier.wait(timeout=timeout)
                results[i] = jobs[i](s, settings)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not errors, errors
    return results


def test_concurrent_assign_of_same_chat_assigns_it_once(db_url, session, make):
    make.offline_demo_agents()
    agents = [make.agent(f"c{i}", max_open_chats=5) for i in range(3)]
    make.settings(prefer_recent_agent=False, method=ASSIGN_BALANCED)
    chat = make.waiting_chat()
    session.commit()

    results = _run_concurrently(
        db_url, [lambda s, st: routing.assign_chat(s, chat.id, st) for _ in range(10)]
    )

    won = [r for r in results if r is not None]
    assert len(won) == 1
    stored = make.reload(Chat, chat.id)
    assert stored.agent_id == won[0].agent_id
    assert stored.status == CHAT_OPEN
    assert sum(make.reload(Agent, a.id).open_chat_count for a in agents) == 1


def test_concurrent_assign_of_many_chats_respects_limits(db_url, session, make):
    make.offline_demo_agents()
    agents = [make.agent(f"m{i}", max_open_chats=5) for i in range(3)]
    make.settings(prefer_recent_agent=True, method=ASSIGN_BALANCED)
    chats = [make.waiting_chat() for _ in range(30)]
    session.commit()

    results = _run_concurrently(
        db_url, [lambda s, st, cid=c.id: routing.assign_chat(s, cid, st) for c in chats]
    )

    won = [r for r in results if r is not None]
    assert len({r.chat_id for r in won}) == len(won)  # no chat claimed twice
    capacity = 3 * 5
    assert len(won) == capacity  # every slot used, every chat beyond capacity still queued

    stored_chats = [make.reload(Chat, c.id) for c in chats]
    per_agent = Counter(c.agent_id for c in stored_chats if c.agent_id is not None)
    assert sum(per_agent.values()) == len(won)
    for r in won:
        assert next(c for c in stored_chats if c.id == r.chat_id).agent_id == r.agent_id
    for a in agents:
        stored = make.reload(Agent, a.id)
        assert stored.open_chat_count <= 5
        assert stored.open_chat_count == per_agent[a.id]
    assert sum(make.reload(Agent, a.id).open_chat_count for a in agents) == len(won)

    waiting = [c for c in stored_chats if c.agent_id is None]
    assert len(waiting) == 30 - len(won)
    assert all(c.status == CHAT_WAITING for c in waiting)
    assert all(c.status == CHAT_OPEN for c in stored_chats if c.agent_id is not None)
    assert not session.exec(select(Chat).where(Chat.status == CHAT_OPEN, Chat.agent_id.is_(None))).all()


def test_requeue_unopened_gives_back_only_chats_the_agent_never_opened(session, make):
    from online_contact.services import chats as chat_service

    make.offline_demo_agents()
    agent = make.agent("leaver")
    opened = make.start(name="열어본 고객")
    unopened = make.start(name="안 열어본 고객")
    assert opened.agent_id == unopened.agent_id == agent.id
    chat_service.mark_opened(session, opened, agent)
    moved = routing.requeue_unopened(session, agent.id, "agent_offline")
    assert moved == [unopened.id]
    back = make.reload(Chat, unopened.id)
    assert (back.status, back.agent_id) == ("waiting", None)
    assert make.reload(Chat, opened.id).agent_id == agent.id
    assert make.reload(Agent, agent.id).open_chat_count == 1
