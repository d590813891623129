"""services.tickets and services.customers."""

from __future__ import annotations

import pytest

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
    assert [t.id for t in ticket_service.recent_tickets(session)] == [ticket.id]


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
    assert [t.id for t in ticket_service.recent_tickets(session)] == [t3.id, t2.id, t1.id]
    assert [t.id for t in ticket_service.recent_tickets(session, limit=2)] == [t3.id, t2.id]


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
