"""`make bench-history`: 채팅 기록's search and 데이터 추출 on a contact center's years of chats.

Fills a database (SQLite file, and/or a PostgreSQL schema in database `test`) with 100,000 chats
and ~1,000,000 messages (bench/history_data.py), then prints:

- search: p50 / p95 of the first page and of page 100 (keyset: the cursor of row 4,950 found once,
  untimed) for 검색어 of two Korean syllables, of four, in English, and for conditions alone and
  combined, and of the total count the screen shows (counted once per search and sent after the
  rows, as 채팅 기록 does); beside it, in the same run, the
  baseline a plain `LIKE '%word%'` over the messages costs for the same word; and a check of every
  query's result set against a brute-force scan of a random sample of chats (Python, same rule);
- export: 100,000 chats with every message (services.export.write_xlsx) against a bare openpyxl
  write-only loop writing the same rows (already in memory) in the same run, and the growth of
  this process's resident memory over its size before the export.

    python -m bench.history                        # both databases, 100k chats
    python -m bench.history --configs sqlite --chats 20000 --keep /tmp/oc-hist
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import sqlalchemy as sa
from openpyxl import Workbook
from sqlmodel import select

from bench.history_data import generate
from online_contact.manage import migrate
from online_contact.models import Agent, Category, Chat, Message
from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import export, history, search
from online_contact.services.db import session_scope
from online_contact.services.seed import seed_demo

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
REPEAT = 20
SAMPLE = 3000


def _ms(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return statistics.median(values) * 1000, p95 * 1000


def build(url: str, chats: int, per_chat: int) -> float:
    migrate(url)
    seed_demo(url)
    started = time.perf_counter()
    with session_scope(url) as session:
        have = session.exec(select(sa.func.count()).select_from(Chat)).one()
        if have < chats:
            step = max(1, (chats - have) // 10)
            generate(session, chats - have, per_chat, seed=2026, days=3 * 365, batch=2000,
                     progress=lambda n: n % step < 2000 and print(f"    {have + n:,} chats", flush=True))
        session.commit()
        bind = session.get_bind()
        search.bring_up_to_date(bind)  # SQLite indexes in batches (PostgreSQL already did)
        session.exec(sa.text("ANALYZE"))
        session.commit()
    if bind.dialect.name == "postgresql":
        # What autovacuum does to a table that has been written: the visibility map lets the
        # covering index answer counts without reading the table.
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return time.perf_counter() - started


def cases(session) -> list[tuple[str, dict]]:
    top = session.exec(select(Category).where(Category.parent_id.is_(None)).order_by(Category.id)).first()
    agent = session.exec(select(Agent).where(Agent.role != ROLE_ADMIN).order_by(Agent.id)).first()
    every = {"from": "2020-01-01", "to": history.today().isoformat()}
    return [
        ("검색어 환불 (2 syllables)", {**every, "q": "환불"}),
        ("검색어 배송지연 (4 syllables)", {**every, "q": "배송지연"}),
        ("검색어 refund (English)", {**every, "q": "refund"}),
        ("검색어 rare: 영수증", {**every, "q": "영수증"}),
        ("conditions: 처리 + 대분류 + helpcenter", {**every, "state": "processed", "category": str(top.id), "channel": "helpcenter"}),
        ("conditions + 검색어: agent + 5점 + 환불", {**every, "agent": str(agent.id), "rating": "5", "q": "환불"}),
        ("default: last 7 days", {}),
        ("last 7 days + 환불", {"q": "환불"}),
    ]


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_search(url: str, label: str) -> None:
    with session_scope(url) as session:
        admin = session.exec(select(Agent).where(Agent.role == ROLE_ADMIN)).first()
        session.expunge(admin)
        print(f"\n  search, {label} (p50 / p95 ms over {REPEAT} runs; the total is counted once per search, sent after the rows)")
        print(f"  {'query':44} {'rows':>8} {'page 1':>15} {'page 100':>15} {'total count':>15} {'LIKE baseline':>15}  check")
        sample_ids = None
        texts: dict[int, list[str]] = {}
        for name, params in cases(session):
            c = history.parse_conditions(params)
            total = history.count(session, admin, c)
            first = [_timed(lambda: history.page(session, admin, c, count=False)) for _ in range(REPEAT)]
            counted = [_timed(lambda: history.count(session, admin, c)) for _ in range(REPEAT)]
            deep_cursor = None
            if total > 99 * history.PAGE_SIZE:
                row = session.exec(
                    select(Chat.created_at, Chat.id).where(*history.where(session, admin, c))
                    .order_by(Chat.created_at.desc(), Chat.id.desc()).offset(99 * history.PAGE_SIZE - 1).limit(1)
                ).first()
                deep_cursor = history.Cursor(row[0], row[1])
            deep = [_timed(lambda: history.page(session, admin, c, after=deep_cursor, count=False)) for _ in range(REPEAT)] if deep_cursor else []
            baseline = ""
            if c.q:
                word = c.q
                like = [
                    _timed(lambda: session.exec(
                        select(sa.func.count(sa.distinct(Message.chat_id))).where(Message.text.ilike(f"%{word}%"))
                    ).one())
                    for _ in range(3)
                ]
                baseline = "%7.0f / %5.0f" % _ms(like)
            # Correctness: the SQL result set against the rule in Python, on a random sample.
            if sample_ids is None:
                ids = session.exec(select(Chat.id)).all()
                sample_ids = set(random.Random(1).sample(ids, min(SAMPLE, len(ids))))
                for chat_id, text in session.exec(select(Message.chat_id, Message.text).where(Message.chat_id.in_(sample_ids))):
                    texts.setdefault(chat_id, []).append(text)
            found = set(session.exec(select(Chat.id).where(*history.where(session, admin, c), Chat.id.in_(sample_ids))).all())
            expected = set()
            words = search.parse(c.q)
            for chat in session.exec(select(Chat).where(Chat.id.in_(sample_ids))):
                if _matches_conditions(session, chat, c) and (not words or search.chat_matches(texts.get(chat.id, []), words)):
                    expected.add(chat.id)
            session.expunge_all()
            check = f"ok ({len(found)} of {len(sample_ids)})" if found == expected else f"WRONG: {len(found ^ expected)} differ"
            p1 = "%6.1f / %6.1f" % _ms(first)
            p100 = ("%6.1f / %6.1f" % _ms(deep)) if deep else "(fewer pages)"
            total_ms = "%6.1f / %6.1f" % _ms(counted)
            print(f"  {name:44} {total:>8,} {p1:>15} {p100:>15} {total_ms:>15} {baseline:>15}  {check}", flush=True)


def _matches_conditions(session, chat: Chat, c: history.Conditions) -> bool:
    from online_contact.config import display_timezone
    from online_contact.services import categories

    day = chat.created_at.astimezone(display_timezone()).date()
    if not c.date_from <= day <= c.date_to:
        return False
    if c.state and history.state_of(chat) != c.state:
        return False
    if c.agent_id and chat.agent_id != c.agent_id:
        return False
    if c.category_id and chat.category_id not in set(categories.subtree_ids(session, c.category_id)):
        return False
    if c.channel == "helpcenter" and chat.channel != "helpcenter":
        return False
    if c.rating and chat.rating_score != c.rating:
        return False
    return True


class PeakRss:
    """The process's resident memory, sampled every 20 ms while measuring."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _export_in_fresh_process(url: str, path: str, answer) -> None:
    """The export alone in a new process (as a server worker would run it): its memory before
    and at its peak, not what this benchmark's search phase left allocated."""
    from online_contact import online_contact  # noqa: F401  (what a server worker has imported)

    with session_scope(url) as session:
        admin = session.exec(select(Agent).where(Agent.role == ROLE_ADMIN)).first()
        c = history.parse_conditions({"from": "2020-01-01", "to": history.today().isoformat()})
        gc.collect()
        before = psutil.Process().memory_info().rss
        with PeakRss() as peak:
            started = time.perf_counter()
            result = export.write_xlsx(session, admin, c, Path(path))
            took = time.perf_counter() - started
    answer.put((took, before, peak.peak, result.chats, result.messages))


