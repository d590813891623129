"""The schema and the assignment rules on PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel, func, select

import online_contact.models  # noqa: F401  (registers the tables)
from online_contact.manage import migrate
from online_contact.models import Agent, Chat, Message
from online_contact.services import chats as chat_service
from online_contact.services import messages as message_service
from online_contact.services import customers as customer_service
from online_contact.services import search
from online_contact.services.db import session_scope

from tests.support import run_async

from .conftest import PG_ADMIN, schema_url, start_customer_chat


def test_migrations_run_clean_on_postgresql():
    schema = f"oc_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    engine = create_engine(schema_url(schema))
    try:
        migrate(schema_url(schema))
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert set(SQLModel.metadata.tables) <= tables
            ctx = MigrationContext.configure(conn, opts={
                "include_object": lambda obj, name, type_, *_: not (type_ == "table" and search.is_index_table(name)),
            })
            diff = compare_metadata(ctx, SQLModel.metadata)
            assert search.INDEX_TABLE in tables
            assert diff == [], diff
            assert conn.execute(text("select version_num from alembic_version")).scalar()
        migrate(schema_url(schema))  # a second run is a no-op
    finally:
        engine.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_fifty_chats_at_once_with_three_agents_are_each_assigned_once(pg_url):
    limit, agents_online, chats = 15, 3, 50
    with session_scope(pg_url) as s:
        agents = s.exec(select(Agent).order_by(Agent.id)).all()
        for a in agents:
            a.status = "online" if a.email in ("agent1@example.com", "agent2@example.com", "admin@example.com") else "offline"
            a.max_open_chats = limit
            a.open_chat_count = 0
            s.add(a)
        online_ids = {a.id for a in agents if a.status == "online"}
    assert len(online_ids) == agents_online

    barrier = threading.Barrier(chats)
    errors: list[BaseException] = []
    started: list[int] = []

    def start_one(i: int) -> None:
        try:
            with session_scope(pg_url) as s:
                customer = customer_service.customer_for_visitor(s, f"load-{uuid.uuid4().hex}", create=True)
                consent = customer_service.record_consent(s, customer, True, "127.0.0.1")
                s.commit()
                barrier.wait(timeout=60)
                chat = chat_service.start_chat(s, customer, consent, name=f"고객{i}")
                started.append(chat.id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start_one, args=(i,)) for i in range(chats)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(started) == chats

    with session_scope(pg_url) as s:
        rows = s.exec(select(Chat).where(Chat.id.in_(started))).all()
        counts = {a.id: a.open_chat_count for a in s.exec(select(Agent))}
    assigned = [c for c in rows if c.agent_id is not None]
    waiting = [c for c in rows if c.agent_id is None]
    assert len(assigned) == min(chats, limit * agents_online)
    assert all(c.status == "waiting" for c in waiting)
    assert {c.agent_id for c in assigned} <= online_ids
    per_agent = {aid: sum(1 for c in assigned if c.agent_id == aid) for aid in online_ids}
    # A chat claimed twice would leave an agent's counter above the chats it really holds.
    assert per_agent == {aid: counts[aid] for aid in online_ids}
    assert max(per_agent.values()) <= limit
    assert all(c.assignment_reason for c in assigned)


def test_a_pooled_connection_the_database_dropped_is_replaced(pg_url, monkeypatch):
    """No ping per checkout (db._ping_after_idle): a connection that sat idle is tested first, so
    after a database restart (here: the server ends our session) the next use still works."""
    from online_contact.services import db as db_service

    monkeypatch.setattr(db_service, "PING_AFTER_IDLE", 0.2)
    url = pg_url + "&application_name=oc-ping-test"  # its own engine, so its pool holds one connection
    with session_scope(url) as s:
        pid = s.connection().execute(text("SELECT pg_backend_pid()")).scalar_one()
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.5)
    with session_scope(url) as s:
        fresh = s.connection().execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert fresh != pid
    db_service.engine(url).dispose()

    # The same for the message path's async pool.
    async def async_pool():
        eng = db_service.async_engine(url)
        try:
            async with eng.connect() as conn:
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            await asyncio.sleep(0.5)
            async with eng.connect() as conn:
                assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
        finally:
            await eng.dispose()

    run_async(async_pool())


def only_agent1_online(s) -> None:
    for a in s.exec(select(Agent)).all():
        a.status = "online" if a.email == "agent1@example.com" else "offline"
        a.open_chat_count, a.max_open_chats = 0, 5
        s.add(a)
    s.commit()


def _post_fast(pg_url: str, chat_id: int, text: str, client_id: str, **who):
    """messages.post_message_fast as the wire runs it: on an AUTOCOMMIT async connection."""
    from sqlalchemy.ext.asyncio import create_async_engine

    async def post():
        eng = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
        try:
            async with eng.connect() as conn:
                return await message_service.post_message_fast(conn, chat_id, text, client_id, **who)
        finally:
            await eng.dispose()

    return run_async(post())


def test_the_one_statement_post_keeps_the_posting_rules(pg_url):
    """post_message_fast (the wire on PostgreSQL): only the chat's customer or its logged-in
    agent posts, seqs stay contiguous, the first agent reply is marked, and whatever it does
    not store (a resend, an ended chat, someone else) it leaves untouched for the full path."""

    from online_contact.services.auth import start_session
    from online_contact.services.errors import ServiceError

    with session_scope(pg_url) as s:
        only_agent1_online(s)
        key = f"fast-{uuid.uuid4().hex}"
        chat = start_customer_chat(s, key, "한번에")
        agent = s.get(Agent, chat.agent_id)
        assert agent.email == "agent1@example.com"
        token = start_session(s, agent)
        other = start_session(s, s.exec(select(Agent).where(Agent.email == "agent2@example.com")).one())
        chat_id, agent_id, greeting_seq = chat.id, agent.id, chat.last_seq


    def stored() -> tuple[Chat, list[tuple[int, str, str, int | None]]]:
        with session_scope(pg_url) as s:
            rows = s.exec(select(Message).where(Message.chat_id == chat_id).order_by(Message.seq)).all()
            return s.get(Chat, chat_id), [(m.seq, m.author, m.text, m.agent_id) for m in rows]

    def post(text, client_id, **who):
        return _post_fast(pg_url, chat_id, text, client_id, **who)

    # Before the agent opened the chat from the list, their post is not stored.
    assert post("아직 안 열었어요", "a-0", auth_token=token) is None
    with session_scope(pg_url) as s:
        chat_service.mark_opened(s, s.get(Chat, chat_id), s.get(Agent, agent_id))
    message, chat_agent = post(" 안녕하세요 ", "c-1", visitor_key=key)
    assert (message.seq, message.text, message.author, message.agent_id, chat_agent) == (greeting_seq + 1, "안녕하세요", "customer", None, agent_id)
    assert stored()[0].first_agent_reply_at is None
    reply, _ = post("네, 말씀하세요", "a-1", auth_token=token)
    assert (reply.seq, reply.author, reply.agent_id) == (greeting_seq + 2, "agent", agent_id)
    chat_row, before = stored()
    assert chat_row.first_agent_reply_at is not None and chat_row.last_seq == greeting_seq + 2
    assert before[-2:] == [(greeting_seq + 1, "customer", "안녕하세요", None), (greeting_seq + 2, "agent", "네, 말씀하세요", agent_id)]
    # The same statement put both in the search index (검색어 finds them at once).
    with session_scope(pg_url) as s:
        for word in ("안녕", "말씀"):
            assert chat_id in s.exec(search.chats_with("postgresql", search.parse(word)[0])).scalars().all(), word

    # Nothing stored, nothing counted: a resend, another customer, another agent.
    assert post("안녕하세요", "c-1", visitor_key=key) is None
    assert post("끼어들기", "x-1", visitor_key="someone-else") is None
    assert post("남의 채팅", "o-1", auth_token=other) is None
    with pytest.raises(ServiceError, match="error.message_empty"):
        post("   ", "c-2", visitor_key=key)
    with session_scope(pg_url) as s:
        chat_service.end_by_customer(s, s.get(Chat, chat_id))
    assert post("늦은 메시지", "c-3", visitor_key=key) is None
    chat_row, after = stored()
    assert after == before and chat_row.last_seq == greeting_seq + 2
    with session_scope(pg_url) as s:
        assert chat_id not in s.exec(search.chats_with("postgresql", search.parse("끼어들기")[0])).scalars().all()


def test_a_message_postgresql_cannot_index_is_stored_all_the_same(pg_url):
    """A pasted run of 700 CJK letters is one "word" over PostgreSQL's 2,047-byte lexeme limit,
    and a chat's index row stops growing before the 1 MB tsvector limit: the messages are stored
    (both paths), only not searchable."""
    from sqlalchemy import update

    with session_scope(pg_url) as s:
        only_agent1_online(s)
        key = f"long-{uuid.uuid4().hex}"
        chat_id = start_customer_chat(s, key, "긴단어").id

    def post(text, client_id):
        return _post_fast(pg_url, chat_id, text, client_id, visitor_key=key)

    assert post("漢" * 700, "l-1") is not None
    with session_scope(pg_url) as s:
        message, created = message_service.post_message(s, message_service.chat_for_visitor(s, chat_id, key), "customer", "字" * 700 + " 말씀", "l-2")
        assert created
    with session_scope(pg_url) as s:
        assert chat_id in s.exec(search.chats_with("postgresql", search.parse("말씀")[0])).scalars().all()
        # A chat whose index row is at the cap: the next message is stored, the row unchanged.
        s.exec(update(search.PG_INDEX).where(search.PG_INDEX.c.chat_id == chat_id).values(
            terms=sa_text_vector(search.MAX_PG_ROW_BYTES)))
    with session_scope(pg_url) as s:
        size = s.exec(select(func.pg_column_size(search.PG_INDEX.c.terms)).where(search.PG_INDEX.c.chat_id == chat_id)).one()
    assert post("새 메시지 환불", "l-3") is not None
    with session_scope(pg_url) as s:
        after = s.exec(select(func.pg_column_size(search.PG_INDEX.c.terms)).where(search.PG_INDEX.c.chat_id == chat_id)).one()
        assert size >= search.MAX_PG_ROW_BYTES and after == size


def test_a_chat_from_a_page_with_a_long_korean_path_starts_on_postgresql(pg_url):
    """채팅 기록's index (ix_chat_history) holds the channel, and PostgreSQL's btree refuses a row
    over 2,704 bytes: a page whose path is 1,975 Hangul letters (random: no compression) failed the
    chat's INSERT. The channel is kept to 2,000 bytes."""
    import random

    page = "https://shop.example.com/" + "".join(chr(random.randrange(0xAC00, 0xD7A4)) for _ in range(1975)) + "?email=a@b.c"
    with session_scope(pg_url) as s:
        only_agent1_online(s)
        customer = customer_service.customer_for_visitor(s, f"long-page-{uuid.uuid4().hex}", create=True)
        consent = customer_service.record_consent(s, customer, True, "127.0.0.1")
        chat = chat_service.start_chat(s, customer, consent, name="긴주소", channel=page)
        stored = s.get(Chat, chat.id, populate_existing=True).channel
    assert page.startswith(stored) and len(stored.encode()) <= 2000 and "?" not in stored


