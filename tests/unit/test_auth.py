"""services.auth: password hashing, login, sessions, account creation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from online_contact.models import Agent, AuthSession
from online_contact.models._base import utcnow
from online_contact.models.agent import ROLE_ADMIN, ROLE_AGENT
from online_contact.services import auth
from online_contact.services.errors import ServiceError


def test_hash_is_not_the_password_and_verifies():
    hashed = auth.hash_password("s3cret-pass")
    assert hashed != "s3cret-pass"
    assert "s3cret-pass" not in hashed
    assert hashed.startswith("$2")  # bcrypt
    assert auth.verify_password("s3cret-pass", hashed)
    assert not auth.verify_password("s3cret-pasS", hashed)
    assert not auth.verify_password("", hashed)


def test_hash_is_salted():
    assert auth.hash_password("same-password") != auth.hash_password("same-password")


def test_verify_against_a_malformed_hash_is_false():
    assert auth.verify_password("whatever", "not-a-bcrypt-hash") is False
    assert auth.verify_password("whatever", "") is False


def test_long_and_korean_passwords_hash_and_verify():
    long_pw = "비밀번호" * 30  # 360 bytes in UTF-8, more than bcrypt's 72
    hashed = auth.hash_password(long_pw)
    assert auth.verify_password(long_pw, hashed)
    assert not auth.verify_password("비밀번호", hashed)


def test_demo_accounts_log_in(session):
    admin = auth.authenticate(session, "admin@example.com", "admin1234")
    assert (admin.email, admin.role) == ("admin@example.com", ROLE_ADMIN)
    agent = auth.authenticate(session, "  Agent1@Example.com ", "agent1234")
    assert (agent.email, agent.role) == ("agent1@example.com", ROLE_AGENT)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("admin@example.com", "wrong-password"),
        ("admin@example.com", "Admin1234"),
        ("admin@example.com", ""),
        ("nobody@example.com", "admin1234"),
        ("", "admin1234"),
    ],
    ids=["wrong", "case", "empty-password", "unknown-email", "empty-email"],
)
def test_bad_login_is_invalid(session, email, password):
    with pytest.raises(ServiceError) as err:
        auth.authenticate(session, email, password)
    assert err.value.code == "login.invalid"


def test_inactive_agent_cannot_log_in(session, make):
    agent = make.demo_agent("agent2@example.com")
    agent.active = False
    session.add(agent)
    session.commit()
    with pytest.raises(ServiceError) as err:
        auth.authenticate(session, "agent2@example.com", "agent1234")
    assert err.value.code == "login.invalid"


def test_session_token_identifies_agent(session, make):
    agent = make.demo_agent("agent1@example.com")
    token = auth.start_session(session, agent)
    session.commit()
    assert len(token) >= 32
    assert auth.agent_for_token(session, token).id == agent.id
    stored = session.exec(select(AuthSession).where(AuthSession.token_hash == auth.hash_token(token))).one()
    assert token not in (stored.token_hash, str(stored.model_dump()))  # only its SHA-256 is kept
    hours = (stored.expires_at - utcnow()) / timedelta(hours=1)
    assert 11.9 < hours <= 12  # OC_SESSION_HOURS default


def test_session_length_can_be_given(session, make):
    agent = make.demo_agent("agent1@example.com")
    token = auth.start_session(session, agent, hours=1)
    stored = session.exec(select(AuthSession).where(AuthSession.token_hash == auth.hash_token(token))).one()
    assert timedelta(minutes=59) < stored.expires_at - utcnow() <= timedelta(hours=1)


@pytest.mark.parametrize("token", ["", "unknown-token", None])
def test_unknown_token_is_nobody(session, token):
    assert auth.agent_for_token(session, token) is None


def test_expired_session_is_nobody(session, make):
    agent = make.demo_agent("agent1@example.com")
    token = auth.start_session(session, agent)
    still_valid = auth.start_session(session, agent, hours=1)
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == auth.hash_token(token))).one()
    row.expires_at = utcnow() - timedelta(seconds=5)
    session.add(row)
    session.commit()
    assert auth.agent_for_token(session, token) is None
    assert auth.agent_for_token(session, still_valid).id == agent.id


def test_session_almost_expired_still_works(session, make):
    agent = make.demo_agent("agent1@example.com")
    token = auth.start_session(session, agent)
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == auth.hash_token(token))).one()
    row.expires_at = utcnow() + timedelta(minutes=1)
    session.add(row)
    session.commit()
    assert auth.agent_for_token(session, token).id == agent.id


def test_session_of_deactivated_agent_is_nobody(session, make):
    agent = make.demo_agent("agent1@example.com")
    token = auth.start_session(session, agent)
    agent.active = False
    session.add(agent)
    session.commit()
    assert auth.agent_for_token(session, token) is None


def test_end_session_invalidates_only_that_token(session, make):
    agent = make.demo_agent("agent1@example.com")
    token = auth.start_session(session, agent)
    other = auth.start_session(session, agent)
    session.commit()
    auth.end_session(session, token)
    session.commit()
    assert auth.agent_for_token(session, token) is None
    assert auth.agent_for_token(session, other).id == agent.id
    ended = session.exec(select(AuthSession).where(AuthSession.token_hash == auth.hash_token(token))).one()
    assert ended.ended_at is not None and ended.end_reason == "logout"
    assert auth.end_session(session, token) == []  # ends once
    assert auth.end_session(session, "never-existed") == []  # no error


def test_create_agent_stores_hashed_password_and_can_log_in(session, make):
    agent = auth.create_agent(session, "  New.Agent@Example.com ", " 새 상담원 ", "long-enough", max_open_chats=3)
    session.commit()
    stored = make.reload(Agent, agent.id)
    assert stored.email == "new.agent@example.com"
    assert stored.name == "새 상담원"
    assert stored.role == ROLE_AGENT
    assert stored.max_open_chats == 3
    assert stored.password_hash != "long-enough"
    assert auth.authenticate(session, "new.agent@example.com", "long-enough").id == agent.id


def test_create_agent_defaults_name_to_email_local_part(session):
    agent = auth.create_agent(session, "kim@example.com", "  ", "password1", role=ROLE_ADMIN)
    assert (agent.name, agent.role) == ("kim", ROLE_ADMIN)


@pytest.mark.parametrize(
    ("email", "password", "role", "code"),
    [
        ("not-an-email", "password1", ROLE_AGENT, "error.email_invalid"),
        ("a@b", "password1", ROLE_AGENT, "error.email_invalid"),
        ("a b@example.com", "password1", ROLE_AGENT, "error.email_invalid"),
        ("", "password1", ROLE_AGENT, "error.email_invalid"),
        ("short@example.com", "1234567", ROLE_AGENT, "error.password_short"),
        ("short@example.com", "", ROLE_AGENT, "error.password_short"),
        ("role@example.com", "password1", "superuser", "error.role_invalid"),
        ("agent1@example.com", "password1", ROLE_AGENT, "error.email_taken"),
        ("AGENT1@Example.COM", "password1", ROLE_AGENT, "error.email_taken"),
    ],
    ids=["no-at", "no-dot", "space", "empty", "7-chars", "empty-password", "role", "duplicate", "duplicate-case"],
)
def test_create_agent_validation(session, make, email, password, role, code):
    before = make.count(Agent)
    with pytest.raises(ServiceError) as err:
        auth.create_agent(session, email, "name", password, role=role)
    assert err.value.code == code
    session.rollback()
    assert make.count(Agent) == before


def test_create_agent_password_of_exactly_eight_characters_is_accepted(session):
    assert auth.create_agent(session, "eight@example.com", "x", "12345678").id is not None


@pytest.mark.usefixtures("steady_clock")  # the throttles' windows are fixed (this minute)
def test_wrong_passwords_slow_down_their_address_never_the_real_user_elsewhere(session):
    """Five wrong passwords for one account from one address in a minute
    (OC_LIMIT_LOGIN_PER_ACCOUNT_IP): that address's next try for that account waits for the
    window, the right password included; the right password from another address logs in at
    once, and other accounts are not affected. The throttles' own tests are in
    tests/security/test_limits.py."""
    for _ in range(5):
        with pytest.raises(ServiceError) as err:
            auth.authenticate(session, "agent1@example.com", "wrong-password", ip="10.1.1.1")
        assert err.value.code == "login.invalid"
    with pytest.raises(ServiceError) as err:
        auth.authenticate(session, "agent1@example.com", "agent1234", ip="10.1.1.1")
    assert err.value.code == "login.slow_down" and 0 < err.value.params["seconds"] <= 60
    assert auth.authenticate(session, "agent1@example.com", "agent1234", ip="10.2.2.2").email == "agent1@example.com"
    assert auth.authenticate(session, "agent2@example.com", "agent1234", ip="10.1.1.1").email == "agent2@example.com"
