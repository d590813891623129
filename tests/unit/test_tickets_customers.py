"""services.tickets and services.customers."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from online_contact.models import Chat, Customer, Ticket
from online_contact.models.ticket import SOURCE_CHAT, SOURCE_INQUIRY, TICKET_OPEN
from online_contact.services import chats as chat_service
from online_contact.services import customers as customer_service
from online_contact.services import tickets as ticket_service
from online_contact.services.errors import NotAllowed, ServiceError

VALID = {"name": "홍길동", "email": "hong@example.com", "subject": "배송 문의", "body": "언제 오나요?"}


# --------------------------------------------------------------------------------------------
# tickets from the inquiry form
# --------------------------------------------------------------------------------------------


def test_create_from_inquiry_stores_cleaned_ticket(session, make):
    ticket = ticket_service.create_from_inquiry(
        session, " 홍길동 ", " Hong@Example.COM ", "  배송 문의 ", "\n언제 오나요?\n"
    )
    stored = make.reload(Ticket, ticket.id)
    assert stored.source == SOURCE_INQUIRY
    assert stored.status == TICKET_OPEN
    assert (stored.requester_name, stored.requester_email) == ("홍길동", "hong@example.com")
    assert (stored.subject, stored.body) == ("배송 문의", "언제 오나요?")
    assert stored.chat_id is None and stored.created_by_agent_id is None
    assert [t.id for t in ticket_service.recent_tickets(session, make.agent())] == [ticket.id]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"name": ""}, "error.name_required"),
        ({"name": "   "}, "error.name_required"),
        ({"name": "n" * 101}, "error.name_too_long"),
        ({"email": ""}, "error.email_required"),
        ({"email": "hong.example.com"}, "error.email_invalid"),
        ({"email": "hong@example"}, "error.email_invalid"),
        ({"email": "ho ng@example.com"}, "error.email_invalid"),
        ({"subject": ""}, "error.subject_required"),
        ({"subject": "  \n "}, "error.subject_required"),
        ({"subject": "s" * 201}, "error.subject_too_long"),
        ({"body": ""}, "error.body_required"),
        ({"body": "   "}, "error.body_required"),
        ({"body": "b" * 10001}, "error.body_too_long"),
    ],
)
def test_create_from_inquiry_validation_stores_nothing(session, make, change, code):
    args = VALID | change
    with pytest.raises(ServiceError) as err:
        ticket_service.create_from_inquiry(session, **args)
    assert err.value.code == code
    session.rollback()
    assert make.count(Ticket) == 0


# --------------------------------------------------------------------------------------------
# tickets from a chat
# --------------------------------------------------------------------------------------------


@pytest.fixture
def agent(make):
    make.offline_demo_agents()
    return make.agent("assigned")


@pytest.fixture
def chat(make, agent) -> Chat:
    chat = make.start(name="김고객", email="customer@example.com")
    assert chat.agent_id == agent.id
    return chat


def test_create_from_chat_links_chat_and_customer(session, make, chat, agent):
    ticket = ticket_service.create_from_chat(session, chat, agent, " 환불 요청 ", "")
    stored = make.reload(Ticket, ticket.id)
    assert stored.source == SOURCE_CHAT
    assert (stored.chat_id, stored.customer_id) == (chat.id, chat.customer_id)
    assert stored.created_by_agent_id == agent.id
    assert (stored.requester_name, stored.requester_email) == ("김고객", "customer@example.com")
    assert (stored.subject, stored.body) == ("환불 요청", "")


def test_create_from_chat_refuses_another_agent(session, make, chat):
    intruder = make.agent("intruder")
    with pytest.raises(NotAllowed):
        ticket_service.create_from_chat(session, chat, intruder, "subject", "body")
    session.rollback()
    assert make.count(Ticket) == 0


def test_create_from_chat_allowed_for_admin(session, make, chat):
    admin = make.demo_agent("admin@example.com")
    ticket = ticket_service.create_from_chat(session, chat, admin, "subject", "body")
    assert make.reload(Ticket, ticket.id).created_by_agent_id == admin.id


def test_create_from_chat_requires_subject(session, make, chat, agent):
    with pytest.raises(ServiceError) as err:
        ticket_service.create_from_chat(session, chat, agent, "  ", "body")
    assert err.value.code == "error.subject_required"
    session.rollback()
    assert make.count(Ticket) == 0


def test_recent_tickets_newest_first(session, make, chat, agent):
    t1 = ticket_service.create_from_inquiry(session, **VALID)
    t2 = ticket_service.create_from_chat(session, chat, agent, "second", "")
    t3 = ticket_service.create_from_inquiry(session, **VALID)
    assert [t.id for t in ticket_service.recent_tickets(session, agent)] == [t3.id, t2.id, t1.id]
    assert [t.id for t in ticket_service.recent_tickets(session, agent, limit=2)] == [t3.id, t2.id]


def _handled_by(make, agent, name: str) -> Chat:
    """A chat of a customer called `name`, assigned to `agent`."""
    chat = make.waiting_chat()
    chat.agent_id, chat.status, chat.customer_name, chat.customer_email = agent.id, "open", name, f"{name}@example.com"
    make.session.add(chat)
    make.session.commit()
    return chat


def test_an_agent_sees_the_inquiries_and_the_tickets_of_their_own_chats_and_an_admin_every_ticket(session, make, agent):
    """Another agent's chat ticket names that chat's customer: it is not on an agent's list. The
    rule is 채팅 기록's (history.visible_to): a chat handed on takes its tickets with it."""
    other = make.agent("other")
    admin = make.demo_agent("admin@example.com")
    mine = ticket_service.create_from_chat(session, _handled_by(make, agent, "mine"), agent, "내 티켓", "")
    theirs_chat = _handled_by(make, other, "theirs")
    theirs = ticket_service.create_from_chat(session, theirs_chat, other, "다른 상담원의 티켓", "")
    inquiry = ticket_service.create_from_inquiry(session, **VALID)

    def seen(who) -> list[int]:
        return [t.id for t in ticket_service.recent_tickets(session, who)]

    assert seen(agent) == [inquiry.id, mine.id]
    assert seen(other) == [inquiry.id, theirs.id]
    assert seen(admin) == [inquiry.id, theirs.id, mine.id]
    # The same clause filters any read of tickets.
    assert session.exec(select(Ticket.id).where(Ticket.id == theirs.id, ticket_service.visible_to(agent))).first() is None
    # Handed on: the chat, and its ticket, are the new agent's.
    theirs_chat = make.reload(Chat, theirs_chat.id)
    theirs_chat.agent_id = agent.id
    session.add(theirs_chat)
    session.commit()
    assert seen(agent) == [inquiry.id, theirs.id, mine.id]
    assert seen(other) == [inquiry.id]


