"""채팅 기록: who may see which chats, the search conditions, and the newest-first pages.

The rules here are the ones the export and the statistics read too: `visible_to` (an admin
sees every chat, an agent the chats they handled), `STATE` (진행중 / 처리 / 미처리, the SQL
form of chats.processing_status) and the category subtree of a 처리유형 condition.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session, select

from online_contact.config import display_timezone
from online_contact.models import Agent, Chat, ChatAssignment, Ticket
from online_contact.models.agent import ROLE_ADMIN
from online_contact.models.chat import CHANNEL_HELP_CENTER, CHAT_ENDED, CHAT_OPEN, CHAT_WAITING

from . import categories as category_service
from . import embed, search
from .chats import PROCESSED, UNPROCESSED
from .errors import NotAllowed
from .text import clean, parse_id

PAGE_SIZE = 50
DEFAULT_DAYS = 7
MAX_DAYS = 3660  # ten years: a team keeps years of chats
IN_PROGRESS = "in_progress"  # 진행중: not ended yet
# 미처리 is 포기 in 통계, of two kinds: nobody opened the chat, or it was opened and never answered.
LEFT_WAITING = "left_waiting"  # 대기 중 이탈
NO_REPLY = "no_reply"  # 무응답
STATES = (PROCESSED, UNPROCESSED, IN_PROGRESS)
STATE_CONDITIONS = (*STATES, LEFT_WAITING, NO_REPLY)  # what the 상태 condition accepts
# 대기 시간 buckets (seconds, low included, high excluded): < 10 s, 10–30 s, 30–60 s, 1–3 min, > 3 min.
WAIT_BUCKETS = ((0, 10), (10, 30), (30, 60), (60, 180), (180, None))
CHANNEL_EMBED = "embed"  # any page that pasted the embed code
CHANNELS = (CHANNEL_HELP_CENTER, CHANNEL_EMBED)
MAX_CUSTOMER_QUERY = 100
MAX_CLOCK_DAYS = 367  # the longest period an hour / weekday condition spans (통계's longest)

# ---- defined once ------------------------------------------------------------------------------
# 처리: an agent opened the chat from the list and replied (chats.processing_status in SQL).
PROCESSED_SQL = sa.and_(Chat.agent_opened_at.is_not(None), Chat.first_agent_reply_at.is_not(None))
# 진행중: nobody has ended the chat yet; either end ends it (the status: chats.end_by_customer /
# end_by_agent). The customer leaving ends it too — the guide decides 미처리 by whether an agent
# opened and answered, and leaving ends that chance — although the chat stays on the agent's
# screen until they press 대화 종료 (routing.ON_AN_AGENTS_SCREEN). The status, not the two end
# times: the conditions stay inside ix_chat_history (a search's total is counted from the index
# alone; with customer_ended_at read from the table it took 0.6 s instead of 20 ms).
IN_PROGRESS_SQL = Chat.status.in_((CHAT_WAITING, CHAT_OPEN))
ENDED_SQL = Chat.status == CHAT_ENDED
STATE = sa.case(
    (IN_PROGRESS_SQL, sa.literal(IN_PROGRESS)),
    (PROCESSED_SQL, sa.literal(PROCESSED)),
    else_=sa.literal(UNPROCESSED),
)
# The same rule as a condition per state (`STATE == state`, written so that the planner can
# estimate it from the columns' statistics: a CASE compared to a constant is guessed as rare,
# and PostgreSQL then sorts the whole period instead of walking the newest rows).
# 대기 중 이탈: the customer left before any agent opened the chat (it may have been assigned;
# the agent may open it afterwards, to close it). Otherwise a 미처리 chat is 무응답.
LEFT_BEFORE_OPENED_SQL = sa.or_(
    Chat.agent_opened_at.is_(None),
    sa.and_(Chat.customer_ended_at.is_not(None), Chat.customer_ended_at <= Chat.agent_opened_at),
)
# A ticket was made from the chat (티켓 전환).
HAS_TICKET_SQL = sa.exists().where(Ticket.chat_id == Chat.id)
IS_STATE = {
    IN_PROGRESS: IN_PROGRESS_SQL,
    PROCESSED: sa.and_(ENDED_SQL, PROCESSED_SQL),
    UNPROCESSED: sa.and_(ENDED_SQL, sa.not_(PROCESSED_SQL)),
    LEFT_WAITING: sa.and_(ENDED_SQL, sa.not_(PROCESSED_SQL), LEFT_BEFORE_OPENED_SQL),
    NO_REPLY: sa.and_(ENDED_SQL, sa.not_(PROCESSED_SQL), sa.not_(LEFT_BEFORE_OPENED_SQL)),
}


def abandoned_kind(chat) -> str | None:
    """IS_STATE's LEFT_WAITING / NO_REPLY in Python, for a loaded chat (None unless 미처리)."""
    if state_of(chat) != UNPROCESSED:
        return None
    left_first = chat.agent_opened_at is None or (
        chat.customer_ended_at is not None and chat.customer_ended_at <= chat.agent_opened_at)
    return LEFT_WAITING if left_first else NO_REPLY


