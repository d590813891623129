"""The life of a chat: start, messages, opening, info, rating, ending, 처리/미처리 status."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, cast, func, insert, null, or_, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Session, select

from online_contact.config import MAX_MESSAGE_LENGTH, MESSAGE_WINDOW, local_time
from online_contact.models import Agent, AuthSession, Category, Chat, ConsentRecord, Customer, Message, Rating
from online_contact.models._base import utcnow
from online_contact.models.chat import (
    AUTHOR_AGENT,
    AUTHOR_CUSTOMER,
    AUTHOR_SYSTEM,
    CHAT_ENDED,
    CHAT_OPEN,
    CHAT_WAITING,
)

from . import categories as category_service
from . import privacy, routing, search, settings as settings_service
from .auth import MAX_TOKEN_LENGTH, hash_token, live_login
from .customers import clean_contact, customer_for_visitor, record_consent
from .devices import describe_device
from .errors import NotAllowed, ServiceError
from . import limits
from .limits import messages_per_second
from .text import LIMITS, clean

PROCESSED = "processed"  # 처리
UNPROCESSED = "unprocessed"  # 미처리 (statistics: 포기 / abandoned)

MAX_CHANNEL = 2000
DEFAULT_SATISFACTION_GUIDE = {
    "ko": "상담은 만족스러우셨나요? 평가를 남겨 주세요.",
    "en": "Were you satisfied with this chat? Please leave a rating.",
}


@dataclass(frozen=True)
class MessageView:
    """What a screen needs of a message (no database object leaves the service)."""

    seq: int
    author: str
    text: str
    time: str
    client_msg_id: str

    def as_dict(self) -> dict:
        return {
            "seq": self.seq,
            "author": self.author,
            "text": self.text,
            "time": self.time,
            "client_msg_id": self.client_msg_id,
        }


@dataclass(frozen=True)
class StoredMessage:
    """A message as just inserted by the message path (no ORM object is built for it)."""

    id: int
    chat_id: int
    seq: int
    author: str
    agent_id: int | None
    text: str
    client_msg_id: str
    created_at: datetime


def view(message: Message | StoredMessage | Row) -> MessageView:
    return MessageView(
        seq=message.seq,
        author=message.author,
        text=message.text,
        time=local_time(message.created_at),
        client_msg_id=message.client_msg_id,
    )


def processing_status(chat: Chat) -> str:
    """처리 when an agent opened the chat and replied; otherwise 미처리."""
    if chat.agent_opened_at is not None and chat.first_agent_reply_at is not None:
        return PROCESSED
    return UNPROCESSED


def validate_text(text: str) -> str:
    """The message text to store (without unsafe control characters), or ServiceError for
    empty / over-long text."""
    cleaned = clean(text if isinstance(text, str) else "").strip()
    if not cleaned:
        raise ServiceError("error.message_empty")
    if len(cleaned) > MAX_MESSAGE_LENGTH:
        raise ServiceError("error.message_too_long", max=MAX_MESSAGE_LENGTH, length=len(cleaned))
    # Personal numbers never get further than here: not stored, indexed, sent or logged.
    return privacy.mask_text(cleaned)


# The message path runs on every message of every chat. It executes Core statements built once
# (below) on the session's connection, in the session's transaction: an ORM unit of work costs
# ~3x as much, and building a statement per call ~3x as much again as binding parameters.
_CHAT = Chat.__table__
_MESSAGE = Message.__table__
_CUSTOMER = Customer.__table__
_AGENT = Agent.__table__
_AUTH = AuthSession.__table__
# What posting needs to know about a chat (a Chat, or a row of these columns).
_GATE_COLUMNS = (
    _CHAT.c.id,
    _CHAT.c.customer_id,
    _CHAT.c.agent_id,
    _CHAT.c.agent_opened_at,
    _CHAT.c.customer_ended_at,
    _CHAT.c.agent_ended_at,
    _CHAT.c.first_agent_reply_at,
)
_VIEW_COLUMNS = (_MESSAGE.c.seq, _MESSAGE.c.author, _MESSAGE.c.text, _MESSAGE.c.created_at, _MESSAGE.c.client_msg_id)
_NEXT_SEQ = (
    update(_CHAT)
    .where(_CHAT.c.id == bindparam("chat_id"))
    .values(last_seq=_CHAT.c.last_seq + 1, last_message_at=bindparam("now"))
    .returning(_CHAT.c.last_seq)
)
def _burst_values(now, window_start) -> dict:
    """The SET of a customer's post: count the message in the current second (or start one)."""
    fresh = or_(_CHAT.c.burst_started_at.is_(None), _CHAT.c.burst_started_at <= window_start)
    return {
        "burst_count": case((fresh, 1), else_=_CHAT.c.burst_count + 1),
        "burst_started_at": case((fresh, now), else_=_CHAT.c.burst_started_at),
    }


