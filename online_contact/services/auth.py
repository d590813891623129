"""Passwords (bcrypt), logins and sessions."""

from __future__ import annotations

import re
import secrets
import time
from datetime import timedelta

import bcrypt
from sqlmodel import Session, select

from online_contact.config import session_hours
from online_contact.models import Agent, AuthSession
from online_contact.models._base import utcnow
from online_contact.models.agent import ROLE_ADMIN, ROLE_AGENT

from .errors import ServiceError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    """A bcrypt hash of the password (bcrypt reads at most 72 bytes)."""
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt()).decode()


def verify_password(password: str, password_hash: str) -> bool:
    """True when the password matches the stored hash."""
    try:
        return bcrypt.checkpw(password.encode()[:72], password_hash.encode())
    except ValueError:
        return False


# A real hash to compare against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = hash_password("not-a-real-password")


MAX_FAILURES = 5
FAILURE_WINDOW = 300.0  # seconds
_failures: dict[str, list[float]] = {}


def _recent_failures(email: str, now: float) -> list[float]:
    recent = [t for t in _failures.get(email, []) if now - t < FAILURE_WINDOW]
    _failures[email] = recent
    return recent


def authenticate(session: Session, email: str, password: str) -> Agent:
    """The active agent with this email and password, or ServiceError('login.invalid').

    After 5 wrong passwords for one email within 5 minutes, further tries are refused
    ('login.throttled') until the window passes (per server process).
    """
    email = email.strip().lower()
    now = time.monotonic()
    if len(_recent_failures(email, now)) >= MAX_FAILURES:
        raise ServiceError("login.throttled", minutes=int(FAILURE_WINDOW // 60))
    agent = session.exec(select(Agent).where(Agent.email == email)).first()
    if agent is None:
        verify_password(password, _DUMMY_HASH)
    if agent is None or not verify_password(password, agent.password_hash) or not agent.active:
        _failures.setdefault(email, []).append(now)
        raise ServiceError("login.invalid")
    _failures.pop(email, None)
    return agent


def start_session(session: Session, agent: Agent, hours: int | None = None) -> str:
    """Store a new login session and return its secret token."""
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            agent_id=agent.id,
            token=token,
            expires_at=utcnow() + timedelta(hours=hours or session_hours()),
        )
    )
    session.flush()
    return token


def live_login(token, now) -> tuple:
    """The conditions for `token` being a live login of an active agent, for a query joining
    AuthSession to Agent. The one definition of a valid login: agent_for_token and the message
    path's posting gate (chats.chat_for_agent_token) both use it, and live_tokens for many."""
    return (AuthSession.token == token, *_still_live(now))


def _still_live(now) -> tuple:
    return (AuthSession.expires_at > now, Agent.active.is_(True))


def agent_for_token(session: Session, token: str) -> Agent | None:
    """The active agent logged in with this token, or None when unknown or expired."""
    if not token:
        return None
    row = session.exec(
        select(AuthSession, Agent).join(Agent, Agent.id == AuthSession.agent_id).where(*live_login(token, utcnow()))
    ).first()
    return row[1] if row else None


def live_tokens(session: Session, tokens: set[str]) -> set[str]:
    """Which of `tokens` are still live logins of active agents (one query for many sockets)."""
    if not tokens:
        return set()
    now = utcnow()
    rows = session.exec(
        select(AuthSession.token)
        .join(Agent, Agent.id == AuthSession.agent_id)
        .where(AuthSession.token.in_(tokens), *_still_live(now))
    )
    return set(rows)


def end_session(session: Session, token: str) -> None:
    """Log out: the token stops working."""
    for row in session.exec(select(AuthSession).where(AuthSession.token == token)):
        session.delete(row)


def create_agent(
    session: Session,
    email: str,
    name: str,
    password: str,
    role: str = ROLE_AGENT,
    max_open_chats: int | None = None,
) -> Agent:
    """Create an agent or admin after validating the input."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise ServiceError("error.email_invalid")
    if len(password) < MIN_PASSWORD:
        raise ServiceError("error.password_short", min=MIN_PASSWORD)
    if role not in (ROLE_ADMIN, ROLE_AGENT):
        raise ServiceError("error.role_invalid")
    if session.exec(select(Agent).where(Agent.email == email)).first():
        raise ServiceError("error.email_taken")
    agent = Agent(
        email=email,
        name=name.strip() or email.split("@")[0],
        role=role,
        password_hash=hash_password(password),
        max_open_chats=max_open_chats,
    )
    session.add(agent)
    session.flush()
    return agent
