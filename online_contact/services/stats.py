"""통계, defined once: every figure of /stats, from the same rules as 채팅 기록.

- The date basis: a chat counts on the day it was created, in OC_TIMEZONE (history's 기간).
- Who sees what: `history.visible_to` (an admin every chat, an agent their own).
- 처리 / 미처리 / 진행중: `history.STATE`, in SQL. 포기 is 미처리, split into 대기 중 이탈 (no agent
  ever opened the chat) and 무응답 (opened, never answered).
- 대기 시간 (created → the first agent reply), 상담 시간 (that reply → the end): `history`'s.

`DEFINITIONS` holds the sentence each figure's tooltip shows (and the README repeats); every
figure can name the 채팅 기록 search that lists exactly its chats (`history_query`).
"""

from __future__ import annotations

import math
import statistics
from concurrent.futures import ThreadPoolExecutor
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session, select

from online_contact.config import display_timezone
from online_contact.models import Agent, AgentStatusLog, Chat, ChatAssignment
from online_contact.models.agent import STATUS_BREAK, STATUS_ONLINE
from online_contact.models.chat import CHANNEL_HELP_CENTER

from . import history
from .chats import PROCESSED, UNPROCESSED

from .history import WAIT_BUCKETS, wait_bucket

MAX_CHANNELS = 30  # pages listed one by one in 채널별; the rest together

# 응답률 as Korean contact centers read it.
GOOD_RATE, FAIR_RATE = 0.85, 0.70

DEFINITIONS = {
    "incoming": "stats_def_incoming",
    "processed": "stats_def_processed",
    "abandoned": "stats_def_abandoned",
    "left_waiting": "stats_def_left_waiting",
    "no_reply": "stats_def_no_reply",
    "response_rate": "stats_def_response_rate",
    "wait": "stats_def_wait",
    "handle": "stats_def_handle",
    "satisfaction": "stats_def_satisfaction",
    "tickets": "stats_def_tickets",
    "online": "stats_def_online",
}


@dataclass(frozen=True)
class Period:
    date_from: date
    date_to: date  # inclusive

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def previous(self) -> "Period":
        """The period of the same length just before (▲ / ▼)."""
        return Period(self.date_from - timedelta(days=self.days), self.date_from - timedelta(days=1))

    def start(self) -> datetime:
        return history._utc(self.date_from)

    def end(self) -> datetime:
        return history._utc(self.date_to + timedelta(days=1))


def rate_colour(rate: float | None) -> str:
    """녹색 ≥ 85 %, 노랑 70–85 %, 빨강 < 70 %."""
    if rate is None:
        return "gray"
    return "green" if rate >= GOOD_RATE else "amber" if rate >= FAIR_RATE else "red"