def sa_text_vector(size: int):
    """A tsvector of at least `size` bytes (distinct lexemes with positions)."""
    from sqlalchemy import cast, literal
    from sqlalchemy.dialects.postgresql import TSVECTOR

    n = size // 12 + 1
    return cast(literal(" ".join(f"'w{i:07d}':{i % 16000 + 1}" for i in range(n))), TSVECTOR)


def test_the_one_statement_post_counts_a_visitors_messages_per_second(pg_url, monkeypatch):
    """OC_LIMIT_MESSAGES_PER_SECOND holds in the wire's one-statement post too: the statement
    stores nothing past the limit, and the full path then says why (error.too_fast)."""
    from sqlalchemy import update

    from online_contact.models._base import utcnow
    from online_contact.services.errors import ServiceError

    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_SECOND", "2")
    with session_scope(pg_url) as s:
        only_agent1_online(s)
        key = f"burst-{uuid.uuid4().hex}"
        chat_id = start_customer_chat(s, key, "연타").id

    def post(text, client_id):
        return _post_fast(pg_url, chat_id, text, client_id, visitor_key=key)

    assert post("하나", "b-1") is not None
    assert post("둘", "b-2") is not None
    assert post("셋", "b-3") is None
    with session_scope(pg_url) as s, pytest.raises(ServiceError, match="error.too_fast"):
        message_service.post_message(s, message_service.chat_for_visitor(s, chat_id, key), "customer", "셋", "b-3")
    with session_scope(pg_url) as s:
        s.exec(update(Chat).where(Chat.id == chat_id).values(burst_started_at=utcnow().replace(year=2000)))
    assert post("셋", "b-3") is not None


