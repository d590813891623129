"""Agent status (온라인 / 휴식 / 오프라인)."""

from __future__ import annotations

from sqlmodel import Session

from online_contact.models import Agent
from online_contact.models._base import utcnow
from online_contact.models.agent import STATUS_ONLINE, STATUSES

from . import routing, settings as settings_service
from .errors import ServiceError


def set_status(session: Session, agent: Agent, status: str) -> list[routing.Assignment]:
    """Change the agent's status. Going Online drains the waiting queue. Commits."""
    if status not in STATUSES:
        raise ServiceError("error.status_invalid")
    if agent.status != status:
        agent.status = status
        agent.status_changed_at = utcnow()
        session.add(agent)
    session.commit()
    if status == STATUS_ONLINE:
        return routing.drain_queue(session, settings_service.get_settings(session))
    return []
