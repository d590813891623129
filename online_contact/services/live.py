"""통계's 실시간: what is happening now — the queue and its longest wait, open chats, agents by
status, and each agent's open and 답변 대기 chats (who sees what: history.visible_to)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Session, select

from online_contact.models import Agent, Chat, Message
from online_contact.models.agent import STATUS_OFFLINE, STATUSES
from online_contact.models.chat import AUTHOR_CUSTOMER, CHAT_WAITING

from . import history


@dataclass
class LiveAgent:
    agent_id: int
    name: str
    status: str
    open_chats: int = 0
    unanswered: int = 0  # open chats whose last message is the customer's (답변 대기)


@dataclass
class Live:
    waiting: int  # in the queue now (no agent yet)
    longest_wait: int | None  # seconds the oldest of them has waited
    open_chats: int  # not ended (queued or with an agent)
    statuses: dict[str, int]  # 온라인 / 휴식 / 오프라인 → agents who may chat
    agents: list[LiveAgent]


def now_view(session: Session, agent: Agent, now: datetime | None = None) -> Live:
    """What is happening now: the queue and its longest wait, open chats, agents by status and
    each agent's open and unanswered chats. An agent sees only their own row and chats."""
    now = now or datetime.now(timezone.utc)
    mine = history.visible_to(agent)
    waiting_count, oldest = session.exec(
        select(sa.func.count(), sa.func.min(Chat.created_at)).where(Chat.status == CHAT_WAITING, mine)
    ).one()
    # Not ended = queued or with an agent, neither side having ended it (history's 진행중).
    open_count = session.exec(select(sa.func.count()).select_from(Chat).where(history.IN_PROGRESS_SQL, mine)).one()
    last_author = (
        select(Message.author).where(Message.chat_id == Chat.id, Message.seq == Chat.last_seq).correlate(Chat).scalar_subquery()
    )
    per_agent = {
        agent_id: (n, unanswered or 0)
        for agent_id, n, unanswered in session.exec(
            select(Chat.agent_id, sa.func.count(),
                   sa.func.sum(sa.case((last_author == AUTHOR_CUSTOMER, 1), else_=0)))
            .where(history.IN_PROGRESS_SQL, Chat.agent_id.is_not(None), mine)
            .group_by(Chat.agent_id)
        )
    }
    if agent.role == "admin":
        people = list(session.exec(select(Agent).where(Agent.active, Agent.can_chat).order_by(Agent.name)))
    else:
        people = [agent]
    statuses = Counter({status: 0 for status in STATUSES})
    statuses.update(p.status or STATUS_OFFLINE for p in people)
    return Live(
        waiting=waiting_count,
        longest_wait=int((now - (oldest if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc))).total_seconds()) if oldest is not None else None,
        open_chats=open_count,
        statuses=dict(statuses),
        agents=[LiveAgent(p.id, p.name, p.status, *per_agent.get(p.id, (0, 0))) for p in people],
    )
