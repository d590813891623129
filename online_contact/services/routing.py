"""Assignment of chats to agents (상담원 할당).

One rule set, safe under concurrency:
- eligible = active agents, status Online, allowed to chat, under their open-chat limit;
- with the recent-agent preference on, the agent who last chatted with this customer wins if eligible;
- otherwise the configured method: random (as the original) or balanced (fewest open chats,
  then longest since their last assignment);
- the claim is two conditional UPDATEs (agent under limit, chat still unassigned) whose row
  counts are checked, so no chat is assigned twice and no agent goes over the limit even with
  several workers; a lost race simply tries the next candidate;
- with nobody eligible the chat waits, and `drain_queue` assigns waiting chats first-in first-out;
- an agent who leaves Online (휴식, 오프라인, logout, deactivation, gone away) hands the chats
  they never opened back to the queue, which assigns them to someone else at once
  (`hand_back_unopened`, the one rule for every path); every assignment and hand-back is kept
  in ChatAssignment with its reason.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import and_, insert, literal, or_, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select

from online_contact.models import Agent, Chat, ChatAssignment, ChatSettings
from online_contact.models._base import utcnow
from online_contact.models.agent import STATUS_ONLINE
from online_contact.models.chat import CHAT_OPEN, CHAT_WAITING
from online_contact.models.settings import ASSIGN_RANDOM

REASON_RECENT = "recent_agent"
REASON_BALANCED = "balanced"
REASON_RANDOM = "random"

MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Assignment:
    """The outcome of a successful claim."""

    chat_id: int
    agent_id: int
    reason: str


# A chat on its agent's chat screen: assigned, not ended by the agent, and open or left by the
# customer. A chat the customer left has ended (status ended: it holds no slot, 통계 counts it)
# but stays here until the agent has finished its information and pressed 대화 종료 (the guide).
ON_AN_AGENTS_SCREEN = and_(
    Chat.agent_id.is_not(None), Chat.agent_ended_at.is_(None), or_(Chat.status == CHAT_OPEN, Chat.customer_ended_at.is_not(None))
)


def _under_limit(default: int | None = None):
    """Under the agent's 최대 동시 상담 수: their own, else the settings' default (None = none)."""
    limit = Agent.max_open_chats if default is None else func.coalesce(Agent.max_open_chats, literal(default))
    return or_(limit.is_(None), Agent.open_chat_count < limit)


def eligible_agents(session: Session, settings: ChatSettings | None = None) -> list[Agent]:
    """Agents who may receive a chat right now."""
    default = settings.default_max_open_chats if settings is not None else _default_limit(session)
    return list(
        session.exec(
            select(Agent).where(
                Agent.active, Agent.can_chat, Agent.status == STATUS_ONLINE, _under_limit(default)
            )
        )
    )


def _default_limit(session: Session) -> int | None:
    return session.exec(select(ChatSettings.default_max_open_chats).limit(1)).first()


def any_agent_online(session: Session) -> bool:
    """True when at least one agent who may chat is Online (full or not)."""
    return (
        session.exec(
            select(func.count()).select_from(Agent).where(
                Agent.active, Agent.can_chat, Agent.status == STATUS_ONLINE
            )
        ).one()
        > 0
    )


def recent_agent_id(session: Session, customer_id: int, exclude_chat_id: int | None) -> int | None:
    """The agent of this customer's most recent earlier chat."""
    query = (
        select(Chat.agent_id)
        .where(Chat.customer_id == customer_id, Chat.agent_id.is_not(None))
        .order_by(Chat.created_at.desc(), Chat.id.desc())
        .limit(1)
    )
    if exclude_chat_id is not None:
        query = query.where(Chat.id != exclude_chat_id)
    return session.exec(query).first()


def rank_candidates(
    candidates: list[Agent], method: str, rng: random.Random | None = None
) -> list[tuple[Agent, str]]:
    """Candidates in the order they should be tried, each with the reason it was picked."""
    if method == ASSIGN_RANDOM:
        shuffled = list(candidates)
        (rng or random).shuffle(shuffled)
        return [(a, REASON_RANDOM) for a in shuffled]
    ordered = sorted(
        candidates,
        key=lambda a: (a.open_chat_count, a.last_assigned_at is not None, a.last_assigned_at or 0, a.id),
    )
    return [(a, REASON_BALANCED) for a in ordered]


def try_claim(session: Session, chat_id: int, agent_id: int, reason: str, default_limit: int | None = None) -> bool:
    """Atomically give the chat to the agent; False when either side was taken meanwhile."""
    now = utcnow()
    took_slot = session.exec(
        update(Agent)
        .where(Agent.id == agent_id, Agent.status == STATUS_ONLINE, Agent.active, Agent.can_chat, _under_limit(default_limit))
        .values(open_chat_count=Agent.open_chat_count + 1, last_assigned_at=now)
    ).rowcount
    if took_slot != 1:
        session.rollback()
        return False
    took_chat = session.exec(
        update(Chat)
        # A customer who left meanwhile is not given to anyone (their end would not free the slot).
        .where(Chat.id == chat_id, Chat.agent_id.is_(None), Chat.status == CHAT_WAITING, Chat.customer_ended_at.is_(None))
        .values(agent_id=agent_id, status=CHAT_OPEN, assigned_at=now, assignment_reason=reason)
    ).rowcount
    if took_chat != 1:
        session.rollback()  # undoes the slot taken above
        return False
    session.exec(insert(ChatAssignment).values(chat_id=chat_id, agent_id=agent_id, reason=reason, assigned_at=now, release_reason=""))
    session.commit()
    return True


