"""The life of a chat: start, opening, info, rating, ending, 처리/미처리 status. Its messages (the
message path and the transcript's reads) are services/messages.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, select

from online_contact.models import Agent, Category, Chat, ConsentRecord, Customer, Rating
from online_contact.models._base import utcnow
from online_contact.models.chat import (
    AUTHOR_SYSTEM,
    CHANNEL_HELP_CENTER,
    CHAT_ENDED,
    CHAT_OPEN,
    CHAT_WAITING,
)

from . import categories as category_service
from . import embed
from . import privacy, routing, settings as settings_service
from .customers import clean_contact, customer_for_visitor, record_consent
from .devices import describe_device
from .errors import NotAllowed, ServiceError
from . import limits
from .messages import StoredMessage, append
from .text import LIMITS, clean

PROCESSED = "processed"  # 처리
UNPROCESSED = "unprocessed"  # 미처리 (statistics: 포기 / abandoned)

DEFAULT_SATISFACTION_GUIDE = {
    "ko": "상담은 만족스러우셨나요? 평가를 남겨 주세요.",
    "en": "Were you satisfied with this chat? Please leave a rating.",
}


def processing_status(chat: Chat) -> str:
    """처리 when an agent opened the chat and replied; otherwise 미처리."""
    if chat.agent_opened_at is not None and chat.first_agent_reply_at is not None:
        return PROCESSED
    return UNPROCESSED


def start_chat(
    session: Session,
    customer: Customer,
    consent: ConsentRecord,
    *,
    name: str = "",
    email: str = "",
    channel: str = "",
    ip: str = "",
    user_agent: str = "",
    language: str = "ko",
) -> Chat:
    """Create a chat (queued), post the greeting, and try to assign it. `channel`: the embedding
    page, kept as origin + path (embed.page_channel), else the help center. Commits."""
    if consent is None or consent.customer_id != customer.id:
        raise ServiceError("consent.required")
    name, email = clean_contact(name, email)
    if name:
        customer.name = name
    if email:
        customer.email = email
    session.add(customer)
    chat = Chat(
        customer_id=customer.id,
        status=CHAT_WAITING,
        language=language if language in ("ko", "en") else "ko",
        # An embedding page as origin + path (its query may hold the visitor's email or tokens).
        channel=embed.page_channel(channel) or CHANNEL_HELP_CENTER,
        ip=clean(ip)[:64],
        user_agent=clean(user_agent)[:1000],
        device=clean(describe_device(user_agent)),
        customer_name=customer.name,
        customer_email=customer.email,
        memo=customer.memo,
        consent_id=consent.id,
    )
    session.add(chat)
    session.flush()
    settings = settings_service.get_settings(session)
    texts = settings_service.texts(session, settings, chat.language)
    if texts and texts.greeting:
        append(session, chat.id, AUTHOR_SYSTEM, texts.greeting, f"greeting-{chat.id}")
    session.commit()
    routing.assign_chat(session, chat.id, settings)
    session.refresh(chat)
    return chat


RESUME_AFTER_AGENT_END = timedelta(minutes=30)


def open_chat_of_customer(session: Session, customer: Customer) -> Chat | None:
    """The customer's chat to resume after a reload: not ended by the customer, and not ended by
    the agent more than 30 minutes ago (so the customer still sees the closing lines); or one
    that left the queue by 대기 시간 제한 less than 30 minutes ago (so the customer still sees why,
    and the 1:1 문의 it offers). Only one still going on is resumed by 상담 시작 (begin_chat)."""
    recently = utcnow() - RESUME_AFTER_AGENT_END
    return session.exec(
        select(Chat)
        .where(
            Chat.customer_id == customer.id,
            or_(Chat.customer_ended_at.is_(None), Chat.queue_timeout_at > recently),
            or_(Chat.agent_ended_at.is_(None), Chat.agent_ended_at > recently),
        )
        .order_by(Chat.created_at.desc(), Chat.id.desc())
        .limit(1)
    ).first()


def chats_of_agent(session: Session, agent_id: int) -> list[Chat]:
    """The agent's chats on the chat screen: assigned and not yet ended by the agent (also one
    the customer left: routing.ON_AN_AGENTS_SCREEN)."""
    return list(
        session.exec(
            select(Chat)
            .where(Chat.agent_id == agent_id, routing.ON_AN_AGENTS_SCREEN)
            .order_by(Chat.assigned_at, Chat.id)
        )
    )


def chat_for_agent(session: Session, chat_id: int, agent: Agent) -> Chat:
    """The chat if this agent may work on it, else NotAllowed."""
    chat = session.get(Chat, chat_id)
    if chat is None or chat.agent_id != agent.id:
        raise NotAllowed()
    return chat


def _still_theirs(agent: Agent) -> tuple:
    """The condition every agent's write to a chat carries: the chat is still theirs at the
    moment of the write (it may have been handed back and reassigned since it was read)."""
    return (Chat.agent_id == agent.id,)


# Ending and rating need a chat its agent opened: an agent who never opened a chat has not
# talked with that customer, and 통계 counts a chat nobody opened as 미처리 / 포기.
NOT_OPENED = "error.chat_not_opened"


def _opened() -> tuple:
    """The condition of a write that needs the chat opened (in the WHERE: race-safe)."""
    return (Chat.agent_opened_at.is_not(None),)


def _write(session: Session, chat: Chat, conditions: tuple, **values) -> None:
    """A conditional UPDATE of `chat`: NotAllowed when it no longer matches (taken meanwhile)."""
    if session.exec(update(Chat).where(Chat.id == chat.id, *conditions).values(**values)).rowcount != 1:
        session.rollback()
        raise NotAllowed()


def mark_opened(session: Session, chat: Chat, agent: Agent) -> None:
    """Record the first time the assigned agent opened the chat. A chat handed back to the queue
    (or to another agent) between the read and this write is not theirs to open. Commits."""
    if chat.agent_id != agent.id:
        raise NotAllowed()
    if chat.agent_opened_at is None:
        done = session.exec(
            update(Chat)
            .where(Chat.id == chat.id, *_still_theirs(agent), Chat.agent_opened_at.is_(None))
            .values(agent_opened_at=utcnow())
        ).rowcount
        session.commit()
        session.refresh(chat)
        if done != 1 and chat.agent_id != agent.id:
            raise NotAllowed()


def open_for_agent(session: Session, chat_id: int, agent: Agent) -> Chat:
    """The one rule by which an agent's tab shows a chat (clicking it in the chat list, or the
    tab's view restored after a reload): the chat is assigned to this agent and not ended by
    them, and showing it is opening it (mark_opened). NotAllowed / error.chat_ended otherwise.
    Commits."""
    chat = chat_for_agent(session, chat_id, agent)
    if chat.agent_ended_at is not None:
        raise ServiceError("error.chat_ended")
    mark_opened(session, chat, agent)
    return chat


def end_by_customer(session: Session, chat: Chat) -> list[routing.Assignment]:
    """The customer pressed 대화 종료. A chat nobody took is closed at once. A chat with an agent
    stays on their screen until they press 대화 종료 (to finish its information), but it has
    ended (history.ENDED_SQL): its slot under 최대 동시 상담 수 is freed now and the queue drains
    into it. Returns the queued chats that the freed slot assigned. Commits.

    Conditional UPDATEs, not a write of the caller's copy: another worker may have assigned the
    chat meanwhile, and that assignment must stand (the agent still closes it). The slot goes
    back once, by whichever end comes first: each end's UPDATE returns the row as it leaves it,
    under the row's write lock, so the later one sees the earlier one's mark (end_by_agent).
    """
    # One statement: a chat assigned by another worker between two statements would keep a
    # slot that nobody gives back.
    left = session.exec(
        update(Chat)
        .where(Chat.id == chat.id, Chat.customer_ended_at.is_(None))
        .values(customer_ended_at=utcnow(), status=CHAT_ENDED)
        .returning(Chat.agent_id, Chat.agent_ended_at)
    ).all()
    holder = left[0].agent_id if left and left[0].agent_ended_at is None else None
    if holder is not None:
        routing.release_slot(session, holder)
    session.commit()
    session.refresh(chat)
    return routing.drain_queue(session, settings_service.get_settings(session)) if holder is not None else []


def end_by_agent(session: Session, chat: Chat, agent: Agent) -> list[routing.Assignment]:
    """The agent pressed 대화 종료: the chat leaves the chat screen and its slot frees up (unless
    the customer's end gave it back already: end_by_customer).

    Returns the queued chats that the freed slot assigned. Commits.
    """
    if chat.agent_id != agent.id:
        raise NotAllowed()
    if chat.agent_ended_at is not None:
        return []
    if chat.agent_opened_at is None:
        raise NotAllowed(NOT_OPENED)
    ending = (
        update(Chat)
        .where(Chat.id == chat.id, *_still_theirs(agent), *_opened(), Chat.agent_ended_at.is_(None))
        .values(agent_ended_at=utcnow(), status=CHAT_ENDED)
    )
    # Still open, it holds a slot: given back with this end. Else the customer's end (status
    # ended, in the same statement that gave the slot back) came first.
    ended = session.exec(ending.where(Chat.status == CHAT_OPEN)).rowcount
    if ended == 1:
        routing.release_slot(session, agent.id)
    else:
        ended = session.exec(ending).rowcount
    session.commit()
    session.refresh(chat)
    if ended != 1 and chat.agent_id != agent.id:
        raise NotAllowed()  # handed to someone else since it was read
    if ended != 1 and chat.agent_opened_at is None:
        raise NotAllowed(NOT_OPENED)
    return routing.drain_queue(session, settings_service.get_settings(session))


def save_info(
    session: Session,
    chat: Chat,
    agent: Agent,
    *,
    name: str,
    email: str,
    memo: str,
    category_id: int | None,
) -> Chat:
    """Store 고객정보 and 상담정보 of a chat (and the customer's latest name/email/memo). Commits."""
    if chat.agent_id != agent.id and agent.role != "admin":
        raise NotAllowed()
    name, email = clean_contact(name, email)
    memo = clean(memo if isinstance(memo, str) else "").strip()
    if len(memo) > LIMITS["memo"]:
        raise ServiceError("error.memo_too_long", max=LIMITS["memo"])
    memo = privacy.mask_text(memo)[: LIMITS["memo"]]
    if category_id is not None and category_id != chat.category_id:
        # A new choice must be an active category; the one the chat already has stays readable
        # (and saveable) after it was deactivated.
        category = session.get(Category, category_id)
        if category is None or not category_service.selectable(session, category):
            raise ServiceError("error.category_not_found")
    # Admins edit any chat; an agent only one that is still theirs at the moment of the write.
    _write(session, chat, () if agent.role == "admin" else _still_theirs(agent),
           customer_name=name, customer_email=email, memo=memo, category_id=category_id)
    customer = session.get(Customer, chat.customer_id)
    if customer is not None:
        customer.name, customer.email, customer.memo = name, email, memo
        session.add(customer)
    session.commit()
    session.refresh(chat)
    return chat


def request_rating(session: Session, chat: Chat, agent: Agent) -> StoredMessage:
    """The agent pressed 평가: post the satisfaction guide message and flag the request. Commits."""
    if chat.agent_id != agent.id:
        raise NotAllowed()
    if chat.agent_ended_at:
        raise ServiceError("error.chat_ended")
    if chat.agent_opened_at is None:
        raise NotAllowed(NOT_OPENED)
    if chat.customer_ended_at:
        raise ServiceError("error.customer_left")  # nobody is there to be shown the rating form
    settings = settings_service.get_settings(session)
    texts = settings_service.texts(session, settings, chat.language)
    guide = texts.satisfaction_guide if texts and texts.satisfaction_guide else DEFAULT_SATISFACTION_GUIDE.get(
        chat.language, DEFAULT_SATISFACTION_GUIDE["ko"]
    )
    _write(
        session, chat, (*_still_theirs(agent), *_opened(), Chat.agent_ended_at.is_(None), Chat.customer_ended_at.is_(None)),
        rating_requested_at=utcnow(), rating_requested_by=agent.id, rating_requests=Chat.rating_requests + 1,
    )
    message = append(session, chat.id, AUTHOR_SYSTEM, guide, f"rating-request-{uuid.uuid4().hex}")
    session.commit()
    session.refresh(chat)
    return message


def rate(session: Session, chat: Chat, score: int, comment: str = "") -> Rating:
    """Store the customer's rating (1–5, optional comment). Commits."""
    if isinstance(score, str) and score.strip().isascii() and score.strip().isdigit() and len(score.strip()) < 3:
        score = int(score.strip())
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ServiceError("error.rating_score")
    comment = clean(comment if isinstance(comment, str) else "").strip()
    if len(comment) > LIMITS["comment"]:
        raise ServiceError("error.comment_too_long", max=LIMITS["comment"])
    # Once per chat, plus once per 평가 request: counted by a conditional UPDATE, so two
    # submissions at the same moment (two tabs, two workers) cannot both get in.
    counted = session.exec(
        update(Chat)
        .where(Chat.id == chat.id, Chat.ratings_given < Chat.rating_requests + 1)
        .values(ratings_given=Chat.ratings_given + 1, rating_score=score)
    ).rowcount
    if counted != 1:
        session.rollback()
        raise ServiceError("error.already_rated")
    rating = Rating(
        chat_id=chat.id, score=score, comment=comment, requested_by_agent_id=chat.rating_requested_by
    )
    session.add(rating)
    session.commit()
    return rating


def latest_rating(session: Session, chat_id: int) -> Rating | None:
    return session.exec(
        select(Rating).where(Rating.chat_id == chat_id).order_by(Rating.id.desc()).limit(1)
    ).first()


@dataclass(frozen=True)
class Begun:
    """What consent-then-start did: nobody Online (the customer sees 상담원 부재중), the open chat
    resumed (a double click, a second tab), or a new chat (assigned to agent_id, or queued)."""

    unavailable: bool = False
    chat_id: int = 0
    agent_id: int | None = None
    resumed: bool = False


def begin_chat(
    session: Session,
    visitor_key: str,
    *,
    agreed: bool,
    name: str = "",
    email: str = "",
    channel: str = "",
    ip: str = "",
    user_agent: str = "",
    language: str = "ko",
    consent_version: str | None = None,
    consent_language: str | None = None,
) -> Begun:
    """The customer gave 개인정보 수집 동의 and pressed 상담 시작: check that chat is on and someone
    is there, resume the chat already open, or count the new chat against its IP's limit
    (OC_LIMIT_CHATS_PER_IP), record the consent (the version they were shown: by default the
    current one) and start it. ServiceError for bad input, chat switched off or too many chats.
    Commits."""
    if not settings_service.get_settings(session).chat_enabled:
        raise ServiceError("error.chat_disabled")
    if not routing.any_agent_online(session):
        return Begun(unavailable=True)
    name, email = clean_contact(name, email)
    customer = customer_for_visitor(session, visitor_key)
    existing = open_chat_of_customer(session, customer) if customer is not None else None
    if existing is not None and existing.agent_ended_at is None and existing.customer_ended_at is None:
        return Begun(chat_id=existing.id, agent_id=existing.agent_id, resumed=True)
    if not agreed:
        raise ServiceError("consent.required")
    # Counted before this session writes anything (SQLite has one writer at a time).
    allowed = limits.hit(limits.CHATS_PER_IP, ip, bind=session.get_bind())
    if not allowed.allowed:
        raise ServiceError("error.too_many_chats", minutes=max(1, -(-allowed.retry_after // 60)))
    customer = customer or customer_for_visitor(session, visitor_key, create=True)
    if customer is None:
        raise ServiceError("error.no_chat")
    # The version (and language) of the text the customer was shown.
    shown_language = consent_language or language
    version = consent_version or settings_service.current_consent(session, shown_language).version
    consent = record_consent(session, customer, agreed, ip, shown_language, version)
    session.commit()
    chat = start_chat(
        session, customer, consent, name=name, email=email, channel=channel, ip=ip, user_agent=user_agent, language=language
    )
    return Begun(chat_id=chat.id, agent_id=chat.agent_id)


def end_overdue_waiting(session: Session, now=None) -> list[int]:
    """대기 시간 제한 (상담원 할당 설정; 0 = never): the chats queued longer than it leave the queue.

    Such a chat ends as one its customer left while waiting (the customer's chance of an answer
    ended): 미처리 / 대기 중 이탈 by history's definitions, never assigned, and it records why
    (`queue_timeout_at`, which the customer's window shows with the 1:1 문의). Waiting counts from
    the chat's start, as the queue's order does. Conditional UPDATEs: a chat assigned meanwhile
    (routing.try_claim: WHERE agent_id IS NULL) stays assigned. Returns the ids ended. Commits."""
    minutes = settings_service.get_settings(session).queue_timeout_minutes
    if not minutes:
        return []
    now = now or utcnow()
    still_waiting = (Chat.status == CHAT_WAITING, Chat.agent_id.is_(None), Chat.customer_ended_at.is_(None))
    due = session.exec(
        select(Chat.id).where(*still_waiting, Chat.created_at < now - timedelta(minutes=minutes)).order_by(Chat.created_at, Chat.id)
    ).all()
    ended = []
    for chat_id in due:
        done = session.exec(
            update(Chat)
            .where(Chat.id == chat_id, *still_waiting)
            .values(status=CHAT_ENDED, customer_ended_at=now, queue_timeout_at=now)
        ).rowcount
        if done == 1:
            ended.append(chat_id)
    session.commit()
    return ended