@pytest.mark.parametrize("upgrade", ["upgrade_with_rows", "channels_and_inquiries_upgrade", "customer_left_upgrade"])
def test_the_data_migrations_on_postgresql_with_rows(upgrade):
    """tests/unit/test_migrations.py's upgrades of a database with rows, on PostgreSQL, each in a
    schema of its own: the early data migrations, 0011 (channels as origin + path, inquiries
    linked by email) and 0013 (chats the customer left end; slots counted again)."""
    import psycopg

    from tests.integration.conftest import PG_ADMIN, schema_url
    from tests.unit import test_migrations

    schema = f"oc_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        getattr(test_migrations, upgrade)(schema_url(schema))
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def fresh_pg_session():
    """A session on a schema of its own with the demo workspace (the generated chats of the
    채팅 기록 checks stay out of the other tests' schema)."""
    from online_contact.services.seed import seed_demo

    schema = f"oc_hist_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = schema_url(schema)
    try:
        migrate(url)
        seed_demo(url)
        with session_scope(url) as session:
            yield session
    finally:
        from online_contact.services.db import engine

        engine(url).dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_history_search_conditions_on_postgresql(fresh_pg_session):
    from tests.unit.test_history import check_every_condition_matches_a_brute_force_scan

    check_every_condition_matches_a_brute_force_scan(fresh_pg_session)