def assign_chat(
    session: Session, chat_id: int, settings: ChatSettings, rng: random.Random | None = None
) -> Assignment | None:
    """Assign a waiting chat. Commits. None when nobody is eligible (the chat stays queued)."""
    for _ in range(MAX_ATTEMPTS):
        session.commit()  # start from a fresh snapshot (SQLite cannot upgrade a stale one)
        chat = session.get(Chat, chat_id, populate_existing=True)
        if chat is None or chat.status != CHAT_WAITING or chat.agent_id is not None:
            return None
        candidates = eligible_agents(session, settings)
        if not candidates:
            return None
        ranked: list[tuple[Agent, str]] = []
        if settings.prefer_recent_agent:
            recent = recent_agent_id(session, chat.customer_id, chat.id)
            ranked += [(a, REASON_RECENT) for a in candidates if a.id == recent]
        preferred = {a.id for a, _ in ranked}
        ranked += [
            (a, r)
            for a, r in rank_candidates(candidates, settings.assignment_method, rng)
            if a.id not in preferred
        ]
        session.commit()  # end the read so the claim starts as a write
        for agent, reason in ranked:
            try:
                if try_claim(session, chat_id, agent.id, reason, settings.default_max_open_chats):
                    return Assignment(chat_id=chat_id, agent_id=agent.id, reason=reason)
            except OperationalError:  # SQLite busy under heavy contention: re-read and retry
                session.rollback()
                break
    return None


def release_slot(session: Session, agent_id: int) -> None:
    """Give back one open-chat slot of the agent (when a chat of theirs ends or goes back to
    the queue: chats.end_by_customer / end_by_agent, requeue_unopened)."""
    session.exec(
        update(Agent)
        .where(Agent.id == agent_id, Agent.open_chat_count > 0)
        .values(open_chat_count=Agent.open_chat_count - 1)
    )


def waiting_chat_ids(session: Session) -> list[int]:
    """Queued chats, oldest first, whose customer is still there."""
    return list(
        session.exec(
            select(Chat.id)
            .where(Chat.status == CHAT_WAITING, Chat.agent_id.is_(None), Chat.customer_ended_at.is_(None))
            .order_by(Chat.created_at, Chat.id)
        )
    )


def queue_position(session: Session, chat: Chat) -> int:
    """1 for the next chat to be assigned; 0 when the chat is not waiting."""
    if chat.status != CHAT_WAITING:
        return 0
    ahead = session.exec(
        select(func.count())
        .select_from(Chat)
        .where(
            Chat.status == CHAT_WAITING,
            Chat.customer_ended_at.is_(None),
            or_(Chat.created_at < chat.created_at, and_(Chat.created_at == chat.created_at, Chat.id < chat.id)),
        )
    ).one()
    return ahead + 1


def drain_queue(session: Session, settings: ChatSettings) -> list[Assignment]:
    """Assign waiting chats in arrival order until nobody is eligible. Commits."""
    done: list[Assignment] = []
    for chat_id in waiting_chat_ids(session):
        result = assign_chat(session, chat_id, settings)
        if result is None:
            if not eligible_agents(session, settings):
                break
            continue
        done.append(result)
    return done


def requeue_unopened(session: Session, agent_id: int, reason: str) -> list[int]:
    """Put back in the queue the chats given to an agent who has left before opening them.

    Conditional updates: a chat the agent opened meanwhile stays theirs. The assignment's
    history row records when and why it ended. Commits.
    """
    ids = list(
        session.exec(
            select(Chat.id).where(
                Chat.agent_id == agent_id,
                Chat.status == CHAT_OPEN,
                Chat.agent_opened_at.is_(None),
                Chat.customer_ended_at.is_(None),
            )
        )
    )
    moved = []
    now = utcnow()
    for chat_id in ids:
        done = session.exec(
            update(Chat)
            # The customer's end, if it came meanwhile, gave the slot back already.
            .where(Chat.id == chat_id, Chat.agent_id == agent_id, Chat.agent_opened_at.is_(None), Chat.customer_ended_at.is_(None))
            .values(agent_id=None, status=CHAT_WAITING, assigned_at=None, assignment_reason="")
        ).rowcount
        if done == 1:
            release_slot(session, agent_id)
            session.exec(
                update(ChatAssignment)
                .where(
                    ChatAssignment.chat_id == chat_id,
                    ChatAssignment.agent_id == agent_id,
                    ChatAssignment.released_at.is_(None),
                )
                .values(released_at=now, release_reason=reason)
            )
            moved.append(chat_id)
    session.commit()
    return moved


@dataclass(frozen=True)
class HandBack:
    """What leaving Online did: the chats that went back to the queue and where they went."""

    moved: list[int]
    assignments: list[Assignment]


def hand_back_unopened(session: Session, agent_id: int, reason: str, settings: ChatSettings) -> HandBack:
    """The agent is no longer Online (status change, logout, deactivation, presence): their
    unopened chats go back to the queue and the queue drains to the agents still eligible (the
    leaving agent is not one of them). Opened chats stay with the agent. Commits."""
    moved = requeue_unopened(session, agent_id, reason)
    return HandBack(moved=moved, assignments=drain_queue(session, settings) if moved else [])


def assignment_history(session: Session, chat_id: int) -> list[ChatAssignment]:
    """Every assignment of a chat, oldest first."""
    return list(
        session.exec(select(ChatAssignment).where(ChatAssignment.chat_id == chat_id).order_by(ChatAssignment.id))
    )