def _burst_allows(window_start, limit):
    """The WHERE of a customer's post: under OC_LIMIT_MESSAGES_PER_SECOND in the current second."""
    return or_(_CHAT.c.burst_started_at.is_(None), _CHAT.c.burst_started_at <= window_start, _CHAT.c.burst_count < limit)


# A customer's post also counts the message against the per-second limit, in the same UPDATE:
# the limit holds across workers at no extra round trip, and a refused post takes no seq.
_NEXT_SEQ_OF_CUSTOMER = (
    update(_CHAT)
    .where(_CHAT.c.id == bindparam("chat_id"), _burst_allows(bindparam("window_start"), bindparam("burst_limit")))
    .values(last_seq=_CHAT.c.last_seq + 1, last_message_at=bindparam("now"), **_burst_values(bindparam("now"), bindparam("window_start")))
    .returning(_CHAT.c.last_seq)
)
BURST_SECONDS = timedelta(seconds=1)
_INSERT_MESSAGE = insert(_MESSAGE).returning(_MESSAGE.c.id)
_FIRST_REPLY = (
    update(_CHAT)
    .where(_CHAT.c.id == bindparam("chat_id"), _CHAT.c.first_agent_reply_at.is_(None))
    .values(first_agent_reply_at=bindparam("at"))
)
_GATE_OF_VISITOR = (
    select(*_GATE_COLUMNS)
    .join(_CUSTOMER, _CUSTOMER.c.id == _CHAT.c.customer_id)
    .where(_CHAT.c.id == bindparam("chat_id"), _CUSTOMER.c.visitor_key == bindparam("visitor_key"))
)
_GATE_OF_AGENT_TOKEN = (
    select(*_GATE_COLUMNS)
    .join(_AUTH, _AUTH.c.agent_id == _CHAT.c.agent_id)
    .join(_AGENT, _AGENT.c.id == _CHAT.c.agent_id)
    .where(
        _CHAT.c.id == bindparam("chat_id"),
        # Only a chat the agent has opened: a chat handed back before it was opened (휴식, …)
        # must not stay readable through a socket that joined it.
        _CHAT.c.agent_opened_at.is_not(None),
        *live_login(bindparam("token"), bindparam("now")),
    )
)


def _message_values(chat_id: int, seq: int, author: str, text: str, client_msg_id: str, agent_id: int | None, now: datetime) -> dict:
    return {
        "chat_id": chat_id,
        "seq": seq,
        "author": author,
        "agent_id": agent_id,
        "text": text,
        "client_msg_id": client_msg_id,
        "created_at": now,
    }


def _append(
    session: Session,
    chat_id: int,
    author: str,
    text: str,
    client_msg_id: str,
    agent_id: int | None = None,
) -> StoredMessage:
    """Insert a message with the chat's next sequence number (inside the caller's transaction).

    The UPDATE takes the chat row's write lock first, so concurrent appends to one chat are
    serialised and their sequence numbers contiguous. Returns the stored message (detached).
    """
    now = utcnow()
    conn = session.connection()
    burst_limit = messages_per_second() if author == AUTHOR_CUSTOMER else 0
    if burst_limit:
        params = {"chat_id": chat_id, "now": now, "window_start": now - BURST_SECONDS, "burst_limit": burst_limit}
        seq = conn.execute(_NEXT_SEQ_OF_CUSTOMER, params).scalar_one_or_none()
        if seq is None:
            raise ServiceError("error.too_fast")
    else:
        seq = conn.execute(_NEXT_SEQ, {"chat_id": chat_id, "now": now}).scalar_one()
    values = _message_values(chat_id, seq, author, text, client_msg_id, agent_id, now)
    message_id = conn.execute(_INSERT_MESSAGE, values).scalar_one()
    search.index_message(conn, chat_id, seq, text)  # 검색어 finds it as soon as it is stored
    return StoredMessage(id=message_id, **values)


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
    """Create a chat (queued), post the greeting, and try to assign it. Commits."""
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
        channel=clean(channel or "helpcenter")[:MAX_CHANNEL],
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
        _append(session, chat.id, AUTHOR_SYSTEM, texts.greeting, f"greeting-{chat.id}")
    session.commit()
    routing.assign_chat(session, chat.id, settings)
    session.refresh(chat)
    return chat