def wait_bucket(seconds: int) -> int:
    """The index in WAIT_BUCKETS of a 대기 시간."""
    for i, (_low, high) in enumerate(WAIT_BUCKETS):
        if high is None or seconds < high:
            return i
    return len(WAIT_BUCKETS) - 1


def _seconds_sql(dialect: str, start, end):
    """end − start in whole seconds, in SQL, exactly as `_seconds` counts them (floored; a
    floating-point day count would put a 30-second wait at 29.99999). SQLite stores times as
    'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds and microseconds, added up as integers."""
    if dialect == "postgresql":
        return sa.func.floor(sa.func.extract("epoch", end - start))

    def micros(moment):
        return (sa.cast(sa.func.strftime("%s", moment), sa.Integer) * 1_000_000
                + sa.cast(sa.func.substr(moment, 21, 6), sa.Integer))

    return (micros(end) - micros(start)).self_group().op("/", precedence=8)(1_000_000)


def visible_to(agent: Agent):
    """The chats `agent` may see in 채팅 기록 (and export): an admin every chat, an agent the
    chats they handled (assigned to them and not handed on)."""
    if agent.role == ROLE_ADMIN:
        return sa.true()
    return Chat.agent_id == agent.id


def chat_for(session: Session, agent: Agent, chat_id) -> Chat:
    """The chat if `agent` may see it in 채팅 기록, else NotAllowed (also for no such chat)."""
    chat_id = parse_id(chat_id)
    chat = session.exec(select(Chat).where(Chat.id == chat_id, visible_to(agent))).first() if chat_id else None
    if chat is None:
        raise NotAllowed()
    return chat


# ---- conditions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Conditions:
    """A 채팅 기록 search. Dates are local days (OC_TIMEZONE), both ends included."""

    date_from: date
    date_to: date
    state: str = ""
    agent_id: int = 0
    category_id: int = 0
    channel: str = ""
    customer: str = ""
    rating: int = 0
    q: str = ""
    # From 통계's click-through (kept in the URL, not on the form): chats that produced a ticket,
    # with a 대기 시간 in WAIT_BUCKETS[wait], with any rating.
    ticket: bool = False
    wait: int = -1
    rated: bool = False
    replied: bool = False  # an agent replied (the chats behind 평균 대기 시간)
    hour: int = -1  # created in this local hour (0–23) of a day of the period (통계's charts)
    dow: int = -1  # created on this weekday (0 = Monday) of the period (요일 × 시간대)
    assigned: int = 0  # ever assigned to this agent (the assignment history: 통계's 배정)
    # Fields of the URL that were not understood (the screen says so; the default was used).
    invalid: tuple[str, ...] = field(default=(), compare=False)

    def to_query(self) -> dict[str, str]:
        """The URL parameters (only what differs from an empty condition, dates always)."""
        out = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        for key, value in (("state", self.state), ("agent", self.agent_id), ("category", self.category_id),
                           ("channel", self.channel), ("customer", self.customer), ("rating", self.rating), ("q", self.q)):
            if value:
                out[key] = str(value)
        if self.ticket:
            out["ticket"] = "1"
        if self.wait >= 0:
            out["wait"] = str(self.wait)
        if self.rated and not self.rating:
            out["rating"] = "any"
        if self.replied:
            out["replied"] = "1"
        if self.hour >= 0:
            out["hour"] = str(self.hour)
        if self.dow >= 0:
            out["dow"] = str(self.dow)
        if self.assigned:
            out["assigned"] = str(self.assigned)
        return out


def today() -> date:
    return datetime.now(display_timezone()).date()


def default_conditions() -> Conditions:
    end = today()
    return Conditions(date_from=end - timedelta(days=DEFAULT_DAYS - 1), date_to=end)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) and len(text) == 10 else None
    except ValueError:
        return None


