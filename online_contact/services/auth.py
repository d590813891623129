"""Passwords (bcrypt), logins and sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import bcrypt
from sqlalchemy import or_, update
from sqlmodel import Session, select

from online_contact.config import session_hours
from online_contact.models import Agent, AuthSession
from online_contact.models._base import utcnow
from online_contact.models.agent import ROLE_ADMIN, ROLE_AGENT

from . import audit, limits
from .customers import EMAIL_RE
from .errors import ServiceError

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


def authenticate(session: Session, email: str, password: str, ip: str = "") -> Agent:
    """The active agent with this email and password, or ServiceError.

    Slowed down, never locked out (OWASP's Authentication and Credential Stuffing Prevention
    cheat sheets: throttle by account *and* source; a lockout by the account's name alone is a
    denial of service anyone who knows an email can trigger). Before the password is checked
    the attempt is counted (services.limits, across workers, one atomic step each):

    - per IP address (OC_LIMIT_LOGIN_PER_IP, failures across all accounts): over it, nothing is
      checked from that address until the window ends ('login.throttled') — one address
      spraying many accounts;
    - per account and IP address (OC_LIMIT_LOGIN_PER_ACCOUNT_IP): over it, that address waits
      for the window before it may try that account again, the right password included
      ('login.slow_down'). Any other address is not affected: an attacker elsewhere can never
      keep the real user, or an admin, out;
    - per account from all addresses (OC_LIMIT_LOGIN_PER_ACCOUNT, a far higher ceiling): it
      never refuses an address that has not been failing the account — refusing by the account
      alone is the lockout above. Over it, the account is being guessed from many addresses:
      the admins get one 'login.account_attacked' entry in 감사 로그 per window (and the
      security log a warning), and an address that already failed the account in its window
      waits for that window before its next try ('login.slow_down'): an attacker's many
      addresses get one guess each per window instead of five, the real user's first try from
      anywhere is still checked.

    The address is all the server knows of who is trying: behind one office NAT an account's
    failures there slow that account down for everyone there (one window at most), and an
    attacker with many addresses gets a few guesses per address and window — the account-wide
    report is how the admins learn of it.

    A success takes its attempt back from the per-IP and account-wide counts and clears its
    address's failures for the account (the account-wide count stays: the attack goes on).
    Every outcome goes to the audit log (with the email tried and the IP, never the password);
    a stream of refused tries writes a 'login.throttled' entry when it starts, not one per try.
    """
    email = (email if isinstance(email, str) else "").strip().lower()[:254]
    password = password if isinstance(password, str) else ""
    bind = session.get_bind()
    pair = limits.account_at(email, ip)
    not_counted = limits.Decision(True)
    by_ip = limits.hit(limits.LOGIN_PER_IP, ip, bind=bind)
    by_pair = limits.hit(limits.LOGIN_PER_ACCOUNT_IP, pair, bind=bind) if by_ip.allowed else not_counted
    checked = by_ip.allowed and by_pair.allowed
    by_account = limits.hit(limits.LOGIN_PER_ACCOUNT, email, bind=bind) if checked else not_counted
    # Reported by the attempt that went over, unless that was the real user's (taken back below).
    attacked = by_account.first_refusal
    # Over the account-wide ceiling: an address that already failed this account waits.
    slowed = not by_account.allowed and by_pair.count > 1
    if not checked or slowed:
        if attacked:
            _record_attack(bind, email, ip)
        # One entry per address and window, not per try (an address slowed by the account-wide
        # ceiling writes one at its first refused try, the per-address limit at its own).
        if by_ip.first_refusal or by_pair.first_refusal or (slowed and by_pair.count == 2):
            audit.record(bind, audit.LOGIN_THROTTLED, ip=ip, detail=f"email={email}")
        code = "login.throttled" if not by_ip.allowed else "login.slow_down"
        raise ServiceError(code, seconds=(by_ip if not by_ip.allowed else by_pair).retry_after)
    agent = session.exec(select(Agent).where(Agent.email == email)).first()
    if agent is None:
        verify_password(password, _DUMMY_HASH)  # the same time as a known account's check
    if agent is None or not verify_password(password, agent.password_hash) or not agent.active:
        # Someone tried this account: it is the target, not the one who acted.
        audit.record(bind, audit.LOGIN_FAILED, target_type="agent" if agent else "", target_id=agent.id if agent else None,
                     ip=ip, detail=f"email={email}")
        if attacked:
            _record_attack(bind, email, ip, agent)
        raise ServiceError("login.invalid")
    limits.refund(limits.LOGIN_PER_IP, ip, bind=bind)
    limits.forget(limits.LOGIN_PER_ACCOUNT_IP, pair, bind=bind)
    limits.refund(limits.LOGIN_PER_ACCOUNT, email, bind=bind)
    audit.record(bind, audit.LOGIN_SUCCESS, actor_id=agent.id, ip=ip, detail=f"email={email}")
    agent.last_login_at = utcnow()
    session.add(agent)
    session.commit()  # at once: no write of the caller's stays open while others write (SQLite)
    return agent


def _record_attack(bind, email: str, ip: str, agent: Agent | None = None) -> None:
    """감사 로그: the account's failed logins from all addresses went over OC_LIMIT_LOGIN_PER_ACCOUNT."""
    count, seconds = limits.LOGIN_PER_ACCOUNT.read()
    audit.record(bind, audit.LOGIN_ACCOUNT_ATTACKED, target_type="agent" if agent else "",
                 target_id=agent.id if agent else None, ip=ip,
                 detail=f"email={email}; over {count} failed logins in {seconds} s from all addresses")


