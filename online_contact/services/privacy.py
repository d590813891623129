"""개인정보 보호 (issue 15), the rules defined once: which personal numbers are masked (설정 ›
개인정보), masking a message by hand (마스킹), and 고객 정보 삭제. Retention is in retention.py.

The message path asks `masking_kinds()` on every message, so the switches are read from the
database at most every CACHE_SECONDS per process, and at once after a save: in the process that
saved them, and in every other worker as soon as the relay brings it the word
(realtime.wire.WireNamespace.settings_changed). No query per message."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from online_contact.config import database_url
from online_contact.models import Agent, Chat, ConsentRecord, Customer, Message, Rating, Ticket
from online_contact.models._base import utcnow
from online_contact.models.agent import ROLE_ADMIN
from online_contact.models.chat import AUTHOR_SYSTEM, CHAT_ENDED
from online_contact.models.ticket import SOURCE_INQUIRY

from . import audit, masking, routing, search_upkeep
from .errors import FormErrors, NotAllowed, ServiceError

logger = logging.getLogger(__name__)

MASK = "privacy.mask"
ERASE = "privacy.erase"
RETENTION = "privacy.retention"
VIEWED = "access.chat"  # a chat's transcript and customer information opened in 채팅 기록

# 설정 › 개인정보: a switch per kind of number, and the months each kind of record is kept.
MASK_FIELDS = {
    masking.RRN: "mask_rrn",
    masking.CARD: "mask_card",
    masking.PHONE: "mask_phone",
    masking.ACCOUNT: "mask_account",
    masking.PASSPORT: "mask_passport",
}
# (least, most) months. The audit log holds the access records that 개인정보의 안전성 확보조치
# 기준 (제8조) asks to keep for at least a year (two for large or sensitive processing).
KEEP_LIMITS = {
    "keep_chats_months": (1, 120),
    "keep_consents_months": (1, 120),
    "keep_inquiries_months": (1, 120),
    "keep_audit_months": (12, 120),
}
CACHE_SECONDS = 10.0
FAILED_RETRY_SECONDS = 1.0

_cache: dict[str, tuple[tuple[str, ...], float]] = {}  # database URL -> (kinds, valid until)
_cache_lock = threading.Lock()
# Bumped by every forget: a read that began before a save must not be cached after it (it may
# hold the switches as they were, for another CACHE_SECONDS).
_generation = 0


def kinds_of(settings) -> tuple[str, ...]:
    """The kinds of number the settings mask."""
    return tuple(kind for kind, field in MASK_FIELDS.items() if getattr(settings, field))


def masking_kinds() -> tuple[str, ...]:
    """The kinds masked now (see the module docstring). The database away: every kind (and it
    is asked again only after FAILED_RETRY_SECONDS, not on every message)."""
    key = database_url()
    now = time.monotonic()
    cached = _cache.get(key)
    if cached is not None and now < cached[1]:
        return cached[0]
    from .db import engine
    from .settings import get_settings

    generation = _generation
    try:
        with Session(engine(key)) as session:
            kinds, until = kinds_of(get_settings(session)), now + CACHE_SECONDS
            session.commit()
    except Exception:  # noqa: BLE001 - fail closed: mask everything rather than nothing
        kinds, until = masking.KINDS, now + FAILED_RETRY_SECONDS
    with _cache_lock:
        if generation == _generation:
            _cache[key] = (kinds, until)
    return kinds


def forget_cached_kinds() -> None:
    """The switches changed (saved here, or word came from another worker): the next message
    reads them again."""
    global _generation
    with _cache_lock:
        _generation += 1
        _cache.clear()


def mask_text(text: str) -> str:
    """`text` with the personal numbers of the enabled kinds masked (the message path, names,
    memos, tickets)."""
    return masking.mask(text, masking_kinds()).text


def form_of(settings) -> dict[str, str]:
    """설정 › 개인정보 as the form shows it: switches "1"/"0", months as text."""
    values = {field: "1" if getattr(settings, field) else "0" for field in MASK_FIELDS.values()}
    values.update({field: str(getattr(settings, field)) for field in KEEP_LIMITS})
    return values


def _months(value, field: str) -> int:
    least, most = KEEP_LIMITS[field]
    text = value.strip() if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit()) or not least <= int(text) <= most:
        raise ServiceError("error.months_invalid", min=least, max=most)
    return int(text)


def save(session: Session, actor_id: int, form: dict, ip: str = "") -> bool:
    """설정 › 개인정보 › 저장. Every field checked first (FormErrors names each wrong one), then one
    transaction, audited (before → after). Applies to the next message at once here; the caller
    tells the other workers (realtime.wire.WireNamespace.settings_changed), which otherwise read
    the switches again within CACHE_SECONDS. The next retention pass uses the new periods."""
    from .settings import get_settings

    errors: dict[str, ServiceError] = {}
    values: dict[str, bool | int] = {}
    for field in MASK_FIELDS.values():
        if form.get(field) not in ("1", "0"):
            errors[field] = ServiceError("error.value_invalid")
        else:
            values[field] = form[field] == "1"
    for field in KEEP_LIMITS:
        try:
            values[field] = _months(form.get(field), field)
        except ServiceError as exc:
            errors[field] = exc
    if errors:
        raise FormErrors(errors)
    settings = get_settings(session)
    before = {field: getattr(settings, field) for field in values}
    for field, value in values.items():
        setattr(settings, field, value)
    session.add(settings)
    session.commit()
    forget_cached_kinds()
    return audit.record_change(session, audit.SETTINGS_CHANGED, actor_id=actor_id, target_type="privacy",
                               target_id=settings.id, before=before, after=values, ip=ip)


# ---- 마스킹 by hand ---------------------------------------------------------------------------------
def hide(text: str, start: int | None = None, end: int | None = None) -> str:
    """`text` with the characters from `start` to `end` (the whole text without them) starred,
    spaces and line breaks kept (so the rest still reads as it did)."""
    if start is None or end is None:
        start, end = 0, len(text)
    return text[:start] + "".join(ch if ch.isspace() else "*" for ch in text[start:end]) + text[end:]


def _range(text: str, start, end) -> tuple[int | None, int | None]:
    """The part chosen (character offsets), or (None, None) for the whole message."""
    if start is None and end is None:
        return None, None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)) or not 0 <= start < end <= len(text):
        raise ServiceError("error.mask_range")
    return start, end


@dataclass(frozen=True)
class MaskedMessage:
    chat_id: int
    seq: int
    text: str  # as stored now
    agent_id: int | None  # the chat's agent (whose desk shows its preview)
    changed: bool


def _message(session: Session, agent: Agent, chat_id, seq) -> tuple[Chat, Message]:
    from .history import chat_for

    chat = chat_for(session, agent, chat_id)  # who may see it may mask it: an admin any chat
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ServiceError("error.message_not_found")
    message = session.exec(select(Message).where(Message.chat_id == chat.id, Message.seq == seq)).first()
    if message is None or not message.text:
        raise ServiceError("error.message_not_found")
    if message.author == AUTHOR_SYSTEM:
        raise ServiceError("error.mask_system")
    return chat, message


def preview(session: Session, agent: Agent, chat_id, seq, start=None, end=None) -> str:
    """What the message will read once masked (the confirmation shows it; nothing changes)."""
    _chat, message = _message(session, agent, chat_id, seq)
    return hide(message.text, *_range(message.text, start, end))


def mask_message(session: Session, agent: Agent, chat_id, seq, start=None, end=None, ip: str = "") -> MaskedMessage:
    """마스킹: the chosen part of a message (or all of it) starred in the database and the index,
    in one transaction, audited with who, when and which message (never the removed text).
    The caller then shows it on every screen (realtime.publish.publish_masked). Commits."""
    chat, message = _message(session, agent, chat_id, seq)
    old = message.text
    new = hide(old, *_range(old, start, end))
    if new == old:
        return MaskedMessage(chat.id, message.seq, old, chat.agent_id, False)
    conn = session.connection()
    conn.execute(sa.update(Message).where(Message.id == message.id).values(text=new))
    search_upkeep.message_changed(conn, chat.id, message.id, message.seq, old, new)
    session.commit()
    withdraw_exports()
    audit.record(session, MASK, actor_id=agent.id, target_type="chat", target_id=chat.id, ip=ip,
                 detail=json.dumps({"seq": message.seq, "whole": start is None, "characters": sum(a != b for a, b in zip(old, new))}))
    return MaskedMessage(chat.id, message.seq, new, chat.agent_id, True)


def withdraw_exports() -> None:
    """Text was masked or erased: the 채팅 기록 exports made before it are withdrawn (their files
    deleted, services.export.withdraw_history_exports), so it is not left in a file to download."""
    from . import export

    try:
        export.withdraw_history_exports()
    except (OSError, RuntimeError):
        logger.exception("the exports made before a masking or an erasure could not be withdrawn")


# ---- 고객 정보 삭제 -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Erased:
    customer_id: int
    chats: int
    messages: int
    tickets: int
    chat_ids: tuple[int, ...]


CHAT_PERSONAL = {"customer_name": "", "customer_email": "", "ip": "", "user_agent": "", "device": "", "memo": ""}
TICKET_PERSONAL = {"subject": "", "body": "", "requester_name": "", "requester_email": ""}


def erase_customer(session: Session, admin: Agent, customer_id, reason, ip: str = "") -> Erased:
    """고객 정보 삭제, on the customer's request: their name, email, memo, the IP and device of
    their chats and consents, and every message text of their chats (replaced by nothing; the
    screens say 삭제된 메시지) go, in one transaction; the chats, their times, statuses and
    scores stay, so 통계 counts what it counted. The customer's browser key stops matching.

    Their tickets go too (subject, body, requester): those of their chats, their 1:1 inquiries
    (linked to them: tickets.inquirer), and every inquiry sent under an email they gave (on
    their chats or linked inquiries), from whatever browser. An email is not proof of who wrote,
    but an inquiry under it holds that address and what was asked with it: personal data of the
    person asking to be erased, which is kept nowhere else; erasing a namesake's inquiry too is
    the smaller harm than keeping theirs. (Chats of another browser under the same email are
    another customer: erased from one of their own chats.)

    The audit log keeps no trace of them and no entry about someone else changes
    (audit.forget_person: an export whose 고객 / 검색어 named them by a full name or email
    blanked there, their names starred in the reasons of that export and of the entries about
    them, their chats and tickets); its entries stay. Admins only; a reason is required; audited
    (counts, never content). Commits."""
    from .text import clean

    if admin.role != ROLE_ADMIN:
        raise NotAllowed()
    reason = clean(reason if isinstance(reason, str) else "").strip()
    if not reason:
        raise ServiceError("error.reason_required")
    if len(reason) > 500:
        raise ServiceError("error.reason_too_long", max=500)
    customer = (session.get(Customer, customer_id, populate_existing=True)  # as stored now, not as last read
                if isinstance(customer_id, int) and not isinstance(customer_id, bool) else None)
    if customer is None:
        raise ServiceError("error.customer_not_found")
    if customer.erased_at is not None:
        # Once only: SQLite's index would be asked to drop rows it no longer holds.
        raise ServiceError("error.already_erased")
    chat_ids = list(session.exec(select(Chat.id).where(Chat.customer_id == customer.id).order_by(Chat.id)))
    # Not while a chat goes on, nor while an agent still finishes one the customer left.
    going_on = sa.or_(Chat.status != CHAT_ENDED, routing.ON_AN_AGENTS_SCREEN)
    if session.exec(select(Chat.id).where(Chat.customer_id == customer.id, going_on)).first():
        raise ServiceError("error.erase_open_chat")
    now = utcnow()
    conn = session.connection()
    # The customer first (a write: SQLite's lock is taken before the index catches up), and only
    # once: an erasure by another admin at the same moment finds it done.
    if conn.execute(sa.update(Customer).where(Customer.id == customer.id, Customer.erased_at.is_(None))
                    .values(name="", email="", memo="", visitor_key=None, erased_at=now)).rowcount != 1:
        session.rollback()
        raise ServiceError("error.already_erased")
    # Every full name and email they went by (their record, chats and linked inquiries), read
    # before they are blanked: what finds their inquiries and what the audit log typed of them.
    names, emails = {customer.name}, {customer.email}
    if chat_ids:
        for name, email in session.exec(select(Chat.customer_name, Chat.customer_email).where(Chat.id.in_(chat_ids)).distinct()):
            names.add(name)
            emails.add(email)
    for name, email in session.exec(select(Ticket.requester_name, Ticket.requester_email)
                                    .where(sa.or_(Ticket.customer_id == customer.id, Ticket.chat_id.in_(chat_ids or [0])))):
        names.add(name)
        emails.add(email)
    names.discard("")
    emails.discard("")
    messages = 0
    if chat_ids:
        conn.execute(sa.update(Chat).where(Chat.id.in_(chat_ids)).values(**CHAT_PERSONAL))
        search_upkeep.forget_chats(conn, chat_ids)
        messages = conn.execute(sa.update(Message).where(Message.chat_id.in_(chat_ids), Message.author != AUTHOR_SYSTEM)
                                .values(text="")).rowcount
        conn.execute(sa.update(Rating).where(Rating.chat_id.in_(chat_ids)).values(comment=""))
    theirs = [Ticket.customer_id == customer.id, Ticket.chat_id.in_(chat_ids or [0])]
    if emails:
        theirs.append(sa.and_(Ticket.source == SOURCE_INQUIRY, Ticket.requester_email.in_(sorted(emails))))
    ticket_ids = list(session.exec(select(Ticket.id).where(sa.or_(*theirs))))
    tickets = conn.execute(sa.update(Ticket).where(sa.or_(*theirs)).values(**TICKET_PERSONAL, erased_at=now)).rowcount
    conn.execute(sa.update(ConsentRecord).where(ConsentRecord.customer_id == customer.id).values(ip=""))
    audit.forget_person(conn, names, emails, customer_id=customer.id, chat_ids=chat_ids, ticket_ids=ticket_ids)
    session.commit()
    withdraw_exports()
    erased = Erased(customer.id, len(chat_ids), messages, tickets, tuple(chat_ids))
    audit.record(session, ERASE, actor_id=admin.id, target_type="customer", target_id=customer.id, ip=ip,
                 reason=audit.forget_in(reason, names, emails),
                 detail=json.dumps({"chats": erased.chats, "messages": messages, "tickets": tickets}))
    return erased


def record_view(bind, agent_id: int, chat_id: int, ip: str = "") -> None:
    """채팅 기록: a chat's transcript and customer information were opened (접속기록)."""
    audit.record(bind, VIEWED, actor_id=agent_id, target_type="chat", target_id=chat_id, ip=ip)