def _checked_post(chat: Chat | Row, author: str, text: str, agent_id: int | None) -> str:
    """The rules of posting to `chat`; returns the text to store or raises ServiceError."""
    text = validate_text(text)
    if author == AUTHOR_CUSTOMER and (chat.customer_ended_at or chat.agent_ended_at):
        raise ServiceError("error.chat_ended")
    if author == AUTHOR_AGENT:
        if agent_id is None or chat.agent_id != agent_id or chat.agent_opened_at is None:
            raise NotAllowed()
        if chat.agent_ended_at:
            raise ServiceError("error.chat_ended")
    return text


def post_message(
    session: Session,
    chat: Chat | Row,
    author: str,
    text: str,
    client_msg_id: str | None = None,
    agent_id: int | None = None,
) -> tuple[Message | StoredMessage, bool]:
    """Store a message once per client id. Returns (message, created). Commits.

    `chat` is a Chat or a row from `chat_for_visitor` / `chat_for_agent_token`. A resend with
    the same client id returns the stored message instead of a duplicate: the unique index
    refuses the second insert, and the rollback also returns the sequence number it took.
    """
    text = _checked_post(chat, author, text, agent_id)
    client_msg_id = (client_msg_id or uuid.uuid4().hex)[:64]
    try:
        message = _append(session, chat.id, author, text, client_msg_id, agent_id)
        if author == AUTHOR_AGENT and chat.first_agent_reply_at is None:
            session.connection().execute(_FIRST_REPLY, {"chat_id": chat.id, "at": message.created_at})
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = find_by_client_id(session, chat.id, client_msg_id)
        if existing is None:
            raise
        return existing, False
    return message, True


def _post_in_one_statement(by_agent: bool):
    """Gate, next seq and insert as ONE statement (PostgreSQL data-modifying CTEs): the UPDATE
    of the chat matches only when the poster may post (same conditions as the gate and
    _checked_post) and the INSERT takes its seq; the chat's agent comes back for the fan-out.
    Run in autocommit, it is one round trip instead of five (BEGIN, gate, UPDATE, INSERT,
    COMMIT) and atomic: a duplicate client id fails the whole statement."""
    now = bindparam("now")
    conditions = [_CHAT.c.id == bindparam("chat_id"), _CHAT.c.agent_ended_at.is_(None)]
    values = {"last_seq": _CHAT.c.last_seq + 1, "last_message_at": now}
    if by_agent:
        conditions += [_AUTH.c.agent_id == _CHAT.c.agent_id, _AGENT.c.id == _CHAT.c.agent_id, _CHAT.c.agent_opened_at.is_not(None)]
        conditions += live_login(bindparam("token"), now)
        values["first_agent_reply_at"] = func.coalesce(_CHAT.c.first_agent_reply_at, now)
    else:
        conditions += [
            _CUSTOMER.c.id == _CHAT.c.customer_id,
            _CUSTOMER.c.visitor_key == bindparam("visitor_key"),
            _CHAT.c.customer_ended_at.is_(None),
            _burst_allows(bindparam("window_start"), bindparam("burst_limit")),
        ]
        values.update(_burst_values(now, bindparam("window_start")))
    posted = (
        update(_CHAT)
        .where(*conditions)
        .values(**values)
        .returning(_CHAT.c.id.label("chat_id"), _CHAT.c.last_seq.label("seq"), _CHAT.c.agent_id.label("chat_agent_id"))
        .cte("posted")
    )
    typed = lambda name: bindparam(name, type_=_MESSAGE.c[name].type)  # noqa: E731 - typed for INSERT … SELECT
    row = select(
        posted.c.chat_id,
        posted.c.seq,
        typed("author"),
        posted.c.chat_agent_id if by_agent else cast(null(), _MESSAGE.c.agent_id.type),
        typed("text"),
        typed("client_msg_id"),
        bindparam("now", type_=_MESSAGE.c.created_at.type),
    )
    columns = ["chat_id", "seq", "author", "agent_id", "text", "client_msg_id", "created_at"]
    inserted = insert(_MESSAGE).from_select(columns, row).returning(_MESSAGE.c.id, _MESSAGE.c.seq, _MESSAGE.c.chat_id).cte("inserted")
    # The chat's search index row in the same statement (referenced below: SQLAlchemy renders
    # only the CTEs a query uses).
    index = search.PG_INDEX
    indexed = (
        search.pg_upsert(
            pg_insert(index).from_select(["chat_id", "terms"], select(inserted.c.chat_id, cast(bindparam("terms"), index.c.terms.type)))
        )
        .returning(index.c.chat_id)
        .cte("indexed")
    )
    return select(inserted.c.id, inserted.c.seq, posted.c.chat_agent_id).select_from(
        inserted.join(posted, true()).join(indexed, true())
    )


