"""검색어: finding words in transcripts, Korean included, through an index kept beside `message`.

Korean writes particles and compounds onto a word (환불을, 부분환불), so an index of whole words
finds neither, and trigram indexes miss two-syllable words (most support keywords: 환불, 배송,
결제, 취소). Each message is therefore indexed as the overlapping two-syllable pieces of its
Hangul runs (부분환불 → 부분 분환 환불) followed by its other words in lower case; a query word
becomes the phrase of its own pieces, so 환불 finds 부분환불 and 환불을, and 배송지연 finds those
four syllables in that order only. A one-syllable query, and every non-Hangul word, matches as a
prefix (refund finds Refunds).

The index is one table per database, created by migration 0007 (not part of the SQLModel
metadata): on SQLite an FTS5 table without content, a row per message whose rowid is
chat id × 2^24 + seq, so a match gives chat ids without reading `message`; on PostgreSQL a
GIN-indexed tsvector per chat (its messages' vectors appended), written and queried as
tsvector / tsquery literals, so the server's locale never gets to split Hangul. Both are written
by the statement(s) that store the message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert

INDEX_TABLE = "message_search"
SEQ_BITS = 24  # SQLite rowid = chat_id << 24 | seq: 16.7 M messages per chat
MAX_QUERY_WORDS = 8
MAX_QUERY_LENGTH = 100
# PostgreSQL keeps positions up to 16383; a message is at most 2,000 characters.
MAX_POSITIONS = 16383
MAX_TERM = 64
# PostgreSQL refuses a tsvector over 1 MB: a chat's row stops growing well before (its later
# messages are then not searchable, and still stored).
MAX_PG_ROW_BYTES = 800_000

_WORD = re.compile(r"[가-힣]+|[^\W_가-힣]+")


def is_index_table(name: str) -> bool:
    """The search index and FTS5's shadow tables (left out of the schema comparison)."""
    return name == INDEX_TABLE or name.startswith(INDEX_TABLE + "_")


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def _is_hangul(word: str) -> bool:
    return "가" <= word[0] <= "힣"


def terms(text: str) -> list[str]:
    """The index terms of a message, in order: Hangul runs as overlapping syllable pairs (a
    single syllable as itself), other words whole, lower case. A "word" longer than MAX_TERM
    (a pasted hash, a run of letters) is not indexed: nobody searches for it, and PostgreSQL
    refuses a lexeme over 2,047 bytes (the message would then fail to store)."""
    out: list[str] = []
    for word in _words(text):
        if _is_hangul(word) and len(word) > 1:
            out.extend(word[i : i + 2] for i in range(len(word) - 1))
        elif len(word) <= MAX_TERM:
            out.append(word)
    return out[:MAX_POSITIONS]


@dataclass(frozen=True)
class Word:
    """One word of a query: its pieces in order, matched as a phrase (prefix: the last piece
    may be the start of a longer term)."""

    pieces: tuple[str, ...]
    prefix: bool


def parse(query: str) -> list[Word]:
    """The words of a 검색어 (each must occur somewhere in the chat); [] for none. Words of one
    character are left out: as prefixes they match nearly everything, at the cost of reading
    nearly the whole index (eight of them were a way to stall the server)."""
    words = []
    for word in [w for w in _words((query or "")[:MAX_QUERY_LENGTH]) if 1 < len(w) <= MAX_TERM][:MAX_QUERY_WORDS]:
        if _is_hangul(word):
            words.append(Word(tuple(word[i : i + 2] for i in range(len(word) - 1)), prefix=False))
        else:
            words.append(Word((word,), prefix=True))
    return words


def chat_matches(texts: list[str], words: list[Word]) -> bool:
    """The same rule in Python, over a chat's message texts: every word occurs in one of them
    (the reference the index is tested and benchmarked against)."""
    indexed = [terms(t) for t in texts]
    return all(any(_occurs(one, w) for one in indexed) for w in words)


def _occurs(indexed: list[str], word: Word) -> bool:
    n = len(word.pieces)
    for i in range(len(indexed) - n + 1):
        head = all(indexed[i + k] == word.pieces[k] for k in range(n - 1))
        last = indexed[i + n - 1]
        if head and (last.startswith(word.pieces[-1]) if word.prefix else last == word.pieces[-1]):
            return True
    return False