def parse_conditions(params: dict) -> Conditions:
    """Conditions from URL parameters or a search form (a client can send anything: what is not
    understood falls back to the default and is named in `invalid`)."""
    base, invalid = default_conditions(), []

    def text(key: str, limit: int) -> str:
        value = params.get(key, "")
        return clean(value).strip()[:limit] if isinstance(value, str) else ""

    start, end = base.date_from, base.date_to
    if text("from", 10):
        start = _date(text("from", 10)) or (invalid.append("from") or start)
    if text("to", 10):
        end = _date(text("to", 10)) or (invalid.append("to") or end)
    if start > end:
        invalid.append("to")
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        invalid.append("from")
        start = end - timedelta(days=MAX_DAYS)
    state = text("state", 16)
    if state and state not in STATE_CONDITIONS:
        invalid.append("state")
        state = ""
    # 헬프센터, any embedding page, or one page exactly (통계's 채널별).
    channel = text("channel", 2000)
    if channel and channel not in CHANNELS:
        # As chats record a page (origin + path): a query typed into the URL matches no chat,
        # and is not kept in the export's audit entry either.
        channel = embed.page_channel(channel)
        if not channel:
            invalid.append("channel")
    # Whole values only ("12" is not bucket 1, "²" is not a digit Python can read).
    rating = text("rating", 8)
    rated = rating == "any"
    score = int(rating) if rating in ("1", "2", "3", "4", "5") else 0
    if rating and not score and not rated:
        invalid.append("rating")
    wait_text = text("wait", 8)
    wait = int(wait_text) if wait_text in tuple(str(i) for i in range(len(WAIT_BUCKETS))) else -1
    if wait_text and wait < 0:
        invalid.append("wait")
    ticket_text = text("ticket", 8)
    if ticket_text not in ("", "1"):
        invalid.append("ticket")
    replied_text = text("replied", 8)
    if replied_text not in ("", "1"):
        invalid.append("replied")
    hour_text, dow_text = text("hour", 8), text("dow", 8)
    hour = int(hour_text) if hour_text in tuple(str(i) for i in range(24)) else -1
    dow = int(dow_text) if dow_text in tuple(str(i) for i in range(7)) else -1
    for key, typed, value in (("hour", hour_text, hour), ("dow", dow_text, dow)):
        if typed and value < 0:
            invalid.append(key)
    if (hour >= 0 or dow >= 0) and (end - start).days >= MAX_CLOCK_DAYS:
        invalid.append("hour" if hour >= 0 else "dow")  # one range per day: at most a year of them
        hour = dow = -1
    agent_id, category_id = parse_id(text("agent", 20)), parse_id(text("category", 20))
    assigned = parse_id(text("assigned", 20))
    for key, value in (("agent", agent_id), ("category", category_id), ("assigned", assigned)):
        if text(key, 20) and not value:
            invalid.append(key)
    return Conditions(
        date_from=start, date_to=end, state=state, agent_id=agent_id, category_id=category_id, channel=channel,
        customer=text("customer", MAX_CUSTOMER_QUERY), rating=score, q=text("q", search.MAX_QUERY_LENGTH),
        ticket=ticket_text == "1", wait=wait, rated=rated, replied=replied_text == "1", hour=hour, dow=dow, assigned=assigned,
        invalid=tuple(dict.fromkeys(invalid)),
    )


def _clock_ranges(c: Conditions):
    """The chats created in local hour `c.hour` (any hour when -1) of the period's days that fall
    on weekday `c.dow` (any day when -1): one stored-time range per day (time zones may shift an
    hour between days), at most MAX_CLOCK_DAYS of them."""
    zone = display_timezone()
    ranges = []
    day = c.date_from
    while day <= c.date_to:
        if c.dow < 0 or day.weekday() == c.dow:
            if c.hour >= 0:
                start = datetime.combine(day, time(c.hour), zone).astimezone(timezone.utc)
                end = (datetime.combine(day, time(c.hour), zone) + timedelta(hours=1)).astimezone(timezone.utc)
            else:
                start, end = _utc(day), _utc(day + timedelta(days=1))
            ranges.append(sa.and_(Chat.created_at >= start, Chat.created_at < end))
        day += timedelta(days=1)
    return sa.or_(*ranges) if ranges else sa.false()


def local_clock(moment: datetime) -> tuple[int, int]:
    """(local hour, weekday) of a stored time: `_clock_ranges` in Python."""
    local = moment.astimezone(display_timezone())
    return local.hour, local.weekday()