def test_history_korean_and_english_search_on_postgresql(fresh_pg_session):
    from tests.unit.test_history import check_korean_and_english_words_are_found_inside_longer_words

    check_korean_and_english_words_are_found_inside_longer_words(fresh_pg_session)


def test_history_processed_in_sql_on_postgresql(fresh_pg_session):
    from tests.unit.test_history import check_processed_in_sql_is_the_python_rule

    check_processed_in_sql_is_the_python_rule(fresh_pg_session)


def test_stats_figures_on_postgresql(fresh_pg_session, monkeypatch):
    from tests.unit.test_stats import check_every_figure_matches_the_hand_computed_values

    monkeypatch.setenv("OC_TIMEZONE", "Asia/Seoul")
    check_every_figure_matches_the_hand_computed_values(fresh_pg_session)


def test_stats_live_view_on_postgresql(fresh_pg_session):
    from tests.unit.test_stats import check_the_live_view

    check_the_live_view(fresh_pg_session)


# ---- 개인정보 보호 on PostgreSQL (tests/unit/test_privacy.py on SQLite) ------------------------------
def _indexed_put(monkeypatch) -> None:
    """tests/unit/test_privacy.py's `_put` stores a message of an ended chat straight through
    the ORM. On SQLite the indexer picks such rows up (by message id); on PostgreSQL only the
    statement storing a message indexes it (messages.append, post_message_fast), so here `_put`
    also does what append does: search.index_message, in the message's transaction."""
    import tests.unit.test_privacy as unit

    put = unit._put

    def put_and_index(session, chat, text, author="customer"):
        put(session, chat, text, author)
        seq = session.get(Chat, chat.id).last_seq
        search.index_message(session.connection(), chat.id, seq, text)
        session.commit()

    monkeypatch.setattr(unit, "_put", put_and_index)


