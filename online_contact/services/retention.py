"""보관 기간 (설정 › 개인정보): what is past its retention is deleted or anonymized, in batches.

- a chat ended and older than 채팅 보관 기간: its messages are deleted (and taken out of the
  index), its customer's details on it (name, email, IP, device, memo) and its rating comment
  blanked, `purged_at` set; the chat row stays with its times, status and score, so 통계 and
  채팅 기록's counts do not change;
- a customer with no chat or inquiry left that is not purged, created before that: name, email,
  memo and browser key blanked;
- consent records older than 동의 기록 보관 기간: deleted (their chats let go of them first);
- inquiries (tickets) older than 문의 보관 기간: subject, body and requester blanked;
- audit log entries older than 감사 로그 보관 기간: deleted.

`passes()` does one batch per step in its own transaction; the lifespan task runs them in a
thread, one at a time with a pause between, in one worker at a time (like presence), and writes
what it did to the audit log (counts, never content). Ages are counted from `created_at`.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import logging
import os
from datetime import datetime
from typing import Iterator

import sqlalchemy as sa
from sqlmodel import Session, select

from online_contact.models import AuditLog, Chat, ConsentRecord, Customer, Message, Rating, Ticket
from online_contact.models._base import utcnow
from online_contact.models.chat import CHAT_ENDED

from . import audit, routing, search_upkeep
from .privacy import CHAT_PERSONAL, RETENTION, TICKET_PERSONAL, withdraw_exports

logger = logging.getLogger(__name__)
BATCH = 50  # rows (chats: with their messages) per transaction: ~10 ms of SQLite's write lock (make bench-retention)
PAUSE = 0.05  # seconds between two batches
LEADER_KEY = "oc-retention-leader"
COUNTS = ("chats", "messages", "customers", "consents", "tickets", "audit")


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day if shorter)."""
    month = moment.month - 1 - months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def cutoffs(session: Session, now: datetime) -> dict[str, datetime]:
    from .settings import get_settings

    s = get_settings(session)
    return {
        "chats": months_before(now, s.keep_chats_months),
        "consents": months_before(now, s.keep_consents_months),
        "tickets": months_before(now, s.keep_inquiries_months),
        "audit": months_before(now, s.keep_audit_months),
    }


def _purge_chats(session: Session, cutoff: datetime, now: datetime, batch: int, counts: dict) -> int:
    ids = list(session.exec(
        # Not one still on its agent's screen (the customer left, the agent has not finished it).
        select(Chat.id).where(Chat.created_at < cutoff, Chat.purged_at.is_(None), Chat.status == CHAT_ENDED,
                              sa.not_(routing.ON_AN_AGENTS_SCREEN))
        .order_by(Chat.id).limit(batch)
    ))
    if not ids:
        return 0
    conn = session.connection()
    # A write first: SQLite's lock is held before the index catches up (search_upkeep.forget_chats),
    # and an erasure cannot come in between (PostgreSQL: the chats' rows are locked).
    conn.execute(sa.update(Chat).where(Chat.id.in_(ids)).values(**CHAT_PERSONAL, purged_at=now))
    # The chats of erased customers left the index at their erasure (SQLite's index must not be
    # asked to drop a row twice: a contentless FTS5 'delete' of a row it lacks damages it).
    indexed = list(session.exec(select(Chat.id).join(Customer, Customer.id == Chat.customer_id)
                                .where(Chat.id.in_(ids), Customer.erased_at.is_(None))))
    search_upkeep.forget_chats(conn, indexed, compact=False)  # merged once, after the pass (passes)
    counts["messages"] += conn.execute(sa.delete(Message).where(Message.chat_id.in_(ids))).rowcount
    conn.execute(sa.update(Rating).where(Rating.chat_id.in_(ids)).values(comment=""))
    counts["chats"] += len(ids)
    return len(ids)


def _anonymize_customers(session: Session, cutoff: datetime, now: datetime, batch: int, counts: dict) -> int:
    kept_chat = select(Chat.id).where(Chat.customer_id == Customer.id, Chat.purged_at.is_(None)).correlate(Customer)
    kept_ticket = select(Ticket.id).where(Ticket.customer_id == Customer.id, Ticket.erased_at.is_(None)).correlate(Customer)
    ids = list(session.exec(
        select(Customer.id).where(Customer.created_at < cutoff, Customer.erased_at.is_(None), ~kept_chat.exists(), ~kept_ticket.exists())
        .order_by(Customer.id).limit(batch)
    ))
    if ids:
        session.connection().execute(sa.update(Customer).where(Customer.id.in_(ids))
                                     .values(name="", email="", memo="", visitor_key=None, erased_at=now))
        counts["customers"] += len(ids)
    return len(ids)