# ---- the index, per database -------------------------------------------------------------------
# SQLite: a row per message in FTS5 (rowid = chat_id << SEQ_BITS | seq), written in batches by
# catch_up, not by the message's own transaction: FTS5 makes a segment per transaction, and a
# transaction per message cost ~30 µs (p99 ~0.2 ms, with merges up to 3 ms on the event loop)
# against ~3.5 µs per row in a batch. STATE_TABLE holds the last message id indexed; a search
# first brings the index up to date (read-your-writes), and a lifespan task keeps it so.
_SQLITE_INSERT = sa.text(f"INSERT INTO {INDEX_TABLE} (rowid, terms) VALUES (:key, :terms)")
STATE_TABLE = f"{INDEX_TABLE}_state"
_PENDING = sa.text(f"SELECT (SELECT max(id) FROM message) > (SELECT upto FROM {STATE_TABLE} WHERE id = 1)")
_UPTO = sa.text(f"SELECT upto FROM {STATE_TABLE} WHERE id = 1")
_CLAIM = sa.text(f"UPDATE {STATE_TABLE} SET upto = :new WHERE id = 1 AND upto = :old")
_NEXT_MESSAGES = sa.text("SELECT id, chat_id, seq, text FROM message WHERE id > :upto ORDER BY id LIMIT :batch")

# PostgreSQL: a row per chat, its messages' vectors concatenated (tsvector ||, which shifts the
# new message's positions past the chat's last one). A match is then one row per chat: a common
# word over a million messages reads a tenth of the rows a row per message would.
_PG = sa.MetaData()
PG_INDEX = sa.Table(
    INDEX_TABLE,
    _PG,
    sa.Column("chat_id", sa.Integer, primary_key=True),
    sa.Column("terms", TSVECTOR, nullable=False),
)
# A message's positions start at 2, so that one position stays free between two messages of a
# chat once concatenated: a phrase never spans them. (PostgreSQL keeps positions up to 16383:
# past that, in a chat of some thousand messages, phrases of its later messages can match
# loosely; their words still match exactly.)
_FIRST_POSITION = 2


def pg_vector(text: str, first: int = _FIRST_POSITION) -> str:
    """A tsvector literal of a message's terms with their positions (phrases need them)."""
    return " ".join(f"'{t}':{min(i, MAX_POSITIONS)}" for i, t in enumerate(terms(text), start=first))


def pg_upsert(insert_stmt):
    """INSERT … ON CONFLICT: a chat's first message creates its row, the next ones append
    (until the row reaches MAX_PG_ROW_BYTES)."""
    appended = PG_INDEX.c.terms.op("||")(insert_stmt.excluded.terms)
    return insert_stmt.on_conflict_do_update(
        index_elements=[PG_INDEX.c.chat_id],
        set_={"terms": sa.case((sa.func.pg_column_size(PG_INDEX.c.terms) < MAX_PG_ROW_BYTES, appended), else_=PG_INDEX.c.terms)},
    )


_PG_INSERT = pg_upsert(pg_insert(PG_INDEX).values(chat_id=sa.bindparam("chat_id"), terms=sa.cast(sa.bindparam("terms"), TSVECTOR)))


