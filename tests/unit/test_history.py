"""채팅 기록's rules: who sees which chats, every search condition against a brute-force scan of
generated chats, 처리 / 미처리 in SQL against the Python rule, Korean and English 검색어, and
keyset pages. The `check_*` functions run on PostgreSQL too (tests/integration)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bench.history_data import generate, texts_by_chat
from online_contact.config import display_timezone
from online_contact.models import Agent, Category, Chat, ChatAssignment, Customer, Ticket
from online_contact.models.agent import ROLE_ADMIN
from online_contact.models.chat import CHAT_ENDED
from online_contact.services import chats as chat_service
from online_contact.services import messages as message_service
from online_contact.services import history, search, search_upkeep
from online_contact.services.errors import NotAllowed


def _admin(session: Session) -> Agent:
    return session.exec(select(Agent).where(Agent.role == ROLE_ADMIN)).first()


def _an_agent(session: Session) -> Agent:
    return session.exec(select(Agent).where(Agent.role != ROLE_ADMIN).order_by(Agent.id)).first()


def _everything(**changes) -> history.Conditions:
    c = history.parse_conditions({"from": "2000-01-01", "to": history.today().isoformat()})
    return history.parse_conditions({**c.to_query(), **changes})


def _all_ids(session: Session, agent: Agent, c: history.Conditions) -> list[int]:
    ids = []
    for batch in history.rows_in_batches(session, agent, c, batch=97):
        ids += [chat.id for chat in batch]
    return ids


def _local_day(moment):
    return moment.astimezone(display_timezone()).date()


def _state(chat: Chat) -> str:
    if chat.status != CHAT_ENDED:
        return history.IN_PROGRESS
    return chat_service.processing_status(chat)


def _expected(session: Session, agent: Agent, c: history.Conditions, texts: dict[int, list[str]]) -> list[int]:
    """The same search by brute force, in Python, over every chat."""
    from online_contact.services import categories as category_service

    subtree = set(category_service.subtree_ids(session, c.category_id)) if c.category_id else None
    words = search.parse(c.q)
    found = []
    for chat in session.exec(select(Chat)):
        if agent.role != ROLE_ADMIN and chat.agent_id != agent.id:
            continue
        if not c.date_from <= _local_day(chat.created_at) <= c.date_to:
            continue
        if c.state in (history.LEFT_WAITING, history.NO_REPLY):
            if history.abandoned_kind(chat) != c.state:
                continue
        elif c.state and _state(chat) != c.state:
            continue
        if c.agent_id and chat.agent_id != c.agent_id:
            continue
        if subtree is not None and chat.category_id not in subtree:
            continue
        if c.channel == "helpcenter" and chat.channel != "helpcenter":
            continue
        if c.channel == "embed" and chat.channel == "helpcenter":
            continue
        if c.channel not in ("", "helpcenter", "embed") and chat.channel != c.channel:
            continue
        if c.customer and c.customer.lower() not in (chat.customer_name.lower() + "\n" + chat.customer_email.lower()):
            continue
        if c.rating and chat.rating_score != c.rating:
            continue
        if c.rated and chat.rating_score is None:
            continue
        if c.ticket and not session.exec(select(Ticket).where(Ticket.chat_id == chat.id)).first():
            continue
        if c.wait >= 0 and (history.wait_seconds(chat) is None or history.wait_bucket(history.wait_seconds(chat)) != c.wait):
            continue
        if c.assigned and not session.exec(select(ChatAssignment).where(
                ChatAssignment.chat_id == chat.id, ChatAssignment.agent_id == c.assigned)).first():
            continue
        hour, dow = history.local_clock(chat.created_at)
        if (c.hour >= 0 and hour != c.hour) or (c.dow >= 0 and dow != c.dow):
            continue
        if words and not search.chat_matches(texts.get(chat.id, []), words):
            continue
        found.append(chat)
    found.sort(key=lambda chat: (chat.created_at, chat.id), reverse=True)
    return [chat.id for chat in found]


def check_every_condition_matches_a_brute_force_scan(session: Session) -> None:
    generate(session, chats=400, messages_per_chat=6, seed=7, days=60)
    texts = texts_by_chat(session)
    admin, agent = _admin(session), _an_agent(session)
    top = session.exec(select(Category).where(Category.parent_id.is_(None))).first()
    leaf = session.exec(select(Category).where(Category.depth == 2)).first()
    page_url = session.exec(select(Chat.channel).where(Chat.channel != "helpcenter")).first()
    # The assignment history (the generator makes none): every chat to its agent, every third
    # first to another one who let it go.
    agents = [a.id for a in session.exec(select(Agent))]
    for chat in session.exec(select(Chat).where(Chat.agent_id.is_not(None))):
        session.add(ChatAssignment(chat_id=chat.id, agent_id=chat.agent_id, reason="balanced"))
        if chat.id % 3 == 0:
            session.add(ChatAssignment(chat_id=chat.id, agent_id=agents[(agents.index(chat.agent_id) + 1) % len(agents)],
                                       reason="balanced", release_reason="agent_break"))
    for chat in session.exec(select(Chat).where(Chat.agent_id.is_not(None)).limit(25)):
        session.add(Ticket(chat_id=chat.id, source="chat", subject="t"))
    session.commit()
    cases = [
        {}, {"state": "processed"}, {"state": "unprocessed"}, {"state": "in_progress"},
        {"state": "left_waiting"}, {"state": "no_reply"}, {"channel": page_url}, {"rating": "any"}, {"ticket": "1"},
        *({"wait": str(i)} for i in range(len(history.WAIT_BUCKETS))), {"wait": "1", "state": "processed", "ticket": "1"},
        {"assigned": str(agent.id)}, {"assigned": str(agent.id), "state": "processed"},
        {"hour": "10"}, {"hour": "0"}, {"dow": "2"}, {"dow": "6", "hour": "23"}, {"hour": "14", "state": "processed"},
        {"agent": str(agent.id)}, {"category": str(top.id)}, {"category": str(leaf.id)},
        {"channel": "helpcenter"}, {"channel": "embed"}, {"customer": "김민"}, {"customer": "EXAMPLE.COM"},
        {"rating": "5"}, {"rating": "1"}, {"q": "환불"}, {"q": "배송지연"}, {"q": "refund"}, {"q": "REFUNDS"},
        {"q": "환불 감사"}, {"q": "주문 refund"},
        {"state": "processed", "category": str(top.id), "q": "환불", "channel": "helpcenter"},
        {"agent": str(agent.id), "rating": "5", "customer": "user"},
    ]
    recent = {"from": (history.today() - timedelta(days=6)).isoformat()}
    for case in [*cases, {**recent, "q": "환불"}, recent]:
        c = _everything(**case)
        for who in (admin, agent):
            expected = _expected(session, who, c, texts)
            assert _all_ids(session, who, c) == expected, (case, who.role)
            first = history.page(session, who, c)
            assert first.total == len(expected), case
            assert [chat.id for chat in first.chats] == expected[: history.PAGE_SIZE]
    # The conditions the brute force checks are not all empty results.
    assert _expected(session, admin, _everything(q="환불"), texts)
    for case in ({"state": "left_waiting"}, {"state": "no_reply"}, {"ticket": "1"}, {"wait": "0"}, {"wait": "4"}, {"channel": page_url}):
        assert _expected(session, admin, _everything(**case), texts), case
    assert _expected(session, admin, _everything(q="refund"), texts)


def test_every_condition_matches_a_brute_force_scan(session):
    check_every_condition_matches_a_brute_force_scan(session)


def check_korean_and_english_words_are_found_inside_longer_words(session: Session) -> None:
    agent = _an_agent(session)
    customer = Customer(name="검색", visitor_key="search-test")
    session.add(customer)
    session.commit()
    chats = {}
    for key, texts in {
        "partial": ["부분환불 요청"], "particle": ["환불을 원해요"], "apart": ["환 불 아님"],
        "phrase": ["배송지연 문의"], "reverse": ["지연된 배송"], "english": ["Could I get a REFUND?"],
        "two_messages": ["환불이요", "배송은요"],
        "boundary": ["요청은 환불", "불을 켜 주세요"],  # 환불 + 불을 only across two messages
    }.items():
        chat = Chat(customer_id=customer.id, agent_id=agent.id, status=CHAT_ENDED)
        session.add(chat)
        session.commit()
        for n, text in enumerate(texts):
            message_service.post_message(session, chat, "customer", text, f"{key}-{n}")
        chats[key] = chat.id
    admin = _admin(session)

    def found(q: str) -> set[str]:
        ids = set(_all_ids(session, admin, _everything(q=q)))
        return {key for key, chat_id in chats.items() if chat_id in ids}

    assert found("환불") == {"partial", "particle", "two_messages", "boundary"}
    assert found("환불을") == {"particle"}  # a phrase never spans two messages
    assert found("배송지연") == {"phrase"}
    assert found("배송") == {"phrase", "reverse", "two_messages"}
    assert found("refund") == found("Refund") == found("REF") == {"english"}
    assert found("환불 배송") == {"two_messages"}  # every word, anywhere in the chat
    assert found("지연") == {"phrase", "reverse"}
    assert found("없는말") == set()
    # Query syntax of either index is text here, not syntax.
    for hostile in ['"', "'", "환불\"*", "a' OR '1'='1", "*", "NEAR(", "(환불", "\\", "환불 AND", "-환불", ":*"]:
        _all_ids(session, admin, _everything(q=hostile))


def test_korean_and_english_words_are_found_inside_longer_words(session):
    check_korean_and_english_words_are_found_inside_longer_words(session)


def check_processed_in_sql_is_the_python_rule(session: Session) -> None:
    generate(session, chats=300, messages_per_chat=3, seed=11, days=30)
    # The customer left some chats still on their agent's screen, and some before the agent
    # pressed 대화 종료 (the generator ends both at once).
    from sqlalchemy import update

    for i, chat in enumerate(session.exec(select(Chat).where(Chat.agent_id.is_not(None)).order_by(Chat.id)).all()):
        if chat.status != CHAT_ENDED and i % 2:  # as chats.end_by_customer leaves it
            session.exec(update(Chat).where(Chat.id == chat.id).values(status=CHAT_ENDED, customer_ended_at=chat.created_at + timedelta(seconds=90)))
        elif chat.agent_ended_at is not None and i % 3 == 0:
            session.exec(update(Chat).where(Chat.id == chat.id).values(customer_ended_at=chat.agent_ended_at - timedelta(seconds=30)))
    session.commit()
    in_sql = {
        chat_id: state
        for chat_id, state in session.exec(select(Chat.id, history.STATE))
    }
    for chat in session.exec(select(Chat)):
        assert in_sql[chat.id] == _state(chat), chat.id
    assert set(in_sql.values()) == set(history.STATES)
    # The durations in SQL (통계) are the Python ones.
    dialect = session.get_bind().dialect.name
    durations = {
        chat_id: (wait, handle)
        for chat_id, wait, handle in session.exec(select(Chat.id, history.wait_seconds_sql(dialect), history.handle_seconds_sql(dialect)))
    }
    for chat in session.exec(select(Chat)):
        assert durations[chat.id] == (history.wait_seconds(chat), history.handle_seconds(chat)), chat.id
    assert any(w is not None for w, _ in durations.values()) and any(h is not None for _, h in durations.values())
    # The per-state conditions the searches use are the same rule.
    for state in history.STATES:
        matching = set(session.exec(select(Chat.id).where(history.IS_STATE[state])))
        assert matching == {chat_id for chat_id, s in in_sql.items() if s == state}, state


def test_processed_in_sql_is_the_python_rule(session):
    check_processed_in_sql_is_the_python_rule(session)


def test_keyset_pages_have_no_gaps_or_repeats_while_new_chats_arrive(session):
    generate(session, chats=260, messages_per_chat=1, seed=3, days=5)
    admin = _admin(session)
    c = _everything()
    before = [chat.id for chat in session.exec(select(Chat).order_by(Chat.created_at.desc(), Chat.id.desc()))]
    forward, cursor = [], None
    while True:
        result = history.page(session, admin, c, after=cursor)
        forward.append([chat.id for chat in result.chats])
        # New chats arrive between pages (newest first: they belong before page 1).
        generate(session, chats=3, messages_per_chat=1, seed=100 + len(forward), days=0)
        if result.older is None:
            break
        cursor = result.older
    assert [i for one in forward for i in one] == before and len(forward) == 6
    # 이전 from the last page back to the first: the same pages; one more shows what arrived.
    for expected in reversed(forward[:-1]):
        result = history.page(session, admin, c, before=result.newer)
        assert [chat.id for chat in result.chats] == expected
    assert result.newer is not None  # 18 chats arrived meanwhile
    newest = history.page(session, admin, c, before=history.Cursor.decode(result.newer.encode()))
    assert len(newest.chats) == 18 and newest.newer is None and newest.total == 260 + 18


def test_an_agent_never_sees_another_agents_chat(session):
    generate(session, chats=80, messages_per_chat=1, seed=5, days=3)
    agents = list(session.exec(select(Agent).where(Agent.role != ROLE_ADMIN)))
    one, other = agents[0], agents[1]
    mine = _all_ids(session, one, _everything())
    assert mine and all(session.get(Chat, i).agent_id == one.id for i in mine)
    theirs = session.exec(select(Chat).where(Chat.agent_id == other.id)).first()
    with pytest.raises(NotAllowed):
        history.chat_for(session, one, theirs.id)
    for forged in (0, -1, "1 OR 1=1", 10**30, None, [1]):
        with pytest.raises(NotAllowed):
            history.chat_for(session, one, forged)
    assert history.chat_for(session, other, theirs.id).id == theirs.id
    assert history.chat_for(session, _admin(session), theirs.id).id == theirs.id
    # An agent's 상담원 condition naming someone else finds nothing of theirs.
    assert _all_ids(session, one, _everything(agent=str(other.id))) == []


def test_conditions_from_the_url_are_checked_and_round_trip():
    c = history.parse_conditions({"from": "2026-11-01", "to": "2026-11-30", "state": "processed", "agent": "3",
                                  "category": "4", "channel": "embed", "customer": " 홍 ", "rating": "5", "q": "환불"})
    assert not c.invalid
    assert history.parse_conditions(c.to_query()) == c
    bad = history.parse_conditions({"from": "어제", "to": "2026-13-40", "state": "x", "agent": "-1", "rating": "9",
                                    "channel": "fax", "q": "가" * 500, "customer": ["list"]})
    assert set(bad.invalid) == {"from", "to", "state", "agent", "rating", "channel"}
    assert bad.state == bad.channel == "" and bad.rating == 0 and len(bad.q) == search.MAX_QUERY_LENGTH
    assert (bad.date_to - bad.date_from).days == history.DEFAULT_DAYS - 1 and bad.date_to == history.today()
    swapped = history.parse_conditions({"from": "2026-11-30", "to": "2026-11-01"})
    assert swapped.date_from.isoformat() == "2026-11-01" and swapped.invalid == ("to",)
    assert history.Cursor.decode("garbage!") is None and history.Cursor.decode("x" * 500) is None


def test_search_terms_and_the_python_rule():
    assert search.terms("부분환불 요청") == ["부분", "분환", "환불", "요청"]
    assert search.terms("Refund-NOW 3일") == ["refund", "now", "3", "일"]
    words = search.parse("환불")
    assert search.chat_matches(["환불을 원해요"], words) and not search.chat_matches(["환 불"], words)
    assert search.parse("") == [] and search.parse("!!!") == []
    # One-character words match nearly everything as prefixes: left out of a query.
    assert search.parse("a 가 b 환불") == [search.Word(("환불",), prefix=False)]
    # A "word" too long to be one is not indexed (PostgreSQL refuses lexemes over 2,047 bytes).
    assert search.terms("漢" * 700 + " 환불") == ["환불"] and search.terms("x" * 64) == ["x" * 64]
    assert len(search.parse(" ".join(["단어"] * 50))) == search.MAX_QUERY_WORDS


def test_sqlite_indexes_in_batches_and_a_search_sees_every_stored_message(session, db_url, monkeypatch):
    """The message's transaction does not write the FTS5 index (a segment per message is what
    cost); the indexer and every search bring it up to date, each message exactly once."""
    import asyncio

    import sqlalchemy as sa

    agent = _an_agent(session)
    customer = Customer(name="배치", visitor_key="batch-test")
    session.add(customer)
    session.commit()
    chat = Chat(customer_id=customer.id, agent_id=agent.id, status=CHAT_ENDED)
    session.add(chat)
    session.commit()
    message_service.post_message(session, chat, "customer", "택배분실 신고합니다", "b-1")
    bind = session.get_bind()
    word = search.parse("분실")[0]
    assert session.exec(search.chats_with("sqlite", word)).scalars().all() == []  # not yet
    assert _all_ids(session, _admin(session), _everything(q="분실")) == [chat.id]  # the search catches up
    assert search.bring_up_to_date(bind) == 0
    # Two indexers at once write each message once.
    message_service.post_message(session, chat, "customer", "분실물 센터", "b-2")
    with bind.connect() as one, bind.connect() as two:
        one.begin()
        assert search.catch_up(one) == 1
        one.commit()
        two.begin()
        assert search.catch_up(two) == 0
        two.commit()
    rows = session.exec(sa.text(f"SELECT count(*) FROM {search.INDEX_TABLE} WHERE {search.INDEX_TABLE} MATCH '분실'")).one()[0]
    assert rows == 2
    # The lifespan task indexes what arrives without anyone searching, and merges the index
    # once a removal marked it (search_upkeep.compact_step clears the mark when it is done).
    message_service.post_message(session, chat, "customer", "분실 접수 번호요", "b-3")
    with bind.begin() as conn:
        search_upkeep.needs_compaction(conn)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setattr(search_upkeep, "INDEXER_SECONDS", 0.01)

    def work_left(conn) -> tuple:
        return tuple(conn.execute(sa.text(f"SELECT (SELECT max(id) FROM message) > upto, compact FROM {search.STATE_TABLE}")).one())

    async def one_tick():
        task = asyncio.create_task(search_upkeep.indexer_loop())
        for _ in range(200):
            await asyncio.sleep(0.02)
            with bind.connect() as conn:
                if work_left(conn) == (0, 0):
                    break
        task.cancel()

    # In a thread of its own: after the browser tests, Playwright's loop runs on this one.
    import threading

    worker = threading.Thread(target=lambda: asyncio.run(one_tick()))
    worker.start()
    worker.join(timeout=30)
    session.commit()
    rows = session.exec(sa.text(f"SELECT count(*) FROM {search.INDEX_TABLE} WHERE {search.INDEX_TABLE} MATCH '분실'")).one()[0]
    assert rows == 3
    with bind.connect() as conn:
        assert work_left(conn) == (0, 0)
