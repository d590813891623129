"""Throttles (services.limits) and per-chat limits: counted before the work, across workers
(one atomic statement), refused with a clear Korean message, changing nothing."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import func, select

from online_contact.models import AuditLog, Chat, Message, Rating, Ticket
from online_contact.models._base import utcnow
from online_contact.services import auth, chats as chat_service, limits, tickets
from online_contact.services import messages as message_service
from online_contact.services.db import engine, session_scope
from online_contact.services.errors import ServiceError
from tests.unit.pipeline import Client, names, only_agent1_online, run


# The throttles' windows are fixed (this minute, this hour): see tests/conftest.steady_clock.
pytestmark = pytest.mark.usefixtures("steady_clock")


def agent_of(session, chat):
    from online_contact.models import Agent

    return session.get(Agent, chat.agent_id)


def _code(fn, *args, **kwargs) -> str:
    with pytest.raises(ServiceError) as err:
        fn(*args, **kwargs)
    return err.value.code


def test_too_many_failed_logins_from_one_ip_are_refused_before_the_password_is_checked(session, monkeypatch):
    monkeypatch.setenv("OC_LIMIT_LOGIN_PER_IP", "3/600")
    for _ in range(3):
        assert _code(auth.authenticate, session, "agent1@example.com", "guess", ip="203.0.113.7") == "login.invalid"
    # The right password from there is refused too: nothing is checked any more from that IP.
    assert _code(auth.authenticate, session, "agent1@example.com", "agent1234", ip="203.0.113.7") == "login.throttled"
    # The real user, elsewhere, is not locked out.
    assert auth.authenticate(session, "agent1@example.com", "agent1234", ip="198.51.100.1").email == "agent1@example.com"


def test_wrong_passwords_from_one_address_never_keep_the_real_user_out_elsewhere(session):
    """The lockout found on a live server: five wrong passwords for agent2 from anywhere blocked
    agent2's right password from everywhere for a minute. Now the failures slow down the address
    they came from, for that account (OC_LIMIT_LOGIN_PER_ACCOUNT_IP, 5/60)."""
    attacker, user = "203.0.113.1", "198.51.100.9"
    for _ in range(5):
        assert _code(auth.authenticate, session, "agent2@example.com", "guess", ip=attacker) == "login.invalid"
    with pytest.raises(ServiceError) as err:
        auth.authenticate(session, "agent2@example.com", "agent1234", ip=attacker)  # even the right one
    assert err.value.code == "login.slow_down" and 1 <= err.value.params["seconds"] <= 60
    assert auth.authenticate(session, "agent2@example.com", "agent1234", ip=user).email == "agent2@example.com"
    # The real user's success does not let the attacking address off.
    assert _code(auth.authenticate, session, "agent2@example.com", "guess", ip=attacker) == "login.slow_down"
    # The address is slowed for that account only (the per-IP limit watches the rest), and the
    # next window lets it try again.
    assert auth.authenticate(session, "agent1@example.com", "agent1234", ip=attacker).email == "agent1@example.com"
    later = limits.time.time() + 61
    pair = limits.LOGIN_PER_ACCOUNT_IP
    assert limits.hit(pair, limits.account_at("agent2@example.com", attacker), now=later, bind=session.get_bind()).allowed


def test_an_attacker_with_two_addresses_cannot_keep_an_admin_out(session):
    for _ in range(3):  # the attacker keeps at it from both addresses
        for ip in ("203.0.113.21", "203.0.113.22"):
            for _ in range(6):
                with pytest.raises(ServiceError):
                    auth.authenticate(session, "admin@example.com", "guess", ip=ip)
    assert auth.authenticate(session, "admin@example.com", "admin1234", ip="198.51.100.20").role == "admin"


def test_a_successful_login_clears_its_addresss_failures(session, monkeypatch):
    monkeypatch.setenv("OC_LIMIT_LOGIN_PER_ACCOUNT_IP", "2/60")
    assert _code(auth.authenticate, session, "agent2@example.com", "typo", ip="198.51.100.3") == "login.invalid"
    auth.authenticate(session, "agent2@example.com", "agent1234", ip="198.51.100.3")
    for _ in range(2):  # two more mistakes are allowed again after the success
        assert _code(auth.authenticate, session, "agent2@example.com", "typo", ip="198.51.100.3") == "login.invalid"
    assert _code(auth.authenticate, session, "agent2@example.com", "typo", ip="198.51.100.3") == "login.slow_down"


def test_many_failures_from_one_ip_across_accounts_are_refused(session, monkeypatch):
    """An address trying many accounts (password spraying) meets the per-IP limit, whatever the
    accounts; the refusal says so and when to try again, and the password is no longer checked."""
    monkeypatch.setenv("OC_LIMIT_LOGIN_PER_IP", "4/600")
    sprayer = "203.0.113.30"
    for email in ("agent1@example.com", "agent2@example.com", "admin@example.com", "nobody@example.com"):
        assert _code(auth.authenticate, session, email, "Password1!", ip=sprayer) == "login.invalid"
    with pytest.raises(ServiceError) as err:
        auth.authenticate(session, "agent1@example.com", "agent1234", ip=sprayer)  # even the right one
    assert err.value.code == "login.throttled" and 1 <= err.value.params["seconds"] <= 600
    assert auth.authenticate(session, "agent1@example.com", "agent1234", ip="198.51.100.30").email == "agent1@example.com"


def test_an_account_tried_from_many_addresses_is_reported_and_its_failing_addresses_slowed(session, monkeypatch):
    """Above the account-wide ceiling (OC_LIMIT_LOGIN_PER_ACCOUNT) nobody is refused who has not
    been failing: an address that already failed this account in the window gets no second
    guess until the window ends, an address that has not logged in at once, and the admins find
    one 'login.account_attacked' entry in 감사 로그."""
    monkeypatch.setenv("OC_LIMIT_LOGIN_PER_ACCOUNT", "3/600")
    bots = [f"203.0.113.{40 + i}" for i in range(5)]
    for ip in bots:
        assert _code(auth.authenticate, session, "agent2@example.com", "guess", ip=ip) == "login.invalid"
    with pytest.raises(ServiceError) as err:
        auth.authenticate(session, "agent2@example.com", "agent1234", ip=bots[0])
    assert err.value.code == "login.slow_down" and 1 <= err.value.params["seconds"] <= 60
    assert auth.authenticate(session, "agent2@example.com", "agent1234", ip="198.51.100.40").email == "agent2@example.com"
    # Still above the ceiling after the real user's success: a new address gets its one guess.
    assert _code(auth.authenticate, session, "agent2@example.com", "guess", ip="203.0.113.99") == "login.invalid"
    attacked = session.exec(select(AuditLog).where(AuditLog.action == "login.account_attacked")).all()
    assert len(attacked) == 1 and attacked[0].detail.startswith("email=agent2@example.com")


def test_every_login_attempt_is_in_the_audit_log_without_the_password(session, monkeypatch):
    monkeypatch.setenv("OC_LIMIT_LOGIN_PER_IP", "2/600")
    auth.authenticate(session, "agent1@example.com", "agent1234", ip="192.0.2.10")
    for _ in range(3):
        with pytest.raises(ServiceError):
            auth.authenticate(session, "agent1@example.com", "wrong-secret-pw", ip="192.0.2.11")
    rows = session.exec(select(AuditLog).where(AuditLog.action.startswith("login.")).order_by(AuditLog.id)).all()
    assert [(r.action, r.ip) for r in rows] == [
        ("login.success", "192.0.2.10"),
        ("login.failed", "192.0.2.11"),
        ("login.failed", "192.0.2.11"),
        ("login.throttled", "192.0.2.11"),
    ]
    assert all("agent1@example.com" in r.detail and "wrong-secret-pw" not in r.detail for r in rows)
    assert rows[0].actor_agent_id is not None
    # A failed attempt names the account tried as its target, never as the one who acted.
    assert [(r.actor_agent_id, r.target_id) for r in rows[1:3]] == [(None, rows[0].actor_agent_id)] * 2


@pytest.mark.parametrize("workers", [8])
def test_parallel_attempts_cannot_all_slip_in(db_url, monkeypatch, workers):
    """One atomic statement per attempt: 8 threads × 5 attempts against a limit of 10."""
    monkeypatch.setenv("OC_LIMIT_CHATS_PER_IP", "10/3600")
    bind = engine(db_url)
    allowed = []
    barrier = threading.Barrier(workers)

    def attempt():
        barrier.wait()
        for _ in range(5):
            allowed.append(limits.hit(limits.CHATS_PER_IP, "198.51.100.77", bind=bind).allowed)

    threads = [threading.Thread(target=attempt) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 10 and len(allowed) == 40


def test_counters_keep_no_ip_address_or_email(session):
    limits.hit(limits.LOGIN_PER_IP, "203.0.113.99", bind=session.get_bind())
    limits.hit(limits.LOGIN_PER_ACCOUNT, "someone@example.com", bind=session.get_bind())
    limits.hit(limits.LOGIN_PER_ACCOUNT_IP, limits.account_at("someone@example.com", "203.0.113.99"), bind=session.get_bind())
    keys = " ".join(session.exec(select(limits.RATE_COUNTER.c.key)).all())
    assert "203.0.113.99" not in keys and "someone" not in keys and keys.count("oc-limit:") == 3


def test_a_malformed_limit_says_what_it_should_look_like(monkeypatch):
    monkeypatch.setenv("OC_LIMIT_CHATS_PER_IP", "many")
    with pytest.raises(ValueError, match="OC_LIMIT_CHATS_PER_IP must be COUNT/SECONDS"):
        limits.CHATS_PER_IP.read()
    monkeypatch.setenv("OC_LIMIT_CHATS_PER_IP", "0")
    assert limits.hit(limits.CHATS_PER_IP, "x").allowed


def test_new_chats_per_ip_are_limited_with_a_korean_message(app, db_url, monkeypatch):
    monkeypatch.setenv("OC_LIMIT_CHATS_PER_IP", "2/3600")
    n = names()
    only_agent1_online(db_url)

    def chats() -> int:
        with session_scope(db_url) as s:
            return s.exec(select(func.count()).select_from(Chat)).one()

    async def start(ip: str) -> Client:
        tab = await Client(app, "/", {n.visitor: uuid.uuid4().hex}).open()
        tab.ip = ip
        await tab.fire(f"{n.customer}.open_chat")
        await tab.fire(f"{n.customer}.give_consent", form_data={"agree": "on", "name": "손님"})
        return tab

    async def scenario():
        from online_contact.states.customer_chat import CustomerChatState

        before = chats()
        for _ in range(2):
            await start("203.0.113.50")
        third = await start("203.0.113.50")
        state = await third.state(CustomerChatState)
        assert "이 네트워크에서 새 상담이 너무 많이 시작되었습니다" in state.consent_error
        assert state.phase == "consent" and chats() == before + 2
        elsewhere = await start("198.51.100.50")
        assert (await elsewhere.state(CustomerChatState)).phase == "chat" and chats() == before + 3

    run(app, scenario)


def test_inquiries_per_ip_are_limited(session, make, monkeypatch):
    monkeypatch.setenv("OC_LIMIT_INQUIRIES_PER_IP", "1/3600")
    tickets.create_from_inquiry(session, "김", "kim@example.com", "배송", "언제 오나요", ip="203.0.113.60")
    before = make.count(Ticket)
    assert _code(tickets.create_from_inquiry, session, "김", "kim@example.com", "또", "또", ip="203.0.113.60") == "error.too_many_inquiries"
    assert make.count(Ticket) == before
    # A form with errors does not use the allowance up.
    assert _code(tickets.create_from_inquiry, session, "", "kim@example.com", "x", "y", ip="198.51.100.60") == "error.name_required"
    tickets.create_from_inquiry(session, "이", "lee@example.com", "문의", "내용", ip="198.51.100.60")


def test_a_visitor_sending_too_fast_is_refused_and_nothing_is_stored(session, make, monkeypatch):
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_SECOND", "3")
    make.offline_demo_agents()
    make.agent("a")
    chat = make.start(name="빠른손")
    for i in range(3):
        message_service.post_message(session, chat, "customer", f"m{i}", f"c{i}")
    assert _code(message_service.post_message, session, chat, "customer", "m3", "c3") == "error.too_fast"
    stored = make.reload(Chat, chat.id)
    texts = [m.text for m in session.exec(select(Message).where(Message.chat_id == chat.id).order_by(Message.seq))]
    assert texts[-3:] == ["m0", "m1", "m2"] and stored.last_seq == len(texts)  # no seq was taken
    # The agent is not limited; the customer's next second is free again.
    chat_service.mark_opened(session, stored, agent_of(session, stored))
    message_service.post_message(session, make.reload(Chat, chat.id), "agent", "답변", "a1", agent_id=stored.agent_id)
    session.exec(update(Chat).where(Chat.id == chat.id).values(burst_started_at=utcnow() - timedelta(seconds=2)))
    session.commit()
    message_service.post_message(session, make.reload(Chat, chat.id), "customer", "m3", "c3")


def test_ratings_once_per_chat_plus_once_per_rating_request(session, make):
    make.offline_demo_agents()
    agent = make.agent("a")
    chat = make.start(name="평가")
    chat_service.rate(session, make.reload(Chat, chat.id), 5, "좋아요")
    assert _code(chat_service.rate, session, make.reload(Chat, chat.id), 1, "다시") == "error.already_rated"
    chat_service.mark_opened(session, make.reload(Chat, chat.id), agent)  # 평가 needs the chat opened
    chat_service.request_rating(session, make.reload(Chat, chat.id), agent)
    chat_service.rate(session, make.reload(Chat, chat.id), 4)
    assert _code(chat_service.rate, session, make.reload(Chat, chat.id), 1) == "error.already_rated"
    scores = [r.score for r in session.exec(select(Rating).where(Rating.chat_id == chat.id).order_by(Rating.id))]
    assert scores == [5, 4]