def test_the_ticket_list_page_shows_an_agent_only_what_they_may_see(app, db_url):
    """/agent/tickets through Reflex's event pipeline: agent1's list holds the inquiry and the
    ticket of agent1's chat, never agent2's; the admin's holds all three."""
    from online_contact.models import Agent
    from online_contact.services.auth import start_session
    from online_contact.services.db import session_scope
    from online_contact.states.agent_console import TicketListState

    from .conftest import Factory
    from .pipeline import Client, names
    from .pipeline import run as run_pipeline

    tokens, expected = {}, {}
    with session_scope(db_url) as s:
        people = {a.email.split("@")[0]: a for a in s.exec(select(Agent))}
        make = Factory(s)
        one = ticket_service.create_from_chat(s, _handled_by(make, people["agent1"], "one"), people["agent1"], "agent1의 티켓", "")
        two = ticket_service.create_from_chat(s, _handled_by(make, people["agent2"], "two"), people["agent2"], "agent2의 티켓", "")
        inquiry = ticket_service.create_from_inquiry(s, **VALID)
        for who in ("agent1", "agent2", "admin"):
            tokens[who] = start_session(s, people[who])
        expected = {"agent1": [inquiry.id, one.id], "agent2": [inquiry.id, two.id], "admin": [inquiry.id, two.id, one.id]}
    n = names()

    async def scenario():
        for who, token in tokens.items():
            tab = await Client(app, "/agent/tickets", {n.auth: token}).open()
            await tab.fire(f"{TicketListState.get_full_name()}.load_tickets")
            listed = (await tab.state(TicketListState)).tickets
            assert [t["id"] for t in listed] == expected[who], who
            assert ("agent2의 티켓" in {t["subject"] for t in listed}) == (who != "agent1")

    run_pipeline(app, scenario)


# --------------------------------------------------------------------------------------------
# customers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "",
        None,
        "short-key",  # under 16 characters
        "a" * 65,  # over 64
        "has spaces in the key 1234",
        "../../etc/passwd-abcdefgh",
        "quote'; drop table customer;--",
        "한글키한글키한글키한글키한글키한글키",
    ],
    ids=["empty", "none", "short", "long", "spaces", "path", "sql", "hangul"],
)
def test_customer_for_visitor_rejects_malformed_keys(session, make, key):
    assert customer_service.customer_for_visitor(session, key, create=True) is None
    session.commit()
    assert make.count(Customer) == 0


def test_customer_for_visitor_creates_on_demand_only(session, make):
    key = "0123456789abcdef-ABCDEF"
    assert customer_service.customer_for_visitor(session, key) is None
    session.commit()
    assert make.count(Customer) == 0

    created = customer_service.customer_for_visitor(session, key, create=True)
    session.commit()
    assert created.id is not None and created.visitor_key == key
    again = customer_service.customer_for_visitor(session, key, create=True)
    assert again.id == created.id
    assert customer_service.customer_for_visitor(session, key).id == created.id
    session.commit()
    assert make.count(Customer) == 1


