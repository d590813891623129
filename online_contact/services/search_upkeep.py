"""검색어's index when a stored message changes or goes (masking by hand, 고객 정보 삭제,
retention), and the indexer that keeps SQLite's index up to date and merges what was removed
out of its file. The index itself (its terms, tables and queries) is services/search.py.
"""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa

from .search import INDEX_TABLE, PG_INDEX, SEQ_BITS, STATE_TABLE, _SQLITE_INSERT, _UPTO, catch_up, index_many, terms

# SQLite's index holds no content, so a row can only be taken out with the terms it was put in
# with ('delete' command): the caller changes `message` first (which takes SQLite's write lock, so
# the indexer cannot index the old text meanwhile), the index is then brought up to date in the
# same transaction, and only rows indexed before that are taken out by their old text.
_SQLITE_DELETE = sa.text(f"INSERT INTO {INDEX_TABLE} ({INDEX_TABLE}, rowid, terms) VALUES ('delete', :key, :terms)")
# A 'delete' only adds a tombstone: the old terms stay in the index's segments (found by no
# search, but in the file) until FTS5 merges the segment holding them with the tombstone. So a
# removal marks the index, and the indexer merges it, a few pages per transaction, until one
# segment is left (compact_step); secure_delete zeroes the pages freed.
_NEEDS_COMPACT = sa.text(f"UPDATE {STATE_TABLE} SET compact = 1 WHERE id = 1")
_COMPACT_PENDING = sa.text(f"SELECT compact FROM {STATE_TABLE} WHERE id = 1")
_COMPACTED = sa.text(f"UPDATE {STATE_TABLE} SET compact = 0 WHERE id = 1")
_MERGE = sa.text(f"INSERT INTO {INDEX_TABLE} ({INDEX_TABLE}, rank) VALUES ('merge', :pages)")
MERGE_PAGES = 64  # per transaction (~4 KB each)


def _sqlite_catch_up_all(conn: sa.Connection) -> int:
    """In a transaction that already wrote: index every pending message; returns the mark before."""
    before = conn.execute(_UPTO).scalar_one()
    while catch_up(conn):
        pass
    return before


def _pg_rebuild(conn: sa.Connection, chat_ids: list[int], keep: bool) -> None:
    """PostgreSQL: the chats' rows made again from their messages (or dropped). The rows are
    locked first, so a message stored meanwhile appends after the rebuild, not before it."""
    if not chat_ids:
        return
    conn.execute(sa.select(PG_INDEX.c.chat_id).where(PG_INDEX.c.chat_id.in_(chat_ids)).with_for_update())
    conn.execute(sa.delete(PG_INDEX).where(PG_INDEX.c.chat_id.in_(chat_ids)))
    if keep:
        message = sa.table("message", sa.column("chat_id"), sa.column("seq"), sa.column("text"))
        rows = conn.execute(
            sa.select(message.c.chat_id, message.c.seq, message.c.text)
            .where(message.c.chat_id.in_(chat_ids)).order_by(message.c.chat_id, message.c.seq)
        ).all()
        index_many(conn, [tuple(r) for r in rows])


def message_changed(conn: sa.Connection, chat_id: int, message_id: int, seq: int, old_text: str, new_text: str) -> None:
    """The caller just changed a stored message's text in this transaction: the index follows."""
    if conn.dialect.name == "postgresql":
        _pg_rebuild(conn, [chat_id], keep=True)
        return
    if message_id > _sqlite_catch_up_all(conn):
        return  # indexed just now, with the new text
    key = (chat_id << SEQ_BITS) | seq
    conn.execute(_SQLITE_DELETE, {"key": key, "terms": " ".join(terms(old_text))})
    conn.execute(_SQLITE_INSERT, {"key": key, "terms": " ".join(terms(new_text))})
    conn.execute(_NEEDS_COMPACT)


def forget_chats(conn: sa.Connection, chat_ids: list[int], compact: bool = True) -> None:
    """Take the chats' messages out of the index, before the caller deletes or blanks them in
    this transaction (it wrote already: SQLite's write lock is held). Their texts are then
    found by no search, and never indexed again. `compact=False`: the caller marks the index
    for merging itself once it is done (retention's many batches: one merge, not one per batch)."""
    if not chat_ids:
        return
    if conn.dialect.name == "postgresql":
        _pg_rebuild(conn, chat_ids, keep=False)
        return
    _sqlite_catch_up_all(conn)
    message = sa.table("message", sa.column("chat_id"), sa.column("seq"), sa.column("text"))
    rows = conn.execute(sa.select(message.c.chat_id, message.c.seq, message.c.text).where(message.c.chat_id.in_(chat_ids))).all()
    if rows:
        conn.execute(_SQLITE_DELETE, [{"key": (r.chat_id << SEQ_BITS) | r.seq, "terms": " ".join(terms(r.text))} for r in rows])
        if compact:
            conn.execute(_NEEDS_COMPACT)


def needs_compaction(conn: sa.Connection) -> None:
    """SQLite: mark the index for merging (see compact_step)."""
    if conn.dialect.name != "postgresql":
        conn.execute(_NEEDS_COMPACT)


def compact_step(conn: sa.Connection) -> bool:
    """SQLite, in a transaction: after a removal, merge a few pages of the index's segments
    (tombstones and the terms they delete cancel out as they meet). Returns True while there is
    more to do; the mark is cleared in the transaction that found nothing left to merge."""
    if not conn.execute(_COMPACT_PENDING).scalar():
        return False
    raw = conn.connection.dbapi_connection
    before = raw.total_changes
    conn.execute(_MERGE, {"pages": -MERGE_PAGES})  # negative: segments of every level merge
    if raw.total_changes - before > 1:
        return True
    conn.execute(_COMPACTED)
    return False


def compact(bind: sa.Engine) -> int:
    """SQLite: merge until what was removed has left the index's segments (what the indexer does
    in the background). Returns the transactions it took."""
    if bind.dialect.name == "postgresql":
        return 0
    steps = 0
    while True:
        with bind.begin() as conn:
            more = compact_step(conn)
        steps += 1
        if not more:
            return steps


INDEXER_SECONDS = 0.5
INDEXER_BATCH = 500


def _compact_once(bind: sa.Engine) -> bool:
    with bind.begin() as conn:
        return compact_step(conn)


# What the indexer has to do, in one read: messages not indexed yet, and a removal to merge out.
_TODO = sa.text(f"SELECT (SELECT max(id) FROM message) > upto, compact FROM {STATE_TABLE} WHERE id = 1")


async def indexer_loop() -> None:
    """The lifespan task (SQLite): every half second, index what was stored meanwhile, a few
    hundred rows per transaction (about a millisecond each), yielding to the event loop between
    them. A search brings the index up to date itself as well, so nothing waits for this."""
    from .db import engine

    bind = engine()
    if bind.dialect.name == "postgresql":
        return
    log = logging.getLogger("online_contact.search")
    while True:
        await asyncio.sleep(INDEXER_SECONDS)
        try:
            with bind.connect() as conn:
                pending, removed = conn.execute(_TODO).one()
            while pending:
                with bind.begin() as conn:
                    pending = catch_up(conn, INDEXER_BATCH) == INDEXER_BATCH
                await asyncio.sleep(0)
            # Text masked or erased: merged out of the index, a step per transaction, in a
            # thread (a step writes a few hundred KB).
            while removed and await asyncio.to_thread(_compact_once, bind):
                await asyncio.sleep(0)
        except Exception:  # noqa: BLE001 - the next tick tries again; searches catch up anyway
            log.exception("search indexer")
