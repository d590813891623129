"""`make bench-retention`: does the retention pass (services.retention) stall live chat?

On the database of `make bench-history` (chats over three years with their messages), with
채팅 보관 기간 set to 12 months (two thirds of the chats due), messages are posted to an open chat
one after another — first alone (the baseline), then while a pass runs beside them as the
lifespan task runs it (a batch per transaction in a thread, a pause between) — and the posting
times are printed side by side, with the pass's own figures (batches, the longest batch: how long
it holds SQLite's write lock); on SQLite also the merging of the index that follows a removal
(the purged terms leave the file), beside posting.

    python -m bench.retention                     # SQLite and PostgreSQL, 20,000 chats
    python -m bench.retention --chats 5000 --configs sqlite
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from bench.history import build, databases
from online_contact.models import Chat, Customer
from online_contact.models.chat import AUTHOR_CUSTOMER, CHAT_OPEN
from online_contact.services import messages as message_service
from online_contact.services import retention, search_upkeep
from online_contact.services import settings as settings_service
from online_contact.services.db import engine, session_scope

MESSAGES = 400


def _open_chat(url: str) -> int:
    with session_scope(url) as session:
        # Ids given: the generator inserts its own, so PostgreSQL's sequences were not moved.
        next_id = lambda model: (session.exec(select(sa.func.max(model.id))).one() or 0) + 1  # noqa: E731
        customer = Customer(id=next_id(Customer), visitor_key=None, name="bench")
        session.add(customer)
        session.commit()
        chat = Chat(id=next_id(Chat), customer_id=customer.id, status=CHAT_OPEN)
        session.add(chat)
        settings = settings_service.get_settings(session)
        settings.keep_chats_months = 12
        session.add(settings)
        session.commit()
        return chat.id


def _post(url: str, chat_id: int, n: int, tag: str, stop: threading.Event | None = None) -> list[float]:
    """Post `n` messages one after another (or until `stop`); the time of each."""
    times = []
    for i in range(n):
        if stop is not None and stop.is_set():
            break
        started = time.perf_counter()
        with session_scope(url) as session:
            chat = session.get(Chat, chat_id)
            message_service.post_message(session, chat, AUTHOR_CUSTOMER, f"배송 문의드립니다 {tag} {i}", f"{tag}-{i}")
        times.append(time.perf_counter() - started)
    return times


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.1f} ms"


def _summary(times: list[float]) -> str:
    if not times:
        return "—"
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"n {len(times):>4}  p50 {_ms(statistics.median(ordered))}  p95 {_ms(p95)}  max {_ms(ordered[-1])}"


def measure(url: str) -> None:
    os.environ["DATABASE_URL"] = url  # what the message path reads its masking switches from
    os.environ["OC_LIMIT_MESSAGES_PER_SECOND"] = "0"  # one message after another, as fast as they go
    chat_id = _open_chat(url)
    alone = _post(url, chat_id, MESSAGES, "alone")
    batches: list[float] = []
    counts: dict = {}
    done = threading.Event()

    def run_pass() -> None:
        nonlocal counts
        steps = retention.passes(engine(url))
        while True:
            started = time.perf_counter()
            step = next(steps, None)
            if step is None:
                break
            batches.append(time.perf_counter() - started)
            counts = dict(step)
            time.sleep(retention.PAUSE)
        done.set()

    with session_scope(url) as session:
        due = session.exec(select(Chat.id).where(Chat.purged_at.is_(None))).all()
    worker = threading.Thread(target=run_pass)
    started = time.perf_counter()
    worker.start()
    during: list[float] = []
    while not done.is_set():
        during += _post(url, chat_id, 50, f"during{len(during)}", stop=done)
    worker.join()
    took = time.perf_counter() - started
    print(f"    posting alone          {_summary(alone)}")
    print(f"    posting during a pass  {_summary(during)}")
    print(f"    the pass: {took:.1f} s, {len(batches)} batches (p50 {_ms(statistics.median(batches))}, "
          f"max {_ms(max(batches))}); of {len(due):,} chats: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if engine(url).dialect.name != "postgresql":
        # SQLite: the purged terms merged out of the index (the indexer's work after a removal,
        # a pass or one 마스킹 alike), step by step, beside posting.
        steps: list[float] = []
        done.clear()

        def merge() -> None:
            while True:
                started = time.perf_counter()
                with engine(url).begin() as conn:
                    more = search_upkeep.compact_step(conn)
                steps.append(time.perf_counter() - started)
                if not more:
                    break
            done.set()

        worker = threading.Thread(target=merge)
        worker.start()
        during = []
        while not done.is_set():
            during += _post(url, chat_id, 50, f"merge{len(during)}", stop=done)
        worker.join()
        print(f"    posting during merging {_summary(during)}")
        print(f"    merging the index: {sum(steps):.1f} s in {len(steps)} steps (p50 {_ms(statistics.median(steps))}, "
              f"max {_ms(max(steps))})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=20_000)
    parser.add_argument("--per-chat", type=int, default=10)
    parser.add_argument("--configs", default="sqlite,postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for config, url in databases(args.configs, Path(tmp), args.chats, None):
            print(f"{config}: building {args.chats:,} chats …", flush=True)
            build(url, args.chats, args.per_chat)
            measure(url)


if __name__ == "__main__":
    main()
