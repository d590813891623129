"""Agent status (온라인 / 휴식 / 오프라인), leaving, deactivation.

One rule for every way of leaving Online (the status switch, logout, presence noticing the agent
is gone, an expired last login, deactivation): `leave_online` sets the status and hands the
chats the agent never opened back to the queue, which assigns them to another eligible agent
at once (routing.hand_back_unopened). Chats the agent opened stay theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import update
from sqlmodel import Session

from online_contact.models import Agent, AgentStatusLog
from online_contact.models._base import utcnow
from online_contact.models.agent import STATUS_BREAK, STATUS_OFFLINE, STATUS_ONLINE, STATUSES
from online_contact.models.assignment import RELEASE_BREAK, RELEASE_DEACTIVATED, RELEASE_OFFLINE

from . import routing, settings as settings_service
from .errors import ServiceError


@dataclass(frozen=True)
class StatusChange:
    """What a status change did, for the screens to show: chats handed back to the queue (their
    rooms change), and assignments made (those agents' desks and the queue change)."""

    agent_id: int
    moved: list[int] = field(default_factory=list)
    assignments: list[routing.Assignment] = field(default_factory=list)


def _write_status(session: Session, agent: Agent, status: str) -> None:
    """The one place an agent's status changes: the agent row and the status history (통계)."""
    if agent.status != status:
        now = utcnow()
        agent.status = status
        agent.status_changed_at = now
        session.add(agent)
        session.exec(
            update(AgentStatusLog)
            .where(AgentStatusLog.agent_id == agent.id, AgentStatusLog.ended_at.is_(None))
            .values(ended_at=now)
        )
        session.add(AgentStatusLog(agent_id=agent.id, status=status, started_at=now))
    session.commit()


def leave_online(session: Session, agent: Agent, status: str, reason: str) -> StatusChange:
    """The agent is no longer Online (휴식 or 오프라인): store it and hand their unopened chats back
    (`reason` is kept in the assignment history). Commits."""
    if status not in (STATUS_BREAK, STATUS_OFFLINE):
        raise ServiceError("error.status_invalid")
    _write_status(session, agent, status)
    back = routing.hand_back_unopened(session, agent.id, reason, settings_service.get_settings(session))
    return StatusChange(agent_id=agent.id, moved=back.moved, assignments=back.assignments)


def set_status(session: Session, agent: Agent, status: str) -> StatusChange:
    """The status switch: going Online drains the waiting queue; leaving it hands unopened chats
    back. Commits."""
    if not isinstance(status, str) or status not in STATUSES:
        raise ServiceError("error.status_invalid")
    if status != STATUS_ONLINE:
        return leave_online(session, agent, status, RELEASE_BREAK if status == STATUS_BREAK else RELEASE_OFFLINE)
    _write_status(session, agent, status)
    assignments = routing.drain_queue(session, settings_service.get_settings(session))
    return StatusChange(agent_id=agent.id, assignments=assignments)


def deactivate(session: Session, agent: Agent) -> StatusChange:
    """비활성화: the agent can no longer log in and their unopened chats go to someone else.
    Their logins stop being valid at once (a live login needs an active agent); the login sweep
    (realtime.logins, every second on every worker, or at once when the caller runs it) marks
    them ended and signs their tabs out, wherever the deactivation was done. Commits."""
    agent.active = False
    session.add(agent)
    session.commit()
    return leave_online(session, agent, STATUS_OFFLINE, RELEASE_DEACTIVATED)


def set_notifications(session: Session, agent: Agent, sound: bool | None = None, desktop: bool | None = None) -> None:
    """알림 설정 of the agent (kept with the account). Commits."""
    if sound is not None:
        agent.notify_sound = bool(sound)
    if desktop is not None:
        agent.notify_desktop = bool(desktop)
    session.add(agent)
    session.commit()