@pytest.mark.parametrize("key", ["a" * 16, "Z" * 64, "0f8fad5b-d9cb-469f-a165-70867728950e"])
def test_customer_for_visitor_accepts_boundary_and_uuid_keys(session, key):
    assert customer_service.customer_for_visitor(session, key, create=True).visitor_key == key


def test_clean_contact():
    assert customer_service.clean_contact("  이름 ", " A@B.Co ") == ("이름", "a@b.co")
    assert customer_service.clean_contact("", "") == ("", "")
    assert customer_service.clean_contact(None, None) == ("", "")
    with pytest.raises(ServiceError) as err:
        customer_service.clean_contact("x", "a@" + "b" * 250 + ".com")
    assert err.value.code == "error.email_invalid"


def test_ticket_customer_is_the_chat_customer_after_resume(session, make, chat, agent):
    customer = make.reload(Customer, chat.customer_id)
    assert chat_service.open_chat_of_customer(session, customer).id == chat.id
    ticket = ticket_service.create_from_chat(session, chat, agent, "s", "")
    assert ticket.customer_id == customer.id


# --------------------------------------------------------------------------------------------
# an inquiry's customer (so that 고객 정보 삭제 finds it)
# --------------------------------------------------------------------------------------------


def _chatted(make, email: str) -> Customer:
    """A customer who started a chat from their browser and gave `email`."""
    chat = make.start(name="김고객", email=email)
    return make.reload(Customer, chat.customer_id)


def test_an_inquiry_is_linked_to_the_customer_of_its_browser_else_of_its_email(session, make):
    kim = _chatted(make, "kim@example.com")
    lee = _chatted(make, "lee@example.com")

    def linked(email: str, visitor_key: str = "") -> int | None:
        ticket = ticket_service.create_from_inquiry(session, "김", email, "문의", "내용", visitor_key=visitor_key)
        return make.reload(Ticket, ticket.id).customer_id

    # The browser's key wins over the email typed (the same person, another address).
    assert linked("kim.work@example.com", kim.visitor_key) == kim.id
    assert linked("lee@example.com", kim.visitor_key) == kim.id
    # No key (or one no customer has, or a malformed one): the one customer with that email.
    assert linked("KIM@example.com") == kim.id
    assert linked("lee@example.com", "f" * 32) == lee.id
    assert linked("lee@example.com", "../not a key") == lee.id
    # Nobody, or several customers, gave the email: linked to nobody (the email still finds it).
    assert linked("nobody@example.com") is None
    _chatted(make, "lee@example.com")
    assert linked("lee@example.com") is None
    assert linked("lee@example.com", lee.visitor_key) == lee.id


def test_the_inquiry_form_links_the_browsers_customer_in_the_help_center_and_in_a_sites_launcher(app, db_url):
    """InquiryState through Reflex's event pipeline: the visitor key is read as the chat reads
    it — the browser's own (validated) on the help center, the one the site handed over inside
    its launcher (never the frame's own storage there)."""
    from online_contact.services.db import session_scope
    from online_contact.states.customer_chat import CustomerChatState
    from online_contact.states.inquiry import InquiryState

    from .pipeline import Client, customer_starts_chat, names, only_agent1_online
    from .pipeline import run as run_pipeline

    only_agent1_online(db_url)
    n = names()
    form = {"name": "김고객", "email": "typed-elsewhere@example.com", "subject": "환불", "body": "언제 되나요?"}

    async def inquire(tab: Client) -> int | None:
        await tab.fire(f"{n.inquiry}.load_inquiry")
        await tab.fire(f"{n.inquiry}.submit", form_data=form)
        ticket_id = (await tab.state(InquiryState)).ticket_id
        assert ticket_id
        with session_scope(db_url) as s:
            return s.get(Ticket, ticket_id).customer_id

    async def scenario():
        key, site_key = uuid.uuid4().hex, uuid.uuid4().hex
        _tab, chat = await customer_starts_chat(app, db_url, "김고객", visitor=key)
        _tab, site_chat = await customer_starts_chat(app, db_url, "김고객", visitor=site_key)
        # The help center's 문의하기 (this browser's key in its storage).
        assert await inquire(await Client(app, "/inquiry", {n.visitor: key}).open()) == chat.customer_id
        assert await inquire(await Client(app, "/inquiry", {n.visitor: "not a key"}).open()) is None
        # A site's launcher: the 상담원 부재중 popup's 문의하기 in the same frame.
        frame = await Client(app, "/widget", {n.visitor: key}).open()
        frame.query = {"embed": "1", "page": "https://shop.example.com/p/1"}
        await frame.fire(f"{n.customer}.load_widget")
        assert (await frame.state(CustomerChatState)).hosted
        frame.path = "/inquiry"
        assert await inquire(frame) is None  # the frame's own key is not the site's customer
        frame.path = "/widget"
        await frame.fire(f"{n.customer}.host_page", kind="init", visitor=site_key)
        frame.path = "/inquiry"
        assert await inquire(frame) == site_chat.customer_id

    run_pipeline(app, scenario)