def test_retention_on_postgresql(fresh_pg_session, monkeypatch):
    """보관 기간: the same records either side of each limit, the same counts, and the purged
    chats gone from the search index (PostgreSQL's row per chat in message_search)."""
    from tests.unit.test_privacy import check_retention_deletes_exactly_what_is_due

    _indexed_put(monkeypatch)
    session = fresh_pg_session
    check_retention_deletes_exactly_what_is_due(session)
    purged = session.exec(select(Chat.id).where(Chat.purged_at.is_not(None))).all()
    kept = session.exec(select(Chat.id).where(Chat.purged_at.is_(None))).all()
    assert purged and kept
    indexed = set(session.exec(select(search.PG_INDEX.c.chat_id)).all())
    assert not indexed & set(purged)  # the purged chats' index rows are gone, not just emptied
    assert indexed & set(kept)  # the recent chat's row is still there


def _pg_url_of(session) -> str:
    return session.get_bind().url.render_as_string(hide_password=False)


def _index_terms(session, chat_id: int) -> set[str]:
    """The lexemes of the chat's row in PostgreSQL's index (none: no row)."""
    lexemes = session.exec(select(func.tsvector_to_array(search.PG_INDEX.c.terms)).where(search.PG_INDEX.c.chat_id == chat_id)).first()
    return set(lexemes or ())


def test_masking_by_hand_and_erasing_a_customer_change_the_index_on_postgresql(fresh_pg_session, monkeypatch):
    """tests/unit/test_privacy.py's 마스킹 (a part, then a whole message) and 고객 정보 삭제 on
    PostgreSQL: the message rows change and the chat's index row is rebuilt from them, so the
    removed words are found by no search and the rest still is; once the customer is erased the
    chat is in no search result and has no index row."""
    from datetime import datetime, timezone

    from online_contact.models import AuditLog, Customer, Message
    from online_contact.models.agent import ROLE_ADMIN
    from online_contact.models.chat import CHAT_OPEN
    from online_contact.services import privacy
    from tests.unit.test_privacy import NAME_LINE, SECRET_LINE, _found, _texts, check_masking_by_hand

    session = fresh_pg_session
    monkeypatch.setenv("DATABASE_URL", _pg_url_of(session))  # the masking switches are read from here
    privacy.forget_cached_kinds()
    admin = session.exec(select(Agent).where(Agent.role == ROLE_ADMIN)).first()
    agent = session.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
    key = f"mask-{uuid.uuid4().hex}"
    chat = start_customer_chat(session, key, "마스킹")
    chat.agent_id, chat.status, chat.agent_opened_at = agent.id, CHAT_OPEN, datetime.now(timezone.utc)
    session.add(chat)
    session.commit()

    first, _ = message_service.post_message(session, chat, "customer", NAME_LINE, "m-1")
    second, _ = message_service.post_message(session, chat, "customer", SECRET_LINE, "m-2")
    # PostgreSQL indexes in the statement that stores the message: both are found at once.
    assert _found(session, admin, "홍길동") == [chat.id] and _found(session, admin, "qwerty123") == [chat.id]
    assert {"홍길", "길동", "qwerty123", "마포"} <= _index_terms(session, chat.id)

    check_masking_by_hand(session, agent, admin, chat, first, second)
    assert _found(session, admin, "qwerty") == [] and _found(session, admin, "비밀번호") == []
    assert _found(session, admin, "서울시") == [chat.id]
    terms = _index_terms(session, chat.id)
    assert not terms & {"홍길", "길동", "qwerty123", "비밀", "번호"} and {"마포", "서울", "이름"} <= terms, terms
    # The greeting (a system message) is still indexed too: the row was rebuilt, not emptied.
    greeting = session.exec(select(Message.text).where(Message.chat_id == chat.id, Message.seq == 1)).one()
    assert set(search.terms(greeting)) <= terms
    entries = session.exec(select(AuditLog).where(AuditLog.action == privacy.MASK).order_by(AuditLog.id)).all()
    assert [(e.actor_agent_id, e.target_id) for e in entries] == [(agent.id, chat.id), (admin.id, chat.id)]
    assert all("홍길동" not in e.detail and "qwerty" not in e.detail for e in entries)

    # 고객 정보 삭제 (the chat ended first: a chat going on is refused).
    chat_service.end_by_agent(session, session.get(Chat, chat.id), agent)
    erased = privacy.erase_customer(session, admin, chat.customer_id, "정보주체 삭제 요청")
    assert erased.chat_ids == (chat.id,) and erased.messages == 2
    session.expire_all()
    assert _found(session, admin, "마포구") == [] and _found(session, admin, "서울시") == []
    assert _index_terms(session, chat.id) == set()
    assert not session.exec(select(search.PG_INDEX.c.chat_id).where(search.PG_INDEX.c.chat_id == chat.id)).all()
    assert {m for m in _texts(session, chat.id)[first.seq - 1:]} == {""}
    assert session.get(Customer, chat.customer_id).erased_at is not None