_POST_BY_CUSTOMER = _post_in_one_statement(by_agent=False)
_POST_BY_AGENT = _post_in_one_statement(by_agent=True)


async def post_message_fast(
    conn: AsyncConnection, chat_id: int, text: str, client_msg_id: str | None, *, visitor_key: str = "", auth_token: str = ""
) -> tuple[StoredMessage, int | None] | None:
    """The common case of posting on PostgreSQL in one round trip, on an AUTOCOMMIT connection.

    Returns (message, the chat's agent id), or None when the statement stored nothing (not
    allowed, chat ended, or a resend of a stored client id): the caller then takes the full
    path (gate + post_message), which says why or returns the stored message. Bad text raises
    ServiceError first, as there.
    """
    text = validate_text(text)
    if not chat_id or not (visitor_key or auth_token):
        return None
    client_msg_id = (client_msg_id or uuid.uuid4().hex)[:64]
    author = AUTHOR_AGENT if auth_token else AUTHOR_CUSTOMER
    now = utcnow()
    params = {"chat_id": chat_id, "now": now, "author": author, "text": text, "client_msg_id": client_msg_id}
    params["terms"] = search.pg_vector(text)
    if auth_token:
        if len(auth_token) > MAX_TOKEN_LENGTH:
            return None
        statement, params["token"] = _POST_BY_AGENT, hash_token(auth_token)
    else:
        statement, params["visitor_key"] = _POST_BY_CUSTOMER, visitor_key
        # Off (0) means no limit: a count that no second can reach.
        params["burst_limit"] = messages_per_second() or 2**31 - 1
        params["window_start"] = now - BURST_SECONDS
    try:
        row = (await conn.execute(statement, params)).first()
    except IntegrityError:
        return None
    if row is None:
        return None
    agent_id = row.chat_agent_id if auth_token else None
    message = StoredMessage(id=row.id, **_message_values(chat_id, row.seq, author, text, client_msg_id, agent_id, now))
    return message, row.chat_agent_id


def chat_for_visitor(session: Session, chat_id: int, visitor_key: str) -> Row | None:
    """The chat's posting gate when it belongs to the customer holding `visitor_key`, else None."""
    if not chat_id or not visitor_key:
        return None
    return session.connection().execute(_GATE_OF_VISITOR, {"chat_id": chat_id, "visitor_key": visitor_key}).first()


def chat_for_agent_token(session: Session, chat_id: int, auth_token: str) -> Row | None:
    """The chat's posting gate when it is assigned to the active agent logged in with
    `auth_token` (session not expired), else None. One query instead of login + chat."""
    if not chat_id or not auth_token or len(auth_token) > MAX_TOKEN_LENGTH:
        return None
    return session.connection().execute(
        _GATE_OF_AGENT_TOKEN, {"chat_id": chat_id, "token": hash_token(auth_token), "now": utcnow()}
    ).first()


def find_by_client_id(session: Session, chat_id: int, client_msg_id: str) -> Message | None:
    return session.exec(
        select(Message).where(Message.chat_id == chat_id, Message.client_msg_id == client_msg_id)
    ).first()


def recent_messages(session: Session, chat_id: int, limit: int = MESSAGE_WINDOW) -> list[MessageView]:
    """The last `limit` messages of a chat in sequence order."""
    rows = session.connection().execute(
        select(*_VIEW_COLUMNS).where(_MESSAGE.c.chat_id == chat_id).order_by(_MESSAGE.c.seq.desc()).limit(limit)
    ).all()
    return [view(m) for m in reversed(rows)]


