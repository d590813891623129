"""상담원 관리: agents and admins, managed by admins.

Rules (refused with a ServiceError that says why, changing nothing):
- emails are unique, case-insensitively; passwords follow one rule (auth.validate_password);
- an admin cannot deactivate or demote themself, nor the last active admin;
- 비밀번호 초기화 makes a new password (shown once) and ends every login of that account;
- 비활성화 ends every login of that account at once and hands their unopened chats to someone
  else (agents.deactivate; the login sweep signs their tabs out); 활성화 lets them log in again.
Every action is audited (before → after, never a password)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from online_contact.models import Agent
from online_contact.models.agent import ROLE_ADMIN, ROLE_AGENT

from online_contact.models.assignment import RELEASE_NOT_ALLOWED

from . import agents as agent_service
from . import audit
from . import auth as auth_service
from . import routing, settings as settings_service
from .errors import ServiceError
from .settings import parse_limit
from .text import LIMITS, clean

ROLES = (ROLE_AGENT, ROLE_ADMIN)


def _snapshot(a: Agent) -> dict:
    return {"name": a.name, "email": a.email, "role": a.role, "active": a.active, "can_chat": a.can_chat,
            "max_open_chats": a.max_open_chats}


def _account(session: Session, agent_id) -> Agent:
    agent = session.get(Agent, agent_id) if isinstance(agent_id, int) and agent_id > 0 else None
    if agent is None:
        raise ServiceError("error.account_not_found")
    return agent


def _other_active_admins(session: Session, agent_id: int) -> int:
    """How many other active admins there are, with their rows locked until the caller commits
    (PostgreSQL: two admins demoting each other at once cannot both pass; SQLite has one writer)."""
    ids = session.exec(
        select(Agent.id).where(Agent.role == ROLE_ADMIN, Agent.active.is_(True), Agent.id != agent_id).with_for_update()
    ).all()
    return len(ids)


def _name(name) -> str:
    value = clean(name if isinstance(name, str) else "").strip()
    if not value:
        raise ServiceError("error.name_required")
    if len(value) > LIMITS["name"]:
        raise ServiceError("error.name_too_long", max=LIMITS["name"])
    return value


def generate_password() -> str:
    """A password to hand over once: 16 characters from letters and digits (about 95 bits)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


@dataclass(frozen=True)
class Created:
    agent_id: int
    password: str  # the generated one, shown once; '' when the admin typed it


def create_account(
    session: Session, actor_id: int, *, name: str, email: str, role: str, password: str = "", ip: str = "",
) -> Created:
    """상담원 추가: with the password the admin typed, or a generated one (returned once). Commits."""
    if role not in ROLES:
        raise ServiceError("error.role_invalid")
    generated = "" if (isinstance(password, str) and password) else generate_password()
    agent = auth_service.create_agent(session, email, _name(name), password or generated, role=role)
    session.commit()
    audit.record_change(session, audit.ACCOUNT_CREATED, actor_id=actor_id, target_type="agent", target_id=agent.id,
                        before={}, after=_snapshot(agent), ip=ip)
    return Created(agent_id=agent.id, password=generated)


def update_account(
    session: Session, actor_id: int, agent_id: int, *, name: str, role: str, can_chat: bool, max_open_chats, ip: str = "",
) -> agent_service.StatusChange:
    """Edit name, role, 채팅 상담 허용 and 최대 동시 상담 수 (blank: the default). Not allowed to chat
    any more: their unopened chats go to someone else; allowed again or a higher limit: the queue
    drains to them. Returns what moved, for the screens. Commits."""
    agent = _account(session, agent_id)
    if role not in ROLES or not isinstance(can_chat, bool):
        raise ServiceError("error.value_invalid")
    limit = parse_limit(max_open_chats)
    name = _name(name)
    if agent.role == ROLE_ADMIN and role != ROLE_ADMIN:
        if agent.id == actor_id:
            raise ServiceError("error.cannot_demote_self")
        if agent.active and _other_active_admins(session, agent.id) == 0:
            raise ServiceError("error.last_admin")
    before = _snapshot(agent)
    agent.name, agent.role, agent.can_chat, agent.max_open_chats = name, role, can_chat, limit
    session.add(agent)
    session.commit()
    settings = settings_service.get_settings(session)
    change = agent_service.StatusChange(agent_id=agent.id)
    if not can_chat and before["can_chat"]:
        back = routing.hand_back_unopened(session, agent.id, RELEASE_NOT_ALLOWED, settings)
        change = agent_service.StatusChange(agent_id=agent.id, moved=back.moved, assignments=back.assignments)
    elif can_chat:
        change = agent_service.StatusChange(agent_id=agent.id, assignments=routing.drain_queue(session, settings))
    audit.record_change(session, audit.ACCOUNT_CHANGED, actor_id=actor_id, target_type="agent", target_id=agent.id,
                        before=before, after=_snapshot(agent), ip=ip)
    return change


def reset_password(session: Session, actor_id: int, agent_id: int, ip: str = "") -> tuple[str, list[auth_service.EndedLogin]]:
    """비밀번호 초기화: a new generated password (returned once); every login of the account ends. Commits."""
    agent = _account(session, agent_id)
    password = generate_password()
    agent.password_hash = auth_service.hash_password(password)
    session.add(agent)
    session.commit()
    ended = auth_service.end_all_sessions(session, agent.id, "password_reset")
    audit.record(session, audit.ACCOUNT_PASSWORD_RESET, actor_id=actor_id, target_type="agent", target_id=agent.id, ip=ip)
    return password, ended


def set_active(session: Session, actor_id: int, agent_id: int, active: bool, ip: str = "") -> agent_service.StatusChange | None:
    """비활성화 / 활성화. Deactivating hands the unopened chats back (the returned change) and
    ends the logins (the caller runs the login sweep to sign the tabs out at once); activating
    drains the queue (to them, once they are Online). Commits."""
    agent = _account(session, agent_id)
    if not isinstance(active, bool):
        raise ServiceError("error.value_invalid")
    if active == agent.active:
        return None
    before = _snapshot(agent)
    change = None
    if not active:
        if agent.id == actor_id:
            raise ServiceError("error.cannot_deactivate_self")
        if agent.role == ROLE_ADMIN and _other_active_admins(session, agent.id) == 0:
            raise ServiceError("error.last_admin")
        change = agent_service.deactivate(session, agent)
    else:
        agent.active = True
        session.add(agent)
        session.commit()
        change = agent_service.StatusChange(
            agent_id=agent.id, assignments=routing.drain_queue(session, settings_service.get_settings(session)))
    audit.record_change(session, audit.ACCOUNT_DEACTIVATED if not active else audit.ACCOUNT_ACTIVATED, actor_id=actor_id,
                        target_type="agent", target_id=agent.id, before=before, after=_snapshot(agent), ip=ip)
    return change


def list_accounts(session: Session) -> list[dict]:
    """What 상담원 관리 shows: every agent and admin, admins first, then by name."""
    rows = session.exec(select(Agent).order_by(Agent.role != ROLE_ADMIN, Agent.name, Agent.id)).all()
    return [
        {"id": a.id, "name": a.name, "email": a.email, "role": a.role, "status": a.status, "active": a.active,
         "can_chat": a.can_chat, "max_open_chats": a.max_open_chats, "open_chats": a.open_chat_count,
         "last_login_at": a.last_login_at}
        for a in rows
    ]