def is_page_url(text: str) -> bool:
    """An embedding page's URL as chats record it (their 채널: embed.page_channel)."""
    return bool(text) and embed.page_channel(text) == text


def _utc(day: date) -> datetime:
    """The start of a local day as a stored (aware UTC) time."""
    return datetime.combine(day, time.min, display_timezone()).astimezone(timezone.utc)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def where(session: Session, agent: Agent, c: Conditions) -> list:
    """The WHERE of a search by `agent` (who may see what included): for the list, the count
    and the export alike."""
    dialect = session.get_bind().dialect.name
    clauses = [
        visible_to(agent),
        Chat.created_at >= _utc(c.date_from),
        Chat.created_at < _utc(c.date_to + timedelta(days=1)),
    ]
    if c.state:
        clauses.append(IS_STATE[c.state])
    if c.agent_id:
        clauses.append(Chat.agent_id == c.agent_id)
    if c.category_id:
        clauses.append(Chat.category_id.in_(category_service.subtree_ids(session, c.category_id)))
    if c.channel == CHANNEL_HELP_CENTER:
        clauses.append(Chat.channel == CHANNEL_HELP_CENTER)
    elif c.channel == CHANNEL_EMBED:
        clauses.append(Chat.channel != CHANNEL_HELP_CENTER)
    elif c.channel:
        clauses.append(Chat.channel == c.channel)
    if c.customer:
        pattern = _like(c.customer.lower())
        clauses.append(sa.or_(
            sa.func.lower(Chat.customer_name).like(pattern, escape="\\"),
            sa.func.lower(Chat.customer_email).like(pattern, escape="\\"),
        ))
    if c.rating:
        clauses.append(Chat.rating_score == c.rating)
    elif c.rated:
        clauses.append(Chat.rating_score.is_not(None))
    if c.ticket:
        clauses.append(HAS_TICKET_SQL)
    if c.replied:
        clauses.append(Chat.first_agent_reply_at.is_not(None))
    if c.hour >= 0 or c.dow >= 0:
        clauses.append(_clock_ranges(c))
    if c.assigned:
        clauses.append(sa.exists().where(ChatAssignment.chat_id == Chat.id, ChatAssignment.agent_id == c.assigned))
    if c.wait >= 0:
        low, high = WAIT_BUCKETS[c.wait]
        waited = wait_seconds_sql(dialect)
        clauses.append(waited >= low)
        if high is not None:
            clauses.append(waited < high)
    words = search.parse(c.q)
    if dialect == "postgresql":
        # A plan for these values, not a generic one: the driver prepares a statement it has run
        # five times and the server may then plan it once for any values, but a search's
        # selectivity ranges from a few rows to every chat (a generic plan made page 100 of a
        # rare word four times slower). For this transaction only.
        session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))
    elif words and search.bring_up_to_date(session.get_bind()):
        # SQLite indexes in batches: what was just indexed is seen by a new read snapshot.
        if not (session.new or session.dirty or session.deleted):
            session.commit()
    for word in words:
        clauses.append(Chat.id.in_(search.chats_with(dialect, word)))
    return clauses


# ---- pages -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first list: the (created_at, id) of a row."""

    created_at: datetime
    chat_id: int

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.chat_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(text) -> "Cursor | None":
        if not isinstance(text, str) or not text or len(text) > 80:
            return None
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            moment, chat_id = raw.split("|")
            return Cursor(datetime.fromisoformat(moment), parse_id(chat_id)) if parse_id(chat_id) else None
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class Page:
    chats: list[Chat]
    total: int
    # The cursor of the next (older) page, and of the previous (newer) one; None at an end.
    older: Cursor | None
    newer: Cursor | None


def page(
    session: Session, agent: Agent, c: Conditions, *, after: Cursor | None = None, before: Cursor | None = None,
    size: int = PAGE_SIZE, count: bool = True,
) -> Page:
    """One page of the search, newest first: the rows older than `after` (the next page), or
    the `size` rows just newer than `before` (the previous page), or the first page. Keyset
    pagination: page 100 costs what page 1 does, and chats that arrive meanwhile never shift
    the rows of a page (no gaps, no repeats)."""
    clauses = where(session, agent, c)
    key = sa.tuple_(Chat.created_at, Chat.id)
    if before is not None:
        rows = list(session.exec(
            select(Chat).where(*clauses, key > sa.tuple_(before.created_at, before.chat_id))
            .order_by(Chat.created_at, Chat.id).limit(size + 1)
        ))
        has_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_older = True
    else:
        query = select(Chat).where(*clauses)
        if after is not None:
            query = query.where(key < sa.tuple_(after.created_at, after.chat_id))
        rows = list(session.exec(query.order_by(Chat.created_at.desc(), Chat.id.desc()).limit(size + 1)))
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = after is not None
    total = session.exec(select(sa.func.count()).select_from(Chat).where(*clauses)).one() if count else -1
    if not rows:
        return Page([], total, None, None)
    return Page(
        rows, total,
        older=Cursor(rows[-1].created_at, rows[-1].id) if has_older else None,
        newer=Cursor(rows[0].created_at, rows[0].id) if has_newer else None,
    )