MAX_TOKEN_LENGTH = 128  # what start_session makes is 43 characters; anything longer is not a login


def hash_token(token: str) -> str:
    """What the database keeps of a login token: its SHA-256 (hex). The token itself is random
    (256 bits), so a plain hash is enough: there is nothing to guess from it."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class EndedLogin:
    """A login that just ended: realtime.logins stops every push to its tabs."""

    login_id: int
    agent_id: int


def start_session(session: Session, agent: Agent, hours: int | None = None, ip: str = "") -> str:
    """Store a new login session and return its secret token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            agent_id=agent.id,
            token_hash=hash_token(token),
            ip=(ip or "")[:64],
            expires_at=utcnow() + timedelta(hours=hours or session_hours()),
        )
    )
    session.flush()
    return token


def live_login(token_hash, now) -> tuple:
    """The conditions for `token_hash` being a live login of an active agent, for a query joining
    AuthSession to Agent. The one definition of a valid login: agent_for_token, the message
    path's posting gate (messages.chat_for_agent_token, post_message_fast) and live_logins."""
    return (AuthSession.token_hash == token_hash, *_still_live(now))


def _still_live(now) -> tuple:
    return (AuthSession.ended_at.is_(None), AuthSession.expires_at > now, Agent.active.is_(True))


def _usable(token) -> bool:
    return isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH


def login_for_token(session: Session, token: str) -> tuple[AuthSession, Agent] | None:
    """The live login holding this token and its agent, or None."""
    if not _usable(token):
        return None
    row = session.exec(
        select(AuthSession, Agent)
        .join(Agent, Agent.id == AuthSession.agent_id)
        .where(*live_login(hash_token(token), utcnow()))
    ).first()
    return (row[0], row[1]) if row else None


def agent_for_token(session: Session, token: str) -> Agent | None:
    """The active agent logged in with this token, or None when unknown, ended or expired."""
    found = login_for_token(session, token)
    return found[1] if found else None


def live_logins(session: Session, login_ids: set[int]) -> set[int]:
    """Which of these logins are still live (one query for many sockets)."""
    if not login_ids:
        return set()
    rows = session.exec(
        select(AuthSession.id)
        .join(Agent, Agent.id == AuthSession.agent_id)
        .where(AuthSession.id.in_(login_ids), *_still_live(utcnow()))
    )
    return set(rows)


def has_live_login(session: Session, agent_id: int) -> bool:
    """Whether the agent is still logged in somewhere."""
    return session.exec(
        select(AuthSession.id)
        .join(Agent, Agent.id == AuthSession.agent_id)
        .where(AuthSession.agent_id == agent_id, *_still_live(utcnow()))
        .limit(1)
    ).first() is not None


def _end(session: Session, conditions: tuple, reason: str) -> list[EndedLogin]:
    """End the not yet ended logins matching `conditions` (conditional UPDATE: a login ends once,
    whoever gets there first, on any worker). Commits."""
    rows = list(session.exec(select(AuthSession.id, AuthSession.agent_id).where(AuthSession.ended_at.is_(None), *conditions)))
    ended = []
    now = utcnow()
    for login_id, agent_id in rows:
        done = session.exec(
            update(AuthSession)
            .where(AuthSession.id == login_id, AuthSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        ).rowcount
        if done == 1:
            ended.append(EndedLogin(login_id=login_id, agent_id=agent_id))
    session.commit()
    return ended


def end_session(session: Session, token: str, reason: str = "logout") -> list[EndedLogin]:
    """Log out: the token stops working. Returns the login that ended (none for an unknown token)."""
    if not _usable(token):
        return []
    return _end(session, (AuthSession.token_hash == hash_token(token),), reason)


def end_all_sessions(session: Session, agent_id: int, reason: str = "logout_all") -> list[EndedLogin]:
    """End every login of the agent ("모든 기기에서 로그아웃", deactivation)."""
    return _end(session, (AuthSession.agent_id == agent_id,), reason)


def close_dead_sessions(session: Session) -> list[EndedLogin]:
    """Logins that stopped being valid without anyone ending them (expired; agent deactivated
    elsewhere, e.g. from the command line) are marked ended, once, so that their tabs can be
    signed out. Run every second by realtime.logins; reads only while nothing is due."""
    now = utcnow()
    inactive = select(Agent.id).where(Agent.active.is_(False))
    due = session.exec(
        select(AuthSession.id)
        .where(AuthSession.ended_at.is_(None), or_(AuthSession.expires_at <= now, AuthSession.agent_id.in_(inactive)))
        .limit(1)
    ).first()
    if due is None:
        return []
    ended = _end(session, (AuthSession.expires_at <= now,), "expired")
    return ended + _end(session, (AuthSession.agent_id.in_(inactive),), "deactivated")


MAX_PASSWORD = 128


def validate_password(password, email: str = "") -> str:
    """The one password rule: 8 to 128 characters, and not the account's email."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ServiceError("error.password_short", min=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise ServiceError("error.password_long", max=MAX_PASSWORD)
    if email and password.strip().lower() == email.strip().lower():
        raise ServiceError("error.password_is_email")
    return password


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
    validate_password(password, email)
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
