"""Tickets from chats (티켓 만들기) and from the 1:1 inquiry form (문의하기)."""

from __future__ import annotations

from sqlmodel import Session, select

from online_contact.models import Agent, Chat, Ticket
from online_contact.models.ticket import SOURCE_CHAT, SOURCE_INQUIRY

from . import privacy
from . import limits
from .customers import clean_contact
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


def create_from_inquiry(session: Session, name: str, email: str, subject: str, body: str, ip: str = "") -> Ticket:
    """A ticket from the 1:1 inquiry form. Name and email are required to answer. A valid
    inquiry counts against its IP's limit (OC_LIMIT_INQUIRIES_PER_IP) before it is stored. Commits."""
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
        source=SOURCE_INQUIRY, subject=subject, body=body, requester_name=name, requester_email=email
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


def recent_tickets(session: Session, limit: int = 200) -> list[Ticket]:
    """Newest tickets first."""
    return list(session.exec(select(Ticket).order_by(Ticket.id.desc()).limit(limit)))
