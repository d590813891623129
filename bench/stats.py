"""`make bench-stats`: the whole 통계 page's figures (services.stats.report: cards, the previous
period, days, hours, 요일 × 시간대, 상담원별, 처리유형별, 채널별) for 30 and 90 days on the database
of `make bench-history` (100,000 chats over three years, ~1,000,000 messages; plus the
assignments, tickets and status history a contact center has: `enrich`), SQLite and PostgreSQL, beside a plain `SELECT count(*)` over the same rows in the same run; and the live
view (services.live.now_view).

    python -m bench.stats                                  # both databases, 100k chats
    python -m bench.stats --keep /tmp/oc-hist --pg-schema oc_bench_keep   # reuse what bench.history filled
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from bench.history import _ms, build, databases
from online_contact.models import Agent, Chat
from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import history, live, stats
from online_contact.services.db import session_scope

REPEAT = 20


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def enrich(url: str) -> None:
    """What a contact center's database also holds and the page reads (bench.history's generator
    makes chats and messages only): an assignment per chat with an agent and a second one for
    every tenth (handed on), a ticket for every twentieth chat, and each agent's status history
    (온라인 09–12, 휴식 12–13, 온라인 13–18, every day of the three years)."""
    from datetime import datetime, time as day_time, timezone

    from online_contact.config import display_timezone
    from online_contact.models import AgentStatusLog, ChatAssignment, Ticket

    with session_scope(url) as session:
        if session.exec(select(sa.func.count()).select_from(ChatAssignment)).one():
            return
        agents = [a.id for a in session.exec(select(Agent))]
        rows = session.exec(select(Chat.id, Chat.agent_id, Chat.created_at).where(Chat.agent_id.is_not(None))).all()
        table = ChatAssignment.__table__
        batch = []
        for chat_id, agent_id, created in rows:
            if chat_id % 10 == 0:
                other = agents[(agents.index(agent_id) + 1) % len(agents)]
                batch.append({"chat_id": chat_id, "agent_id": other, "reason": "balanced", "assigned_at": created,
                              "released_at": created, "release_reason": "agent_break"})
            batch.append({"chat_id": chat_id, "agent_id": agent_id, "reason": "balanced", "assigned_at": created,
                          "released_at": None, "release_reason": ""})
        session.connection().execute(table.insert(), batch)
        session.connection().execute(Ticket.__table__.insert(), [
            {"source": "chat", "subject": "bench", "body": "", "status": "open", "chat_id": chat_id, "requester_name": "",
             "requester_email": "", "created_at": created} for chat_id, _agent, created in rows if chat_id % 20 == 0
        ])
        zone, logs = display_timezone(), []
        first = min(created for _, _, created in rows).astimezone(zone).date()
        for n in range((history.today() - first).days + 1):
            day = first + timedelta(days=n)
            at = lambda hour: datetime.combine(day, day_time(hour), zone).astimezone(timezone.utc)  # noqa: E731
            for agent_id in agents:
                for status, start, end in (("online", 9, 12), ("break", 12, 13), ("online", 13, 18), ("offline", 18, None)):
                    logs.append({"agent_id": agent_id, "status": status, "started_at": at(start),
                                 "ended_at": at(end) if end else at(9) + timedelta(days=1)})
        session.connection().execute(AgentStatusLog.__table__.insert(), logs)
        session.commit()
        session.exec(sa.text("ANALYZE"))
        session.commit()


def bench(url: str, label: str) -> None:
    with session_scope(url) as session:
        admin = session.exec(select(Agent).where(Agent.role == ROLE_ADMIN)).first()
        agent = session.exec(select(Agent).where(Agent.role != ROLE_ADMIN).order_by(Agent.id)).first()
        session.expunge_all()
        print(f"\n  {label} (p50 / p95 ms over {REPEAT} runs)")
        print(f"  {'period':24} {'chats':>8} {'whole page (admin)':>20} {'one agent':>16} {'count(*) baseline':>20}")
        today = history.today()
        for days in (30, 90):
            period = stats.Period(today - timedelta(days=days - 1), today)
            count = select(sa.func.count()).select_from(Chat).where(Chat.created_at >= period.start(), Chat.created_at < period.end())
            n = session.exec(count).one()
            whole = [_timed(lambda: stats.report(session, admin, period)) for _ in range(REPEAT)]
            mine = [_timed(lambda: stats.report(session, agent, period)) for _ in range(REPEAT)]
            baseline = [_timed(lambda: session.exec(count).one()) for _ in range(REPEAT)]
            print(f"  {f'last {days} days':24} {n:>8,} {'%7.1f / %7.1f' % _ms(whole):>20} {'%6.1f / %6.1f' % _ms(mine):>16}"
                  f" {'%7.1f / %7.1f' % _ms(baseline):>20}", flush=True)
        live_times = [_timed(lambda: live.now_view(session, admin)) for _ in range(REPEAT)]
        print(f"  {'실시간 (live view)':24} {'':>8} {'%7.1f / %7.1f' % _ms(live_times):>20}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", default="sqlite,postgres")
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--keep", help="a directory for the SQLite file, kept (and reused) between runs")
    parser.add_argument("--pg-schema", help="a PostgreSQL schema kept (and reused) between runs")
    args = parser.parse_args()
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="oc-stats-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; {args.chats:,} chats, ~{args.messages} messages each")
    for config, url in databases(args.configs, tmp, args.chats, args.pg_schema):
        print(f"\n{config}: filling …", flush=True)
        print(f"  filled in {build(url, args.chats, args.messages):.0f} s")
        enrich(url)
        bench(url, config)


if __name__ == "__main__":
    main()