def bench_export(url: str, label: str, tmp: Path) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    path = tmp / f"export-{uuid.uuid4().hex}.xlsx"
    child = context.Process(target=_export_in_fresh_process, args=(url, str(path), answer))
    child.start()
    ours, before, peak_rss, chats, messages = answer.get()
    child.join()
    result = export.Result(path, chats, messages)
    grown = (peak_rss - before) / 2**20
    size = path.stat().st_size / 2**20
    path.unlink()
    with session_scope(url) as session:
        admin = session.exec(select(Agent).where(Agent.role == ROLE_ADMIN)).first()
        c = history.parse_conditions({"from": "2020-01-01", "to": history.today().isoformat()})
        # The baseline: exactly the rows the export wrote, built beforehand (untimed) and held
        # in memory, through a bare write-only loop.
        scratch = Workbook(write_only=True)
        cells = export._Cells(scratch.create_sheet("x"))
        chat_rows, message_rows = [], []
        for chats_part, messages_part in export.batches(session, admin, c, cells, cells):
            chat_rows += chats_part
            message_rows += messages_part
    bare_path = tmp / "bare.xlsx"
    started = time.perf_counter()
    book = Workbook(write_only=True)
    first, second = book.create_sheet("a"), book.create_sheet("b")
    for row in chat_rows:
        first.append(row)
    for row in message_rows:
        second.append(row)
    book.save(bare_path)
    bare = time.perf_counter() - started
    bare_path.unlink()
    print(f"\n  export, {label}: {result.chats:,} chats, {result.messages:,} messages, {size:.0f} MB file")
    print(f"    services.export.write_xlsx   {ours:6.1f} s   ({ours / bare:.2f}x the bare loop)")
    print(f"    bare openpyxl write-only     {bare:6.1f} s   (the same rows, already in memory)")
    print(f"    resident memory of a fresh process during the export: +{grown:.0f} MB over {before / 2**20:.0f} MB before",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", default="sqlite,postgres")
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=10, help="messages per chat on average")
    parser.add_argument("--keep", help="a directory for the SQLite file, kept (and reused) between runs")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--pg-schema", help="a PostgreSQL schema kept (and reused) between runs instead of a new one")
    args = parser.parse_args()
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="oc-hist-"))
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OC_EXPORT_DIR", str(tmp / "exports"))
    print(f"machine: {os.cpu_count()} cores; {args.chats:,} chats, ~{args.messages} messages each")
    for config, url in databases(args.configs, tmp, args.chats, args.pg_schema):
        print(f"\n{config}: filling …", flush=True)
        took = build(url, args.chats, args.messages)
        print(f"  filled in {took:.0f} s")
        bench_search(url, config)
        if not args.no_export:
            bench_export(url, config, tmp)


def databases(configs: str, tmp: Path, chats: int, pg_schema: str | None):
    """(config, URL) of each database to measure: a SQLite file in `tmp`, a PostgreSQL schema
    (new, and dropped afterwards, unless `pg_schema` names one to keep)."""
    for config in configs.split(","):
        schema = None
        if config == "sqlite":
            url = f"sqlite:///{tmp / f'history-{chats}.db'}"
        else:
            import psycopg

            schema = pg_schema or f"oc_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}" + os.environ.get("BENCH_PG_OPTIONS", "")
        try:
            yield config, url
        finally:
            from online_contact.services.db import engine

            engine(url).dispose()
            if schema and not pg_schema:
                import psycopg

                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