def test_erasing_a_customer_changes_no_audit_entry_that_is_not_about_them_on_postgresql(fresh_pg_session, monkeypatch):
    """tests/unit/test_privacy.py's check that 고객 정보 삭제 blanks and stars only what names the
    customer, in entries about them, on PostgreSQL (the target match is SQL)."""
    from tests.unit.conftest import Factory
    from tests.unit.test_privacy import check_erasure_changes_only_entries_about_them

    monkeypatch.setenv("DATABASE_URL", _pg_url_of(fresh_pg_session))
    check_erasure_changes_only_entries_about_them(fresh_pg_session, Factory(fresh_pg_session))


def test_the_wire_on_postgresql_stores_indexes_and_sends_only_masked_numbers(fresh_pg_session, monkeypatch):
    """The message path on PostgreSQL (/_wire → post_message_fast, gate + insert + index in one
    statement): a card number, a phone number and a 주민등록번호 reach the message row, the chat's
    tsvector, the sender's answer and the other sockets only masked
    (SQLite, the Reflex handlers and the relay: tests/unit/test_privacy_leaks.py)."""
    from online_contact.models import Customer, Message
    from online_contact.realtime.wire import WireNamespace
    from online_contact.services import privacy
    from online_contact.services.auth import start_session
    from online_contact.services.db import _async_engine, async_engine
    from tests.support import RecordingSocketServer
    from tests.unit.test_privacy_leaks import MASKED, MASKED_TERMS, RAW_TERMS, TEXT, assert_only_masked

    session = fresh_pg_session
    url = _pg_url_of(session)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    privacy.forget_cached_kinds()
    only_agent1_online(session)
    key = f"wire-{uuid.uuid4().hex}"
    chat = start_customer_chat(session, key, "전화번호")
    agent = session.get(Agent, chat.agent_id)
    assert agent.email == "agent1@example.com"
    chat_service.mark_opened(session, chat, agent)
    token = start_session(session, agent)
    session.commit()
    assert session.get(Customer, chat.customer_id).visitor_key == key
    ns = WireNamespace()
    ns._set_server(RecordingSocketServer())
    answers = {}

    async def scenario():
        try:
            assert async_engine() is not None  # the one-statement post, not the full path
            await ns.on_connect("cust", {}, {"role": "customer", "credential": key})
            await ns.on_connect("ag", {}, {"role": "agent", "credential": token})
            for sid in ("cust", "ag"):
                assert (await ns.on_join(sid, {"chat_id": chat.id}))["ok"]
            answers["customer"] = await ns.on_send("cust", {"chat_id": chat.id, "client_id": "pg-c1", "text": TEXT})
            answers["agent"] = await ns.on_send("ag", {"chat_id": chat.id, "client_id": "pg-a1", "text": TEXT})
        finally:
            eng = async_engine()
            if eng is not None:
                await eng.dispose()  # its connections belong to this test's event loop
            _async_engine.cache_clear()

    run_async(scenario())
    assert answers["customer"]["message"]["text"] == MASKED and answers["agent"]["message"]["text"] == MASKED
    assert {text for _, text in ns.server.delivered()} == {MASKED} and len(ns.server.delivered()) == 2
    assert_only_masked("what the wire sent", repr(ns.server.emits) + repr(answers))
    session.expire_all()
    stored = session.exec(select(Message.text).where(Message.chat_id == chat.id, Message.author != "system")).all()
    assert stored == [MASKED, MASKED]
    rows = session.exec(text("SELECT * FROM message WHERE chat_id = :c"), params={"c": chat.id}).all()
    assert_only_masked("the chat's message rows", repr(rows))
    terms = _index_terms(session, chat.id)
    assert set(MASKED_TERMS) <= terms and not terms & set(RAW_TERMS), terms
    for word in RAW_TERMS:
        assert chat.id not in session.exec(search.chats_with("postgresql", search.parse(word)[0])).scalars().all(), word
    assert chat.id in session.exec(search.chats_with("postgresql", search.parse("5678")[0])).scalars().all()


