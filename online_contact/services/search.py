"""검색어: finding words in transcripts, Korean included, through an index kept beside `message`.

Korean writes particles and compounds onto a word (환불을, 부분환불), so an index of whole words
finds neither, and trigram indexes miss two-syllable words (most support keywords: 환불, 배송,
결제, 취소). Each message is therefore indexed as the overlapping two-syllable pieces of its
Hangul runs (부분환불 → 부분 분환 환불) followed by its other words in lower case; a query word
becomes the phrase of its own pieces, so 환불 finds 부분환불 and 환불을, and 배송지연 finds those
four syllables in that order only. A one-syllable query, and every non-Hangul word, matches as a
prefix (refund finds Refunds).

The index is one table per database, created by migration 0007 (not part of the SQLModel
metadata): on SQLite an FTS5 table without content whose rowid is chat id × 2^24 + seq, so a
match gives chat ids without reading `message`; on PostgreSQL a GIN-indexed tsvector per
message, written and queried as tsvector / tsquery literals, so the server's locale never gets
to split Hangul. Both are written by the statement(s) that store the message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR

INDEX_TABLE = "message_search"
SEQ_BITS = 24  # SQLite rowid = chat_id << 24 | seq: 16.7 M messages per chat
MAX_QUERY_WORDS = 8
MAX_QUERY_LENGTH = 100
# PostgreSQL keeps positions up to 16383; a message is at most 2,000 characters.
MAX_POSITIONS = 16383

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
    single syllable as itself), other words whole, lower case."""
    out: list[str] = []
    for word in _words(text):
        if _is_hangul(word) and len(word) > 1:
            out.extend(word[i : i + 2] for i in range(len(word) - 1))
        else:
            out.append(word)
    return out[:MAX_POSITIONS]


@dataclass(frozen=True)
class Word:
    """One word of a query: its pieces in order, matched as a phrase (prefix: the last piece
    may be the start of a longer term)."""

    pieces: tuple[str, ...]
    prefix: bool


def parse(query: str) -> list[Word]:
    """The words of a 검색어 (each must occur somewhere in the chat); [] for none."""
    words = []
    for word in _words((query or "")[:MAX_QUERY_LENGTH])[:MAX_QUERY_WORDS]:
        if _is_hangul(word) and len(word) > 1:
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
_PG = sa.MetaData()
PG_INDEX = sa.Table(
    INDEX_TABLE,
    _PG,
    sa.Column("chat_id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("terms", TSVECTOR, nullable=False),
)
_SQLITE_INSERT = sa.text(f"INSERT INTO {INDEX_TABLE} (rowid, terms) VALUES (:key, :terms)")


def pg_vector(text: str) -> str:
    """A tsvector literal of the message's terms with their positions (phrases need them)."""
    return " ".join(f"'{t}':{i}" for i, t in enumerate(terms(text), start=1))


def _sqlite_document(text: str) -> str:
    return " ".join(terms(text))


def index_values(dialect: str, chat_id: int, seq: int, text: str) -> dict:
    """The parameters of the index row of a message."""
    if dialect == "postgresql":
        return {"chat_id": chat_id, "seq": seq, "terms": pg_vector(text)}
    return {"key": (chat_id << SEQ_BITS) | seq, "terms": _sqlite_document(text)}


_PG_INSERT = sa.insert(PG_INDEX).values(
    chat_id=sa.bindparam("chat_id"), seq=sa.bindparam("seq"), terms=sa.cast(sa.bindparam("terms"), TSVECTOR)
)


def index_message(conn: sa.Connection, chat_id: int, seq: int, text: str) -> None:
    """Add a stored message to the index, in the caller's transaction."""
    dialect = conn.dialect.name
    conn.execute(_PG_INSERT if dialect == "postgresql" else _SQLITE_INSERT, index_values(dialect, chat_id, seq, text))


def create_index(conn: sa.Connection) -> None:
    """Create the index table (migration 0007)."""
    if conn.dialect.name == "postgresql":
        _PG.create_all(conn)
        conn.execute(sa.text(f"CREATE INDEX ix_{INDEX_TABLE}_terms ON {INDEX_TABLE} USING gin (terms)"))
    else:
        # No content stored (the text is in `message`): only the index, about a third of the size.
        conn.execute(sa.text(
            f"CREATE VIRTUAL TABLE {INDEX_TABLE} USING fts5(terms, content='', tokenize='unicode61 remove_diacritics 0')"
        ))


def drop_index(conn: sa.Connection) -> None:
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {INDEX_TABLE}"))


def backfill(conn: sa.Connection, batch: int = 5000) -> int:
    """Index every stored message (migration 0007). Returns how many."""
    message = sa.table("message", sa.column("id"), sa.column("chat_id"), sa.column("seq"), sa.column("text"))
    dialect, last, done = conn.dialect.name, 0, 0
    statement = _PG_INSERT if dialect == "postgresql" else _SQLITE_INSERT
    while True:
        rows = conn.execute(
            sa.select(message.c.id, message.c.chat_id, message.c.seq, message.c.text)
            .where(message.c.id > last).order_by(message.c.id).limit(batch)
        ).all()
        if not rows:
            return done
        conn.execute(statement, [index_values(dialect, r.chat_id, r.seq, r.text) for r in rows])
        last, done = rows[-1].id, done + len(rows)


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
