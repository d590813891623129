"""A chat's messages: the message path's rules and statements (validate, the posting gate, the
next sequence number and the insert, once per client id; on PostgreSQL the common case as one
statement) and the transcript's reads. The life of the chat around them is services/chats.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import LargeBinary, bindparam, case, cast, func, insert, null, or_, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Session, select

from online_contact.config import MAX_MESSAGE_LENGTH, MESSAGE_WINDOW, local_time
from online_contact.models import Agent, AuthSession, Chat, Customer, Message
from online_contact.models._base import utcnow
from online_contact.models.chat import AUTHOR_AGENT, AUTHOR_CUSTOMER

from . import privacy, search
from .auth import MAX_TOKEN_LENGTH, hash_token, live_login
from .errors import NotAllowed, ServiceError
from .limits import messages_per_second
from .text import clean


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


# What the chat list shows of a chat's last message, and all that a tab of the agent that has
# not opened the chat gets of it (realtime: the desk and the message path's `preview`).
PREVIEW_LENGTH = 40


def preview(text) -> str:
    """The chat list's preview of a message's text: its first PREVIEW_LENGTH characters."""
    return str(text)[:PREVIEW_LENGTH]


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
# An agent's post matches only while the chat is open on both sides: a reply typed after the
# customer left would be stored and exported as if they had read it. The gate (_checked_post)
# says why first; this WHERE settles a customer's end that lands between gate and insert.
_NEXT_SEQ_OF_AGENT = _NEXT_SEQ.where(_CHAT.c.customer_ended_at.is_(None), _CHAT.c.agent_ended_at.is_(None))
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


def append(
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
    elif author == AUTHOR_AGENT:
        seq = conn.execute(_NEXT_SEQ_OF_AGENT, {"chat_id": chat_id, "now": now}).scalar_one_or_none()
        if seq is None:
            raise ServiceError("error.customer_left")
    else:
        seq = conn.execute(_NEXT_SEQ, {"chat_id": chat_id, "now": now}).scalar_one()
    values = _message_values(chat_id, seq, author, text, client_msg_id, agent_id, now)
    message_id = conn.execute(_INSERT_MESSAGE, values).scalar_one()
    search.index_message(conn, chat_id, seq, text)  # 검색어 finds it as soon as it is stored
    return StoredMessage(id=message_id, **values)


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
        if chat.customer_ended_at:
            raise ServiceError("error.customer_left")
    return text


_ENDED = ("error.chat_ended", "error.customer_left")


def _stored_before_the_end(session: Session, chat: Chat | Row, author: str, client_msg_id: str | None) -> Message | None:
    """The message this author stored under `client_msg_id` in `chat`, if any (read only when a
    post was refused because the chat ended: never on the message path's common case)."""
    if not client_msg_id:
        return None
    stored = find_by_client_id(session, chat.id, client_msg_id[:64])
    return stored if stored is not None and stored.author == author else None


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
    try:
        text = _checked_post(chat, author, text, agent_id)
    except ServiceError as exc:
        # A resend of a message stored just before the chat ended (the answer was lost on the
        # way) is that message, not a refusal: the page would put back a text that was sent.
        stored = _stored_before_the_end(session, chat, author, client_msg_id) if exc.code in _ENDED else None
        if stored is None:
            raise
        return stored, False
    client_msg_id = (client_msg_id or uuid.uuid4().hex)[:64]
    try:
        message = append(session, chat.id, author, text, client_msg_id, agent_id)
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
        conditions += [_AUTH.c.agent_id == _CHAT.c.agent_id, _AGENT.c.id == _CHAT.c.agent_id, _CHAT.c.agent_opened_at.is_not(None),
                       _CHAT.c.customer_ended_at.is_(None)]  # the customer left: nobody reads it (_NEXT_SEQ_OF_AGENT)
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


def messages_before(session: Session, chat_id: int, before_seq: int, limit: int = 2000) -> list[MessageView]:
    """The last `limit` messages with seq < before_seq, in order (older transcript pages)."""
    rows = session.connection().execute(
        select(*_VIEW_COLUMNS)
        .where(_MESSAGE.c.chat_id == chat_id, _MESSAGE.c.seq < before_seq)
        .order_by(_MESSAGE.c.seq.desc())
        .limit(limit)
    ).all()
    return [view(m) for m in reversed(rows)]


# ---- pages of a transcript bounded by size (the message path's catch-up and older pages) --------
# A page holds at most about this much (UTF-8 bytes of message text plus PAGE_OVERHEAD per message),
# and always at least one message: 500 long messages were 6 MB of JSON in one answer, read and
# encoded while the worker served nobody else. The rest is asked for page by page.
PAGE_BYTES = 64 * 1024
PAGE_OVERHEAD = 100  # seq, author, time and client id of a message, as sent
PAGE_MAX_MESSAGES = 500


def _text_bytes(session: Session):
    """The size of a message's text in bytes, in the database's SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.octet_length(_MESSAGE.c.text)
    return func.length(cast(_MESSAGE.c.text, LargeBinary))  # SQLite: a blob's length is its bytes


def _page(session: Session, chat_id: int, after_seq: int, before_seq: int | None, newest: bool, max_bytes: int) -> tuple[list[MessageView], bool]:
    """The messages with after_seq < seq < before_seq nearest to one end (the oldest, or the
    `newest`) whose running size stays within `max_bytes` (the first always), in order, and
    whether more of the range is left beyond them. The database adds the sizes up (a window
    function over at most PAGE_MAX_MESSAGES + 1 rows) and sends only the page and the first
    message past it (the sign that there is more): one query, nothing else of the chat read out."""
    conditions = [_MESSAGE.c.chat_id == chat_id, _MESSAGE.c.seq > after_seq]
    if before_seq is not None:
        conditions.append(_MESSAGE.c.seq < before_seq)
    inner = (
        select(*_VIEW_COLUMNS, (_text_bytes(session) + PAGE_OVERHEAD).label("size"))
        .where(*conditions)
        .order_by(_MESSAGE.c.seq.desc() if newest else _MESSAGE.c.seq)
        .limit(PAGE_MAX_MESSAGES + 1)
        .subquery()
    )
    nearest_first = inner.c.seq.desc() if newest else inner.c.seq
    sized = select(
        inner,
        func.sum(inner.c.size).over(order_by=nearest_first).label("running"),
        func.row_number().over(order_by=nearest_first).label("n"),
    ).subquery()
    # The page (the first message, and each whose running size is within the bound) and the one
    # after it: a message is sent when the one before it was kept.
    rows = session.connection().execute(
        select(sized)
        .where(or_(sized.c.n <= 2, sized.c.running - sized.c.size <= max_bytes))
        .order_by(sized.c.seq.desc() if newest else sized.c.seq)
    ).all()
    kept = []
    for i, row in enumerate(rows):
        if i and (i >= PAGE_MAX_MESSAGES or row.running > max_bytes):
            break
        kept.append(row)
    more = len(rows) > len(kept)
    if newest:
        kept.reverse()
    return [view(m) for m in kept], more


def page_after(session: Session, chat_id: int, after_seq: int, before_seq: int | None = None, max_bytes: int = PAGE_BYTES) -> tuple[list[MessageView], bool]:
    """The oldest messages after `after_seq` (and before `before_seq`) that fit in `max_bytes`
    (at least one), in order, and whether more are left: a reconnecting tab's catch-up, and a gap
    in what a tab shows filled from its older end."""
    return _page(session, chat_id, after_seq, before_seq, False, max_bytes)


def page_before(session: Session, chat_id: int, before_seq: int, after_seq: int = 0, max_bytes: int = PAGE_BYTES) -> tuple[list[MessageView], bool]:
    """The newest messages before `before_seq` that fit in `max_bytes` (at least one), in order,
    and whether older ones are left (이전 메시지 보기, a page at a time)."""
    return _page(session, chat_id, after_seq, before_seq, True, max_bytes)