def messages_after(session: Session, chat_id: int, after_seq: int, limit: int = 500) -> list[MessageView]:
    """Messages with seq > after_seq, in order (what a reconnecting tab asks for)."""
    rows = session.connection().execute(
        select(*_VIEW_COLUMNS)
        .where(_MESSAGE.c.chat_id == chat_id, _MESSAGE.c.seq > after_seq)
        .order_by(_MESSAGE.c.seq)
        .limit(limit)
    ).all()
    return [view(m) for m in rows]


RESUME_AFTER_AGENT_END = timedelta(minutes=30)


def open_chat_of_customer(session: Session, customer: Customer) -> Chat | None:
    """The customer's chat to resume after a reload: not ended by the customer, and not ended by
    the agent more than 30 minutes ago (so the customer still sees the closing lines)."""
    return session.exec(
        select(Chat)
        .where(
            Chat.customer_id == customer.id,
            Chat.customer_ended_at.is_(None),
            or_(Chat.agent_ended_at.is_(None), Chat.agent_ended_at > utcnow() - RESUME_AFTER_AGENT_END),
        )
        .order_by(Chat.created_at.desc(), Chat.id.desc())
        .limit(1)
    ).first()


def chats_of_agent(session: Session, agent_id: int) -> list[Chat]:
    """The agent's chats on the chat screen: assigned and not yet ended by the agent."""
    return list(
        session.exec(
            select(Chat)
            .where(Chat.agent_id == agent_id, Chat.status == CHAT_OPEN)
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


def end_by_customer(session: Session, chat: Chat) -> None:
    """The customer pressed 대화 종료. A chat nobody took is closed at once. Commits.

    Conditional UPDATEs, not a write of the caller's copy: another worker may have assigned the
    chat meanwhile, and that assignment must stand (the agent still closes it).
    """
    now = utcnow()
    session.exec(
        update(Chat).where(Chat.id == chat.id, Chat.customer_ended_at.is_(None)).values(customer_ended_at=now)
    )
    session.exec(
        update(Chat)
        .where(Chat.id == chat.id, Chat.status == CHAT_WAITING, Chat.agent_id.is_(None))
        .values(status=CHAT_ENDED)
    )
    session.commit()
    session.refresh(chat)


def end_by_agent(session: Session, chat: Chat, agent: Agent) -> list[routing.Assignment]:
    """The agent pressed 대화 종료: the chat leaves the chat screen and a slot frees up.

    Returns the queued chats that the freed slot assigned. Commits.
    """
    if chat.agent_id != agent.id:
        raise NotAllowed()
    if chat.agent_ended_at is not None:
        return []
    ended = session.exec(
        update(Chat)
        .where(Chat.id == chat.id, *_still_theirs(agent), Chat.agent_ended_at.is_(None))
        .values(agent_ended_at=utcnow(), status=CHAT_ENDED)
    ).rowcount
    if ended == 1:
        routing.release_slot(session, agent.id)
    session.commit()
    session.refresh(chat)
    if ended != 1 and chat.agent_id != agent.id:
        raise NotAllowed()  # handed to someone else since it was read
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
    settings = settings_service.get_settings(session)
    texts = settings_service.texts(session, settings, chat.language)
    guide = texts.satisfaction_guide if texts and texts.satisfaction_guide else DEFAULT_SATISFACTION_GUIDE.get(
        chat.language, DEFAULT_SATISFACTION_GUIDE["ko"]
    )
    _write(
        session, chat, (*_still_theirs(agent), Chat.agent_ended_at.is_(None)),
        rating_requested_at=utcnow(), rating_requested_by=agent.id, rating_requests=Chat.rating_requests + 1,
    )
    message = _append(session, chat.id, AUTHOR_SYSTEM, guide, f"rating-request-{uuid.uuid4().hex}")
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


def messages_before(session: Session, chat_id: int, before_seq: int, limit: int = 2000) -> list[MessageView]:
    """The last `limit` messages with seq < before_seq, in order (older transcript pages)."""
    rows = session.connection().execute(
        select(*_VIEW_COLUMNS)
        .where(_MESSAGE.c.chat_id == chat_id, _MESSAGE.c.seq < before_seq)
        .order_by(_MESSAGE.c.seq.desc())
        .limit(limit)
    ).all()
    return [view(m) for m in reversed(rows)]


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
    if existing is not None and existing.agent_ended_at is None:
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