def _delete_consents(session: Session, cutoff: datetime, now: datetime, batch: int, counts: dict) -> int:
    ids = list(session.exec(select(ConsentRecord.id).where(ConsentRecord.created_at < cutoff).order_by(ConsentRecord.id).limit(batch)))
    if ids:
        conn = session.connection()
        conn.execute(sa.update(Chat).where(Chat.consent_id.in_(ids)).values(consent_id=None))
        conn.execute(sa.delete(ConsentRecord).where(ConsentRecord.id.in_(ids)))
        counts["consents"] += len(ids)
    return len(ids)


def _erase_tickets(session: Session, cutoff: datetime, now: datetime, batch: int, counts: dict) -> int:
    ids = list(session.exec(select(Ticket.id).where(Ticket.created_at < cutoff, Ticket.erased_at.is_(None)).order_by(Ticket.id).limit(batch)))
    if ids:
        session.connection().execute(sa.update(Ticket).where(Ticket.id.in_(ids)).values(**TICKET_PERSONAL, erased_at=now))
        counts["tickets"] += len(ids)
    return len(ids)


def _delete_audit(session: Session, cutoff: datetime, now: datetime, batch: int, counts: dict) -> int:
    ids = list(session.exec(select(AuditLog.id).where(AuditLog.created_at < cutoff).order_by(AuditLog.id).limit(batch)))
    if ids:
        session.connection().execute(sa.delete(AuditLog).where(AuditLog.id.in_(ids)))
        counts["audit"] += len(ids)
    return len(ids)


# (step, which cutoff): chats before customers (a customer is due once their chats are purged).
STEPS = ((_purge_chats, "chats"), (_erase_tickets, "tickets"), (_anonymize_customers, "chats"),
         (_delete_consents, "consents"), (_delete_audit, "audit"))


def passes(bind: sa.Engine, now: datetime | None = None, batch: int = BATCH) -> Iterator[dict[str, int]]:
    """One batch per step (yields the counts so far after each); each batch is one transaction.
    When anything was done, the last step writes the counts to the audit log."""
    now = now or utcnow()
    counts = dict.fromkeys(COUNTS, 0)
    with Session(bind) as session:
        due = cutoffs(session, now)
    for step, which in STEPS:
        while True:
            with Session(bind) as session:
                done = step(session, due[which], now, batch, counts)
                session.commit()
            yield counts
            if done < batch:
                break
    if counts["chats"]:
        with bind.begin() as conn:
            search_upkeep.needs_compaction(conn)  # the indexer merges the purged terms out of SQLite's index
    if counts["chats"] or counts["customers"]:
        withdraw_exports()  # no 채팅 기록 export made before keeps what was purged
    if any(counts.values()):
        audit.record(bind, RETENTION, target_type="retention", detail=json.dumps(counts))
        logger.info("retention: %s", ", ".join(f"{k} {v}" for k, v in counts.items() if v))


def run_once(bind: sa.Engine, now: datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Everything due now, at once (tests, `python -m online_contact.manage retention`)."""
    counts = dict.fromkeys(COUNTS, 0)
    for counts in passes(bind, now, batch):
        pass
    search_upkeep.compact(bind)  # what the server's indexer does next: the purged terms leave the index's file
    return dict(counts)


async def retention_loop() -> None:
    """The lifespan task: a pass every OC_RETENTION_SECONDS (default an hour; the first a minute
    after start), by one worker at a time, each batch in a thread so live chat never waits."""
    import uuid

    import redis.asyncio as aioredis

    from online_contact.config import redis_url
    from online_contact.realtime.presence import leading

    from .db import engine

    interval = float(os.environ.get("OC_RETENTION_SECONDS", "3600"))
    url = redis_url()
    redis = aioredis.from_url(url) if url else None
    me = uuid.uuid4().hex
    wait = min(60.0, interval)
    while True:
        await asyncio.sleep(wait)
        wait = interval
        try:
            if redis is not None and not await leading(redis, me, int(interval * 1000) + 60_000, key=LEADER_KEY):
                continue
            steps = passes(engine())
            while await asyncio.to_thread(next, steps, None) is not None:
                await asyncio.sleep(PAUSE)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - keep the loop alive, say why
            logger.exception("retention pass failed")