def index_message(conn: sa.Connection, chat_id: int, seq: int, text: str) -> None:
    """Add a stored message to the index, in the caller's transaction (PostgreSQL: its chat's
    row; SQLite: nothing here, catch_up indexes it in the next batch)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_INSERT, {"chat_id": chat_id, "terms": pg_vector(text)})


def catch_up(conn: sa.Connection, batch: int = 2000) -> int:
    """SQLite: index the next stored messages not indexed yet, in the caller's transaction.
    Returns how many (0: up to date, or another process took this batch first)."""
    upto = conn.execute(_UPTO).scalar_one()
    rows = conn.execute(_NEXT_MESSAGES, {"upto": upto, "batch": batch}).all()
    if not rows:
        return 0
    # The claim first: it takes SQLite's write lock, so a second indexer waits here and then
    # finds the mark moved (and writes nothing twice).
    if conn.execute(_CLAIM, {"new": rows[-1].id, "old": upto}).rowcount != 1:
        return 0
    index_many(conn, [(r.chat_id, r.seq, r.text) for r in rows], immediate=True)
    return len(rows)


def bring_up_to_date(bind: sa.Engine) -> int:
    """SQLite: index every stored message not indexed yet, in batches of their own transactions
    (nothing to do costs one read). Returns how many were indexed."""
    if bind.dialect.name == "postgresql":
        return 0
    with bind.connect() as conn:
        if not conn.execute(_PENDING).scalar():
            return 0
    done = 0
    while True:
        with bind.begin() as conn:
            n = catch_up(conn)
        done += n
        if n == 0:
            return done


def index_many(conn: sa.Connection, messages, immediate: bool = False) -> None:
    """Index many stored messages, given as (chat_id, seq, text) in (chat_id, seq) order (the
    backfill, the benchmark's generator): one row per message on SQLite, one per chat (or one
    per chat and batch, appended) on PostgreSQL. On SQLite only catch_up writes the rows
    (`immediate`): whoever else stores messages leaves them to it."""
    if conn.dialect.name != "postgresql":
        rows = [{"key": (chat_id << SEQ_BITS) | seq, "terms": " ".join(terms(text))} for chat_id, seq, text in messages]
        if rows and immediate:
            conn.execute(_SQLITE_INSERT, rows)
        return
    chats: dict[int, list[str]] = {}
    last: dict[int, int] = {}
    size: dict[int, int] = {}
    for chat_id, _seq, text in messages:
        start = last.get(chat_id, 0) + _FIRST_POSITION
        found = terms(text)
        size[chat_id] = size.get(chat_id, 0) + sum(len(t) * 3 + 8 for t in found)
        if size[chat_id] > MAX_PG_ROW_BYTES // 2:
            continue  # the row's cap, counted generously (the literal is larger than the vector)
        chats.setdefault(chat_id, []).extend(f"'{t}':{min(i, MAX_POSITIONS)}" for i, t in enumerate(found, start=start))
        last[chat_id] = start + len(found) - 1 if found else last.get(chat_id, 0) + 1
    if chats:
        conn.execute(_PG_INSERT, [{"chat_id": chat_id, "terms": " ".join(parts)} for chat_id, parts in chats.items()])


def create_index(conn: sa.Connection) -> None:
    """Create the index table (migration 0007)."""
    if conn.dialect.name == "postgresql":
        _PG.create_all(conn)
        conn.execute(sa.text(f"CREATE INDEX ix_{INDEX_TABLE}_terms ON {INDEX_TABLE} USING gin (terms)"))
    else:
        # No content stored (the text is in `message`), no column sizes (no ranking): only the index.
        conn.execute(sa.text(
            f"CREATE VIRTUAL TABLE {INDEX_TABLE} USING fts5(terms, content='', columnsize=0,"
            " tokenize='unicode61 remove_diacritics 0')"
        ))
        conn.execute(sa.text(f"CREATE TABLE {STATE_TABLE} (id INTEGER PRIMARY KEY, upto INTEGER NOT NULL)"))
        conn.execute(sa.text(f"INSERT INTO {STATE_TABLE} (id, upto) VALUES (1, 0)"))


def drop_index(conn: sa.Connection) -> None:
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {INDEX_TABLE}"))
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {STATE_TABLE}"))


def backfill(conn: sa.Connection, batch: int = 5000) -> int:
    """Index every stored message (migration 0007). Returns how many."""
    if conn.dialect.name != "postgresql":
        done = 0
        while n := catch_up(conn, batch):
            done += n
        return done
    message = sa.table("message", sa.column("chat_id"), sa.column("seq"), sa.column("text"))
    after, done = (0, 0), 0
    while True:
        rows = conn.execute(
            sa.select(message.c.chat_id, message.c.seq, message.c.text)
            .where(sa.tuple_(message.c.chat_id, message.c.seq) > sa.tuple_(*after))
            .order_by(message.c.chat_id, message.c.seq).limit(batch)
        ).all()
        if not rows:
            return done
        index_many(conn, [tuple(r) for r in rows])
        after, done = (rows[-1].chat_id, rows[-1].seq), done + len(rows)


def _fts5_query(word: Word) -> str:
    return '"' + " ".join(word.pieces) + '"' + ("*" if word.prefix else "")


def _tsquery(word: Word) -> str:
    parts = [f"'{p}'" for p in word.pieces]
    if word.prefix:
        parts[-1] += ":*"
    return " <-> ".join(parts)


def chats_with(dialect: str, word: Word):
    """A SELECT of the ids of the chats with a message holding `word` (for `Chat.id IN`)."""
    if dialect == "postgresql":
        query = sa.cast(sa.literal(_tsquery(word)), TSQUERY)
        return sa.select(PG_INDEX.c.chat_id).where(PG_INDEX.c.terms.op("@@")(query))
    return sa.select(sa.literal_column("rowid").op(">>")(SEQ_BITS)).select_from(sa.table(INDEX_TABLE)).where(
        sa.literal_column(INDEX_TABLE).op("MATCH")(sa.literal(_fts5_query(word)))
    )