# ---- the customer leaving (issue 23) ------------------------------------------------------------
def test_a_chat_the_customer_left_ends_there_on_postgresql(fresh_pg_session):
    from tests.unit.test_customer_left import check_an_answered_chat_the_customer_left_ends_there

    check_an_answered_chat_the_customer_left_ends_there(fresh_pg_session)


def test_an_agents_post_to_a_chat_the_customer_left_is_refused_on_postgresql(pg_url):
    """Both paths: the one-statement post stores nothing (the wire then takes the full path,
    which says why), and the full path refuses too, also with a gate read before the end."""
    from online_contact.services.auth import start_session
    from tests.unit.test_customer_left import check_an_agents_post_to_a_chat_the_customer_left_is_refused

    with session_scope(pg_url) as s:
        only_agent1_online(s)
        key = f"left-{uuid.uuid4().hex}"
        chat = start_customer_chat(s, key, "떠난손님")
        agent = s.get(Agent, chat.agent_id)
        token = start_session(s, agent)
        check_an_agents_post_to_a_chat_the_customer_left_is_refused(s, chat, agent)
        chat_id, last_seq = chat.id, s.get(Chat, chat.id, populate_existing=True).last_seq

    assert _post_fast(pg_url, chat_id, "아직 계세요?", "a-fast", auth_token=token) is None
    with session_scope(pg_url) as s:
        assert s.get(Chat, chat_id).last_seq == last_seq
        assert "아직 계세요?" not in s.exec(select(Message.text).where(Message.chat_id == chat_id)).all()


def test_the_customer_and_the_agent_ending_at_once_give_back_one_slot_on_postgresql(pg_url):
    """Both ends on two connections at the same moment, for many chats: each chat gives back
    exactly one slot, whichever UPDATE takes the row first."""
    from sqlalchemy import update

    rounds = 12
    with session_scope(pg_url) as s:
        only_agent1_online(s)
        agent = s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
        agent.max_open_chats = rounds + 1
        s.add(agent)
        s.commit()
        agent_id = agent.id
        chat_ids = []
        for i in range(rounds):
            chat = start_customer_chat(s, f"both-{uuid.uuid4().hex}", f"동시{i}")
            assert chat.agent_id == agent_id
            chat_service.mark_opened(s, chat, agent)
            chat_ids.append(chat.id)
        assert s.get(Agent, agent_id, populate_existing=True).open_chat_count == rounds
        # Other chats' slots, so that a slot given back twice would show (the count stops at 0).
        s.exec(update(Agent).where(Agent.id == agent_id).values(open_chat_count=Agent.open_chat_count + 100))
        s.commit()

    errors: list[BaseException] = []

    def end(chat_id: int, side: str, barrier: threading.Barrier) -> None:
        try:
            with session_scope(pg_url) as s:
                chat = s.get(Chat, chat_id)  # read before the other side's end
                who = s.get(Agent, agent_id)
                s.commit()
                barrier.wait(timeout=30)
                if side == "customer":
                    chat_service.end_by_customer(s, chat)
                else:
                    chat_service.end_by_agent(s, chat, who)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    for chat_id in chat_ids:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=end, args=(chat_id, side, barrier)) for side in ("customer", "agent")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors
    with session_scope(pg_url) as s:
        assert s.get(Agent, agent_id).open_chat_count == 100
        ended = s.exec(select(Chat).where(Chat.id.in_(chat_ids))).all()
        assert all(c.customer_ended_at and c.agent_ended_at and c.status == "ended" for c in ended)