def percentile(values: list[int], share: float) -> int | None:
    """Nearest-rank percentile (the value at least `share` of the values are at or below)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Figures:
    """The figures of one set of chats (the whole period, one agent, one day…)."""

    incoming: int = 0
    processed: int = 0
    left_waiting: int = 0
    no_reply: int = 0
    in_progress: int = 0
    waits: list[int] = field(default_factory=list)
    handles: list[int] = field(default_factory=list)
    scores: list[int] = field(default_factory=list)
    tickets: int = 0

    def add_values(self, state, opened, wait, handle, score, ticket) -> None:
        self.incoming += 1
        if state == PROCESSED:
            self.processed += 1
        elif state == UNPROCESSED:
            if opened is None:  # not opened before the customer left: history's LEFT_WAITING
                self.left_waiting += 1
            else:
                self.no_reply += 1
        else:
            self.in_progress += 1
        if wait is not None:
            self.waits.append(wait)
        if handle is not None:
            self.handles.append(handle)
        if score:
            self.scores.append(score)
        if ticket:
            self.tickets += 1

    @property
    def abandoned(self) -> int:
        return self.left_waiting + self.no_reply

    @property
    def response_rate(self) -> float | None:
        return self.processed / self.incoming if self.incoming else None

    @property
    def wait_avg(self) -> float | None:
        return statistics.fmean(self.waits) if self.waits else None

    @property
    def wait_median(self) -> int | None:
        return percentile(self.waits, 0.5)

    @property
    def wait_p90(self) -> int | None:
        return percentile(self.waits, 0.9)

    @property
    def handle_avg(self) -> float | None:
        return statistics.fmean(self.handles) if self.handles else None

    @property
    def satisfaction(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    @property
    def rated_share(self) -> float | None:
        return len(self.scores) / self.incoming if self.incoming else None

    @property
    def distribution(self) -> list[int]:
        counts = Counter(self.scores)
        return [counts.get(score, 0) for score in range(1, 6)]

    @property
    def wait_buckets(self) -> list[int]:
        counts = Counter(wait_bucket(w) for w in self.waits)
        return [counts.get(i, 0) for i in range(len(WAIT_BUCKETS))]


class Tally:
    """The few counts of a day, an hour or a channel (cheaper than Figures per row)."""

    __slots__ = ("incoming", "processed", "abandoned", "in_progress", "score_sum", "score_n")

    def __init__(self) -> None:
        self.incoming = self.processed = self.abandoned = self.in_progress = self.score_sum = self.score_n = 0

    def add(self, state: str, score: int | None) -> None:
        self.incoming += 1
        if state == PROCESSED:
            self.processed += 1
        elif state == UNPROCESSED:
            self.abandoned += 1
        else:
            self.in_progress += 1
        if score:
            self.score_sum += score
            self.score_n += 1

    @property
    def satisfaction(self) -> float | None:
        return self.score_sum / self.score_n if self.score_n else None


@dataclass
class AgentRow:
    agent_id: int
    name: str
    assigned: int = 0
    figures: Figures = field(default_factory=Figures)
    online_seconds: int = 0
    break_seconds: int = 0


@dataclass
class Report:
    period: Period
    total: Figures
    previous: Summary
    days: list[tuple[date, Tally]]  # every day of the period, oldest first
    hours: list[Tally]  # 0..23, for a one-day period (and the 시간대 of any period)
    week: list[list[int]]  # 요일 (Monday first) × 시간대: chats created
    agents: list[AgentRow]
    categories: list[dict]  # {id, path, depth, count, share}, tree order, every level
    channels: list[dict]  # {channel, count, processed, share}


def _rows(session: Session, agent: Agent, period: Period):
    """One row per chat of the period that `agent` may see, with what every figure needs: the
    state, 대기 / 상담 시간 and whether it has a ticket computed by the database (history's
    definitions in SQL), only the creation time as a time."""
    dialect = session.get_bind().dialect.name
    has_ticket = history.HAS_TICKET_SQL.correlate(Chat)
    query = (
        sa.select(
            Chat.created_at, Chat.agent_id, Chat.category_id, Chat.channel, Chat.rating_score,
            # None for 대기 중 이탈 (history.LEFT_BEFORE_OPENED_SQL), 1 otherwise.
            sa.case((history.LEFT_BEFORE_OPENED_SQL, sa.null()), else_=sa.literal(1)).label("agent_opened_at"),
            history.STATE.label("state"), history.wait_seconds_sql(dialect).label("wait"),
            history.handle_seconds_sql(dialect).label("handle"), has_ticket.label("has_ticket"),
        )
        .where(history.visible_to(agent), Chat.created_at >= period.start(), Chat.created_at < period.end())
    )
    return session.connection().execute(query).all()


@dataclass(frozen=True)
class Summary:
    """What the cards compare with (the previous period): the same figures, summed up by the
    database in one row instead of read chat by chat."""

    incoming: int
    processed: int
    abandoned: int
    wait_avg: float | None
    handle_avg: float | None
    satisfaction: float | None
    tickets: int

    @property
    def response_rate(self) -> float | None:
        return self.processed / self.incoming if self.incoming else None


_BESIDE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="stats")


def _summary_apart(bind, agent_id: int, period: Period, until: datetime | None) -> "Summary":
    with Session(bind) as session:
        return summary(session, session.get(Agent, agent_id), period, until)


def _comparable_end(period: Period, now: datetime) -> datetime | None:
    """While the period is still running (it includes today), the previous one is compared only
    up to the same moment (오늘 until 10:00 against yesterday until 10:00, not all of it)."""
    if period.end() <= now:
        return None
    return now - timedelta(days=period.days)


def summary(session: Session, agent: Agent, period: Period, until: datetime | None = None) -> Summary:
    dialect = session.get_bind().dialect.name
    has_ticket = history.HAS_TICKET_SQL.correlate(Chat)

    def count_of(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    row = session.exec(
        select(
            sa.func.count(), count_of(history.IS_STATE[PROCESSED]), count_of(history.IS_STATE[UNPROCESSED]),
            sa.func.avg(history.wait_seconds_sql(dialect)), sa.func.avg(history.handle_seconds_sql(dialect)),
            sa.func.avg(Chat.rating_score), count_of(has_ticket),
        ).where(history.visible_to(agent), Chat.created_at >= period.start(),
                Chat.created_at < (min(period.end(), until) if until is not None else period.end()))
    ).one()
    incoming, processed, abandoned, wait, handle, score, tickets = row
    as_float = lambda v: float(v) if v is not None else None  # noqa: E731 - PostgreSQL answers Decimal
    return Summary(int(incoming), int(processed), int(abandoned), as_float(wait), as_float(handle), as_float(score), int(tickets))


def _status_seconds(session: Session, agent_ids: list[int], period: Period, now: datetime) -> dict[int, Counter]:
    """Seconds each agent spent 온라인 and 휴식 within the period (status history)."""
    start, end = period.start(), min(period.end(), now)
    spent: dict[int, Counter] = defaultdict(Counter)
    if not agent_ids or end <= start:
        return spent
    logs = session.exec(
        select(AgentStatusLog).where(
            AgentStatusLog.agent_id.in_(agent_ids),
            AgentStatusLog.status.in_((STATUS_ONLINE, STATUS_BREAK)),
            AgentStatusLog.started_at < end,
            sa.or_(AgentStatusLog.ended_at.is_(None), AgentStatusLog.ended_at > start),
        )
    )
    for log in logs:
        began = max(_aware(log.started_at), start)
        ended = min(_aware(log.ended_at) if log.ended_at else now, end)
        if ended > began:
            spent[log.agent_id][log.status] += int((ended - began).total_seconds())
    return spent


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def report(session: Session, agent: Agent, period: Period, now: datetime | None = None) -> Report:
    """Every figure of /stats for `agent` (an admin: everyone; an agent: their own chats)."""
    from . import categories as category_service

    now = now or datetime.now(timezone.utc)
    # The previous period's sums, meanwhile, on a connection of their own (the database works
    # on them while this thread reads and counts the period's rows).
    bind, agent_id = session.get_bind(), agent.id
    previous = _BESIDE.submit(_summary_apart, bind, agent_id, period.previous(), _comparable_end(period, now))
    rows = _rows(session, agent, period)
    total = Figures()
    by_day: dict[date, Tally] = defaultdict(Tally)
    by_hour = [Tally() for _ in range(24)]
    week = [[0] * 24 for _ in range(7)]
    by_agent: dict[int, Figures] = defaultdict(Figures)
    by_category: Counter = Counter()
    by_channel: dict[str, Tally] = defaultdict(Tally)
    tz = display_timezone()
    offset_of: dict = {}  # the zone's offset by UTC hour: one conversion per hour, not per chat
    for created_at, agent_id, category_id, channel, score, opened, state, wait, handle, ticket in rows:
        values = (state, opened, wait, handle, score, ticket)
        total.add_values(*values)
        hour_key = created_at.replace(minute=0, second=0, microsecond=0, tzinfo=None)
        offset = offset_of.get(hour_key)
        if offset is None:
            offset = offset_of[hour_key] = _aware(created_at).astimezone(tz).utcoffset()
        local = created_at.replace(tzinfo=None) + offset
        by_day[local.date()].add(state, score)
        by_hour[local.hour].add(state, score)
        week[local.weekday()][local.hour] += 1
        if agent_id is not None:
            by_agent[agent_id].add_values(*values)
        if category_id is not None:
            by_category[category_id] += 1
        by_channel[channel or CHANNEL_HELP_CENTER].add(state, score)
    days = [(period.date_from + timedelta(days=i), by_day.get(period.date_from + timedelta(days=i), Tally()))
            for i in range(period.days)]

    # 상담원별: an admin sees every agent who could take chats or had one; an agent only themself.
    if agent.role == "admin":
        had_chats = list(by_agent) or [0]
        people = list(session.exec(select(Agent).where(
            sa.or_(sa.and_(Agent.active, Agent.can_chat), Agent.id.in_(had_chats))).order_by(Agent.name)))
    else:
        people = [agent]
    ids = [p.id for p in people]
    assigned = Counter(dict(session.exec(
        select(ChatAssignment.agent_id, sa.func.count(sa.distinct(ChatAssignment.chat_id)))
        .join(Chat, Chat.id == ChatAssignment.chat_id)
        .where(ChatAssignment.agent_id.in_(ids or [0]), Chat.created_at >= period.start(), Chat.created_at < period.end())
        .group_by(ChatAssignment.agent_id)
    ).all()))
    spent = _status_seconds(session, ids, period, now)
    agents = [
        AgentRow(p.id, p.name, assigned.get(p.id, 0), by_agent.get(p.id, Figures()),
                 spent[p.id][STATUS_ONLINE], spent[p.id][STATUS_BREAK])
        for p in people
    ]

    # 처리유형별: each chat counts for its category and every level above it.
    tree = category_service.admin_tree(session, with_usage=False)
    parent = {c["id"]: c["parent_id"] for c in tree}
    at_level: Counter = Counter()
    for category_id, n in by_category.items():
        current, steps = category_id, 0
        while current is not None and steps <= len(tree):
            at_level[current] += n
            current, steps = parent.get(current), steps + 1
    share = (lambda n: n / total.incoming) if total.incoming else (lambda n: 0.0)
    categories = [
        {"id": c["id"], "path": c["path"], "depth": c["depth"], "count": at_level[c["id"]], "share": share(at_level[c["id"]])}
        for c in tree if at_level[c["id"]]
    ]
    uncategorized = total.incoming - sum(by_category.values())
    if uncategorized:  # so that the shares of the top level add up (id 0, path "": 미분류)
        categories.append({"id": 0, "path": "", "depth": 0, "count": uncategorized, "share": share(uncategorized)})
    ranked = sorted(by_channel.items(), key=lambda item: (-item[1].incoming, item[0]))
    channels = [{"channel": ch, "count": f.incoming, "processed": f.processed, "share": share(f.incoming)}
                for ch, f in ranked[:MAX_CHANNELS]]
    if len(ranked) > MAX_CHANNELS:  # the other embedding pages, together (channel "")
        rest = ranked[MAX_CHANNELS:]
        count = sum(f.incoming for _, f in rest)
        channels.append({"channel": "", "count": count, "processed": sum(f.processed for _, f in rest), "share": share(count)})
    return Report(
        period=period,
        total=total,
        previous=previous.result(),
        days=days,
        hours=by_hour,
        week=week,
        agents=agents,
        categories=categories,
        channels=channels,
    )


def history_query(period: Period, **conditions: str) -> dict[str, str]:
    """The 채팅 기록 search (its URL's query) listing exactly the chats behind a figure."""
    query = {"from": period.date_from.isoformat(), "to": period.date_to.isoformat()}
    query.update({k: v for k, v in conditions.items() if v})
    return query
