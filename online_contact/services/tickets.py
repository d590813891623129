"""Tickets from chats (티켓 만들기) and from the 1:1 inquiry form (문의하기), and who may see them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from online_contact.models import Agent, Chat, Customer, Ticket
from online_contact.models.agent import ROLE_ADMIN
from online_contact.models.ticket import SOURCE_CHAT, SOURCE_INQUIRY

from . import history, privacy
from . import limits
from .customers import clean_contact, customer_for_visitor
from .errors import NotAllowed, ServiceError
from .text import LIMITS, clean

MAX_SUBJECT = LIMITS["subject"]
MAX_BODY = LIMITS["body"]


def _clean_subject_body(subject: str, body: str, body_required: bool) -> tuple[str, str]:
    subject = clean(subject if isinstance(subject, str) else "").strip()
    body = clean(body if isinstance(body, str) else "").strip()
    if not subject:
        raise ServiceError("error.subject_required")
    if len(subject) > MAX_SUBJECT:
        raise ServiceError("error.subject_too_long", max=MAX_SUBJECT)
    if body_required and not body:
        raise ServiceError("error.body_required")
    if len(body) > MAX_BODY:
        raise ServiceError("error.body_too_long", max=MAX_BODY)
    return privacy.mask_text(subject)[:MAX_SUBJECT], privacy.mask_text(body)[:MAX_BODY]


def visible_to(agent: Agent):
    """The tickets `agent` may see, as a WHERE clause (the ticket list, and every other read of a
    ticket): an admin every ticket; an agent the 1:1 문의 queue (inquiries belong to no chat: the
    team answers them) and the tickets of the chats they may see in 채팅 기록 (history.visible_to:
    the chats they handled). Another agent's chat ticket names that chat's customer: not theirs."""
    if agent.role == ROLE_ADMIN:
        return sa.true()
    return sa.or_(
        Ticket.source == SOURCE_INQUIRY,
        sa.exists().where(Chat.id == Ticket.chat_id, history.visible_to(agent)),
    )


def inquirer(session: Session, visitor_key: str, email: str) -> int | None:
    """The customer an inquiry belongs to, so that 고객 정보 삭제 finds it (privacy.erase_customer):
    the customer of the browser it came from (its visitor key, once that browser has chatted),
    else the one customer who gave the same email. None when no customer, or several, gave it
    (the email alone cannot say whose it is; the erasure of any of them still takes the inquiry,
    by its email)."""
    customer = customer_for_visitor(session, visitor_key) if visitor_key else None
    if customer is not None and customer.erased_at is None:
        return customer.id
    if not email:
        return None
    ids = session.exec(select(Customer.id).where(Customer.email == email, Customer.erased_at.is_(None)).limit(2)).all()
    return ids[0] if len(ids) == 1 else None


def create_from_inquiry(
    session: Session, name: str, email: str, subject: str, body: str, ip: str = "", visitor_key: str = "",
) -> Ticket:
    """A ticket from the 1:1 inquiry form. Name and email are required to answer. A valid
    inquiry counts against its IP's limit (OC_LIMIT_INQUIRIES_PER_IP) before it is stored. It is
    linked to its customer (`inquirer`: the browser's `visitor_key`, else the email). Commits."""
    name, email = clean_contact(name, email)
    if not name:
        raise ServiceError("error.name_required")
    if not email:
        raise ServiceError("error.email_required")
    subject, body = _clean_subject_body(subject, body, body_required=True)
    allowed = limits.hit(limits.INQUIRIES_PER_IP, ip, bind=session.get_bind())
    if not allowed.allowed:
        raise ServiceError("error.too_many_inquiries", minutes=max(1, -(-allowed.retry_after // 60)))
    ticket = Ticket(
        source=SOURCE_INQUIRY, subject=subject, body=body, requester_name=name, requester_email=email,
        customer_id=inquirer(session, visitor_key, email),
    )
    session.add(ticket)
    session.commit()
    session.refresh(ticket)
    return ticket


def create_from_chat(session: Session, chat: Chat, agent: Agent, subject: str, body: str) -> Ticket:
    """A ticket linked to the chat and its customer. Commits."""
    if chat.agent_id != agent.id and agent.role != "admin":
        raise NotAllowed()
    subject, body = _clean_subject_body(subject, body, body_required=False)
    ticket = Ticket(
        source=SOURCE_CHAT,
        subject=subject,
        body=body,
        customer_id=chat.customer_id,
        chat_id=chat.id,
        requester_name=chat.customer_name,
        requester_email=chat.customer_email,
        created_by_agent_id=agent.id,
    )
    session.add(ticket)
    session.commit()
    session.refresh(ticket)
    return ticket


def recent_tickets(session: Session, agent: Agent, limit: int = 200) -> list[Ticket]:
    """The newest tickets `agent` may see (`visible_to`), newest first."""
    return list(session.exec(select(Ticket).where(visible_to(agent)).order_by(Ticket.id.desc()).limit(limit)))