def rows_in_batches(session: Session, agent: Agent, c: Conditions, batch: int = 1000):
    """Every chat of the search, newest first, `batch` rows at a time (the export): keyset again,
    so memory stays flat and chats that arrive meanwhile are not included twice. Rows of the
    chat table (attribute access like a Chat, without the ORM's cost per object)."""
    clauses = where(session, agent, c)
    table = Chat.__table__
    after = None
    while True:
        query = sa.select(table).where(*clauses)
        if after is not None:
            query = query.where(sa.tuple_(table.c.created_at, table.c.id) < sa.tuple_(*after))
        rows = session.connection().execute(query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(batch)).all()
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        after = (rows[-1].created_at, rows[-1].id)


def count(session: Session, agent: Agent, c: Conditions) -> int:
    return session.exec(select(sa.func.count()).select_from(Chat).where(*where(session, agent, c))).one()


# ---- what the screens and the export show ------------------------------------------------------
def ended_at(chat: Chat) -> datetime | None:
    """When the conversation ended: the first of the customer's and the agent's 대화 종료."""
    ends = [moment for moment in (chat.customer_ended_at, chat.agent_ended_at) if moment is not None]
    return min(ends) if ends else None


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    return int((end - start).total_seconds()) if start is not None and end is not None and end >= start else None


def chat_seconds(chat: Chat) -> int | None:
    """대화 시간: created → ended."""
    return _seconds(chat.created_at, ended_at(chat))


def wait_seconds(chat: Chat) -> int | None:
    """대기 시간: created → the first agent reply."""
    return _seconds(chat.created_at, chat.first_agent_reply_at)


def handle_seconds(chat: Chat) -> int | None:
    """상담 시간: the first agent reply → ended."""
    return _seconds(chat.first_agent_reply_at, ended_at(chat))


# The same durations in SQL (통계 computes them in the query; tested equal to the above).
ENDED_AT_SQL = sa.case(
    (sa.and_(Chat.customer_ended_at.is_not(None),
             sa.or_(Chat.agent_ended_at.is_(None), Chat.customer_ended_at < Chat.agent_ended_at)), Chat.customer_ended_at),
    else_=Chat.agent_ended_at,
)


def _duration_sql(dialect: str, start, end):
    return sa.case(
        (sa.and_(start.is_not(None), end.is_not(None), end >= start), sa.cast(_seconds_sql(dialect, start, end), sa.Integer)),
        else_=sa.null(),
    )


def wait_seconds_sql(dialect: str):
    return _duration_sql(dialect, Chat.created_at, Chat.first_agent_reply_at)


def handle_seconds_sql(dialect: str):
    return _duration_sql(dialect, Chat.first_agent_reply_at, ENDED_AT_SQL)


def state_of(chat: Chat) -> str:
    """STATE in Python, for one loaded chat."""
    from .chats import processing_status

    return IN_PROGRESS if chat.status in (CHAT_WAITING, CHAT_OPEN) else processing_status(chat)


def duration_text(seconds: int | None) -> str:
    """'1:05:09' / '12:04' (h:mm:ss, m:ss), '' for none."""
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def agent_names(session: Session) -> dict[int, str]:
    return {agent_id: name for agent_id, name in session.exec(select(Agent.id, Agent.name))}


@dataclass(frozen=True)
class Labels:
    """The names a list of chats needs, read once per page (not once per row)."""

    agents: dict[int, str]
    categories: dict[int, str]

    @staticmethod
    def read(session: Session) -> "Labels":
        return Labels(agent_names(session), category_service.paths(session))

    def agent(self, chat: Chat) -> str:
        return self.agents.get(chat.agent_id, "") if chat.agent_id else ""

    def category(self, chat: Chat) -> str:
        return self.categories.get(chat.category_id, "") if chat.category_id else ""
