"""개인정보 보호 (issue 15): "nothing unmasked reaches the database, the index, the other tab's
state, the Redis relay or the log output". A message holding a card number, a phone number and
a 주민등록번호 goes through the real message paths (the Reflex handlers through Reflex's event
pipeline, and the /_wire socket.io namespace), and everything each one leaves behind is captured
and searched for the raw digits: every table of the SQLite file (and the file's bytes), the search
index (contentless FTS5: its terms read through fts5vocab, and asked with MATCH), every tab's and
room's state as Reflex would store it, every packet sent to a socket or published on the relay,
and every log record of every logger at DEBUG (SQLAlchemy's statements and parameters included)
plus what reached stdout / stderr.

Each capture must also hold the masked form, so an empty capture cannot pass.
(PostgreSQL's one-statement post and index: tests/integration/test_postgresql.py.)

Last, what is removed later (마스킹 by hand, 고객 정보 삭제, retention) must not stay in any
table or in the file either, once SQLite's index has merged its segments (search.compact_step:
a contentless FTS5 'delete' only adds a tombstone)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
import reflex as rx
import sqlalchemy as sa

from online_contact.models import Customer, Message
from online_contact.realtime import AgentDesk, ChatRoom
from online_contact.realtime.publish import desk_token, room_token
from online_contact.realtime.relay import channel
from online_contact.realtime.wire import WireNamespace, chat_room, desk_room
from online_contact.services import chats as chat_service
from online_contact.services import messages as message_service
from online_contact.services import db as db_service
from online_contact.services import masking, search, search_upkeep
from online_contact.services.auth import start_session
from tests.support import RecordingSocketServer
from tests.support import run_async as run_wire

from .pipeline import agent_console, customer_starts_chat, names, only_agent1_online
from .pipeline import run as run_pipeline

CARD, PHONE, RRN = "4111 1111 1111 1111", "010-1234-5678", "901010-1234567"  # RRN: tests/unit/test_masking.py
TEXT = f"카드 {CARD} 전화 {PHONE} 주민번호 {RRN} 확인 부탁드려요"
MASKED = "카드 **** **** **** 1111 전화 010-****-5678 주민번호 901010-1****** 확인 부탁드려요"
MASKED_PARTS = ("**** **** **** 1111", "010-****-5678", "901010-1******")
# What of the raw numbers may appear nowhere: long enough never to occur by chance in a hex
# token, a hash or a timestamp (the masked forms keep 1111, 010, 5678 and 901010-1).
RAW_PARTS = (CARD, "4111 1111", "1111 1111", "4111111111111111", PHONE, "1234-5678", "010-1234", "01012345678",
             RRN, "1234567", "9010101234567")
# The index terms only the raw text has (the masked text's terms are 1111, 010, 5678, 901010, 1).
RAW_TERMS = ("4111", "1234", "1234567")
MASKED_TERMS = ("1111", "5678", "901010")


def test_the_message_used_here_is_masked_as_the_issue_shows():
    assert masking.mask(TEXT).text == MASKED
    assert set(masking.mask(TEXT).kinds) == {masking.CARD, masking.PHONE, masking.RRN}


def leaks(captured: str) -> list[str]:
    return [raw for raw in RAW_PARTS if raw in captured]


def assert_only_masked(what: str, captured: str | bytes) -> None:
    """`captured` holds every masked number and none of the raw ones."""
    if isinstance(captured, bytes):
        captured = captured.decode("utf-8", "replace")
    assert not leaks(captured), f"unmasked {leaks(captured)} in {what}"
    missing = [m for m in MASKED_PARTS if m not in captured]
    assert not missing, f"the masked {missing} not in {what} (nothing captured?)"


# ---- the captures -----------------------------------------------------------------------------
@pytest.fixture
def all_logs(caplog, capfd):
    """Every record of every logger at DEBUG: the root at DEBUG, every logger that set a level
    of its own (SQLAlchemy sets WARNING) lowered to DEBUG, the ones that do not propagate heard
    too; and each record also written to stderr as a deployment's log handler would."""
    caplog.set_level(logging.DEBUG)
    extra = []
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        if logger.level > logging.DEBUG:
            caplog.set_level(logging.DEBUG, logger=name)
        if not logger.propagate:
            logger.addHandler(caplog.handler)
            extra.append(logger)
    stderr = logging.StreamHandler(sys.stderr)  # capfd's, set up first (a fixture of this one)
    stderr.setLevel(logging.DEBUG)
    stderr.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.root.addHandler(stderr)
    try:
        yield caplog
    finally:
        logging.root.removeHandler(stderr)
        for logger in extra:
            logger.removeHandler(caplog.handler)


def assert_logs_only_masked(caplog, capfd) -> None:
    # Everything the records carry: the formatted message, the tracebacks, the raw arguments.
    records = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records
    )
    assert_only_masked("the log records", records)
    assert_only_masked("the formatted log output", caplog.text)
    out, err = capfd.readouterr()
    assert_only_masked("stdout / stderr", out + err)


def _sqlite_path(url: str) -> Path:
    return Path(sa.engine.make_url(url).database)


def database_rows(url: str) -> list[tuple[str, str]]:
    """Every row of every table of the SQLite file (FTS5's shadow tables included, blobs decoded),
    as (table, the row's values as one line of text)."""
    bind = db_service.engine(url)
    search.bring_up_to_date(bind)  # what a search would see
    rows = []
    with bind.connect() as conn:
        tables = dict(conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")).all())
        assert "message" in tables and search.INDEX_TABLE in tables and f"{search.INDEX_TABLE}_data" in tables
        for table, sql in tables.items():
            if sql.upper().startswith("CREATE VIRTUAL TABLE"):
                continue  # contentless FTS5 cannot be scanned: its shadow tables are, and index_terms reads it
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                values = (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row)
                rows.append((table, " | ".join(values).replace("\n", "\\n")))
    return rows


def database_dump(url: str) -> str:
    return "\n".join(f"{table} {line}" for table, line in database_rows(url))


def tables_holding(url: str, word: str) -> list[str]:
    return sorted({table for table, line in database_rows(url) if word in line})


def database_file_bytes(url: str) -> bytes:
    """The database file and its WAL as they are on disk (free pages and old versions too)."""
    path = _sqlite_path(url)
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def index_terms(url: str, chat_id: int | None = None) -> set[str]:
    """Every term the FTS5 index holds (for the chat's messages, or for all), read through
    fts5vocab (a temporary table of this connection: the file is not changed)."""
    bind = db_service.engine(url)
    search.bring_up_to_date(bind)
    with bind.connect() as conn:
        conn.execute(sa.text(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.oc_vocab USING fts5vocab(main, {search.INDEX_TABLE}, instance)"))
        try:
            rows = conn.execute(sa.text("SELECT term, doc FROM temp.oc_vocab")).all()
        finally:
            conn.execute(sa.text("DROP TABLE temp.oc_vocab"))
            conn.rollback()
    return {term for term, doc in rows if chat_id is None or doc >> search.SEQ_BITS == chat_id}


def index_hits(url: str, chat_id: int, term: str) -> bool:
    """Whether the contentless FTS5 index holds `term` for a message of the chat."""
    bind = db_service.engine(url)
    search.bring_up_to_date(bind)
    with bind.connect() as conn:
        chats = conn.execute(
            sa.text(f"SELECT rowid >> {search.SEQ_BITS} FROM {search.INDEX_TABLE} WHERE {search.INDEX_TABLE} MATCH :q"),
            {"q": f'"{term}"'},
        ).scalars().all()
    return chat_id in chats


def assert_database_only_masked(url: str, chat_id: int, messages: int) -> None:
    bind = db_service.engine(url)
    with bind.connect() as conn:
        stored = conn.execute(sa.select(Message.text).where(Message.chat_id == chat_id, Message.author != "system")).scalars().all()
    assert stored == [MASKED] * messages
    assert_only_masked("the database's rows", database_dump(url))
    assert_only_masked("the database file", database_file_bytes(url))
    terms = index_terms(url, chat_id)
    assert set(search.terms(MASKED)) <= terms and not terms & set(RAW_TERMS), terms
    assert not index_terms(url) & set(RAW_TERMS)  # for no message at all
    for term in RAW_TERMS:
        assert not index_hits(url, chat_id, term), f"the search index holds the raw {term!r}"
    for term in MASKED_TERMS:
        assert index_hits(url, chat_id, term), f"the search index lacks the masked message's {term!r}"
    # And as the 채팅 기록 search asks it.
    with bind.connect() as conn:
        for word in RAW_TERMS:
            assert chat_id not in conn.execute(search.chats_with("sqlite", search.parse(word)[0])).scalars().all(), word
        assert chat_id in conn.execute(search.chats_with("sqlite", search.parse("5678")[0])).scalars().all()


def assert_database_clean_before(url: str) -> None:
    """The demo workspace holds none of the raw numbers (so a hit later is this test's)."""
    assert not leaks(database_dump(url)) and not leaks(database_file_bytes(url).decode("utf-8", "replace"))
    assert not index_terms(url) & set(RAW_TERMS)


def state_dumps(app) -> dict[str, bytes]:
    """Every state the app holds (every tab's, every room's and desk's), pickled as Reflex's Redis
    state manager stores them: {"<token> <state name>": bytes}."""
    out: dict[str, bytes] = {}

    def walk(key: str, state) -> None:
        try:
            out[f"{key} {state.get_full_name()}"] = state._serialize()
        except Exception:  # noqa: BLE001 - what cannot be pickled is still searched
            out[f"{key} {state.get_full_name()}"] = repr(vars(state)).encode()
        for sub in state.substates.values():
            walk(key, sub)

    states = app.state_manager.states
    assert states, "no state in the state manager (not the memory manager?)"
    for key, root in list(states.items()):
        walk(key, root)
    return out


# ---- (a) the Reflex handlers ------------------------------------------------------------------
def _deltas(sent: list) -> list[dict]:
    return [update.delta for _sid, update in sent if getattr(update, "delta", None)]


def _room_texts(sent: list) -> list[str]:
    room = ChatRoom.get_full_name()
    return [m["text"] for d in _deltas(sent) for field in ("messages", "recent")
            for m in d.get(room, {}).get(f"{field}_rx_state_", [])]


def _desk_previews(sent: list) -> list[str]:
    return [c["preview"] for d in _deltas(sent) for c in d.get(AgentDesk.get_full_name(), {}).get("chats_rx_state_", [])]


def test_a_message_sent_through_the_reflex_handlers_reaches_nothing_unmasked(app, db_url, all_logs, capfd):
    """The customer's send and the agent's send (the page's fallback path, and every page without
    the wire): the database, the index, every tab's and room's state, every delta sent to any
    socket, every log record."""
    n, token = names(), only_agent1_online(db_url)
    sent: list = []
    seen: dict = {}
    assert_database_clean_before(db_url)

    async def scenario():
        customer, chat = await customer_starts_chat(app, db_url, "개인정보")
        agent_tab = await agent_console(app, token)
        await agent_tab.fire(f"{n.agent}.select_chat", chat_id=chat.id)
        sent.clear()
        await customer.fire(f"{n.customer}.send", form_data={"text": TEXT, "client_id": "leak-c1"})
        seen["to_agent"] = [(sid, update) for sid, update in sent if sid == agent_tab.sid]
        await agent_tab.fire(f"{n.agent}.send", form_data={"text": TEXT, "client_id": "leak-a1"})  # read back
        seen["to_customer"] = [(sid, update) for sid, update in sent if sid == customer.sid]
        seen["sent"] = list(sent)
        seen["chat_id"], seen["agent_token"], seen["customer_token"] = chat.id, agent_tab.token, customer.token
        # The room and the desk both tabs are linked to, as Reflex holds them.
        room = await app.state_manager.get_state(rx.BaseStateToken(ident=room_token(chat.id), cls=ChatRoom))
        room = await room.get_state(ChatRoom)
        seen["room"] = [m["text"] for m in [*room.messages, *room.recent]]
        desk = await app.state_manager.get_state(rx.BaseStateToken(ident=desk_token(chat.agent_id), cls=AgentDesk))
        seen["desk"] = [c["preview"] for c in (await desk.get_state(AgentDesk)).chats]
        seen["states"] = state_dumps(app)

    run_pipeline(app, scenario, sent)
    chat_id = seen["chat_id"]

    # The other tab (the agent's) was sent both messages, masked, in its room and its chat list.
    assert _room_texts(seen["to_agent"])[-1:] == [MASKED]
    previews = _desk_previews(seen["to_agent"])  # the chat list's preview: the message's start, masked
    assert previews and all(MASKED.startswith(p) and "**** **** **** 1111" in p for p in previews), previews
    assert _room_texts(seen["to_customer"])[-1:] == [MASKED]
    assert seen["room"][-2:] == [MASKED, MASKED] and seen["desk"] == previews[-1:]
    assert_only_masked("the deltas sent to the agent's tab", repr(seen["to_agent"]))
    assert_only_masked("the deltas sent to the customer's tab", repr(seen["to_customer"]))
    assert_only_masked("what was sent to any socket", repr(seen["sent"]))
    # Every state held (both tabs, the room, the desk), as Reflex's Redis state manager stores it.
    states = seen["states"]
    assert any(k.startswith(seen["agent_token"]) for k in states) and any(k.startswith(seen["customer_token"]) for k in states)
    for key, pickled in states.items():
        found = leaks(pickled.decode("utf-8", "replace"))
        assert not found, f"unmasked {found} in the state {key}"
    # The agent tab's chat is the room it is linked to (its own copy of ChatRoom stays empty).
    linked = b"".join(v for k, v in states.items() if k.startswith((room_token(chat_id), seen["agent_token"])))
    assert_only_masked("the agent tab's states and its room", linked)
    assert_only_masked("every state", b"".join(states.values()))

    # The logs first: the checks below search the index for the raw numbers (and SQLAlchemy logs that).
    assert_logs_only_masked(all_logs, capfd)
    assert_database_only_masked(db_url, chat_id, messages=2)


# ---- (b) the /_wire namespace -----------------------------------------------------------------
class RecordingRedis:
    """What WireNamespace.broadcast asks of redis.asyncio: publish, and a pipeline of publishes."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []

    async def publish(self, name, packet):
        self.published.append((name, packet))
        return 1

    def pipeline(self, transaction=True):
        redis = self

        class Pipeline:
            def __init__(self):
                self.queued = []

            async def __aenter__(self):
                return self

            async def __aexit__(self, *exc):
                return False

            def publish(self, name, packet):
                self.queued.append((name, packet))
                return self

            async def execute(self):
                redis.published.extend(self.queued)
                return [1] * len(self.queued)

        return Pipeline()


@pytest.fixture
def wire(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    ns = WireNamespace()
    ns._set_server(RecordingSocketServer())
    return ns


def _wire_chat(make, session):
    """agent1's chat with a new customer, opened by agent1: (chat, visitor key, agent token)."""
    agent1 = make.demo_agent("agent1@example.com")
    agent1.status = "online"
    session.add(agent1)
    session.commit()
    chat = make.start()
    assert chat.agent_id == agent1.id
    chat_service.mark_opened(session, chat, agent1)
    key = session.get(Customer, chat.customer_id).visitor_key
    token = start_session(session, agent1)
    session.commit()
    return chat, key, token


def test_a_message_sent_on_the_wire_reaches_nothing_unmasked(wire, make, session, db_url, all_logs, capfd):
    """The customer's and the agent's sends on /_wire (every page with the wire joined): the
    answer to the sender, what every other socket got, the catch-up of a reconnecting tab, the
    database, the index, every log record. A refused send (too long) leaves nothing anywhere."""
    chat, key, token = _wire_chat(make, session)
    assert_database_clean_before(db_url)
    srv = wire.server
    answers = {}

    async def scenario():
        await wire.on_connect("cust", {}, {"role": "customer", "credential": key})
        await wire.on_connect("cust2", {}, {"role": "customer", "credential": key})  # the customer's other tab
        await wire.on_connect("ag", {}, {"role": "agent", "credential": token})
        await wire.on_connect("ag-home", {}, {"role": "agent", "credential": token})  # the agent's chat list
        for sid in ("cust", "cust2", "ag"):
            assert (await wire.on_join(sid, {"chat_id": chat.id, "after": 0}))["ok"]
        answers["customer"] = await wire.on_send("cust", {"chat_id": chat.id, "client_id": "w-c1", "text": TEXT})
        answers["agent"] = await wire.on_send("ag", {"chat_id": chat.id, "client_id": "w-a1", "text": TEXT})
        sent = len(srv.emits)
        answers["refused"] = await wire.on_send("cust", {"chat_id": chat.id, "client_id": "w-c2", "text": TEXT + "가" * 2000})
        assert len(srv.emits) == sent
        answers["catch_up"] = await wire.on_join("cust2", {"chat_id": chat.id, "after": 0})

    run_wire(scenario())
    assert answers["customer"]["ok"] and answers["customer"]["message"]["text"] == MASKED
    assert answers["agent"]["ok"] and answers["agent"]["message"]["text"] == MASKED
    assert answers["refused"] == {"error": "error.message_too_long"}
    # Every other socket in the chat got both messages, masked: the customer's other tab, the
    # agent's tab showing the chat; the agent's chat list their previews, masked too.
    delivered = srv.delivered()
    assert [sid for sid, _ in delivered] == ["ag", "cust", "cust2", "cust2"]
    assert {text for _, text in delivered} == {MASKED}
    previews = [(srv.receivers(rooms, skip), data["preview"]) for event, data, rooms, skip in srv.emits if event == "preview"]
    assert previews == [({"ag-home"}, MASKED[:40])] * 2
    assert_only_masked("what the server emitted to any socket", repr(srv.emits))
    assert_only_masked("the answers to the senders", repr([answers["customer"], answers["agent"]]))
    assert [m["text"] for m in answers["catch_up"]["messages"] if m["author"] != "system"] == [MASKED, MASKED]
    assert_only_masked("the sockets' sessions", repr(srv.sessions) + repr(answers["catch_up"]))

    assert_logs_only_masked(all_logs, capfd)  # first: the checks below ask the index for the raw numbers
    assert_database_only_masked(db_url, chat.id, messages=2)


def test_the_redis_relay_publishes_only_the_masked_text(wire, make, session, all_logs, capfd):
    """What the other workers get (WireNamespace.broadcast publishes every emit on Redis, one
    channel per room): a recording Redis in place of the relay's connection, so the very packets
    the relay would publish are searched (between real workers: tests/integration/test_wire_relay.py)."""
    chat, key, token = _wire_chat(make, session)
    redis = RecordingRedis()
    wire._redis, wire.instance = redis, "worker-a"

    async def scenario():
        await wire.on_connect("cust", {}, {"role": "customer", "credential": key})
        await wire.on_connect("ag", {}, {"role": "agent", "credential": token})
        assert (await wire.on_join("cust", {"chat_id": chat.id}))["ok"]
        assert (await wire.on_join("ag", {"chat_id": chat.id}))["ok"]
        assert (await wire.on_send("cust", {"chat_id": chat.id, "client_id": "r-c1", "text": TEXT}))["ok"]
        assert (await wire.on_send("ag", {"chat_id": chat.id, "client_id": "r-a1", "text": TEXT}))["ok"]

    run_wire(scenario())
    # Each message on the chat's channel, and its preview on its agent's desk channel (the chat
    # list; each worker leaves out its sockets in the chat's room, which have the message).
    rooms = [channel(chat_room(chat.id)), channel(desk_room(chat.agent_id))]
    assert [name for name, _ in redis.published] == rooms * 2
    for name, packet in redis.published:
        _key, event, to, data, *skip_rooms = json.loads(packet)
        if name == rooms[0]:
            assert event == "message" and data["text"] == MASKED and data["chat_id"] == chat.id, name
            assert_only_masked(f"the packet published on {name}", packet)
        else:
            assert (event, data["preview"], skip_rooms) == ("preview", MASKED[:40], [[chat_room(chat.id)]]), name
            assert not leaks(packet), f"unmasked {leaks(packet)} in the preview published on {name}"
    assert_only_masked("every packet published on the relay", "\n".join(p for _, p in redis.published))
    assert_logs_only_masked(all_logs, capfd)


# ---- what was removed afterwards (마스킹 by hand, 고객 정보 삭제, retention) -------------------------
SECRET = "zebracorn42"  # one index term, stored whole (FTS5 keeps Latin words as they are)


@pytest.mark.parametrize("removal", ["mask_message", "erase_customer", "retention"])
def test_what_was_masked_erased_or_purged_is_left_in_no_table_of_the_database(session, make, db_url, removal):
    """A word of an indexed message, then masked by hand / its customer erased / its chat purged:
    no search finds it (that holds), and no row of any table nor the file may still hold it."""
    from datetime import datetime, timezone

    from online_contact.models import Agent, Chat
    from online_contact.models.agent import ROLE_ADMIN
    from online_contact.services import privacy, retention

    agent = make.agent()
    admin = session.exec(sa.select(Agent).where(Agent.role == ROLE_ADMIN)).scalars().first()
    chat = make.start(language="ko")
    chat.agent_id, chat.status, chat.agent_opened_at = agent.id, "open", datetime.now(timezone.utc)
    session.add(chat)
    session.commit()
    text = f"비밀단어는 {SECRET} 입니다"
    message, _ = message_service.post_message(session, chat, "customer", text, "s-1")
    search.bring_up_to_date(db_service.engine(db_url))  # as the indexer (every half second) does
    # Before: the word is in the message row and in the index's data (the dump can see it there).
    assert tables_holding(db_url, SECRET) == ["message", f"{search.INDEX_TABLE}_data"]

    if removal == "mask_message":
        start = text.index(SECRET)
        assert privacy.mask_message(session, agent, chat.id, message.seq, start, start + len(SECRET)).changed
    else:
        chat_service.end_by_agent(session, session.get(Chat, chat.id), agent)
        if removal == "erase_customer":
            privacy.erase_customer(session, admin, chat.customer_id, "정보주체 삭제 요청")
        else:
            old = session.get(Chat, chat.id)
            old.created_at = datetime(2000, 1, 1, tzinfo=timezone.utc)
            session.add(old)
            session.commit()
            assert retention.run_once(session.get_bind())["chats"] == 1
    assert not index_hits(db_url, chat.id, SECRET)  # found by no search at once
    # The removal marked the index; its segments are merged (what the indexer does every half
    # second) and the old terms are gone from the file as well.
    assert search_upkeep.compact(db_service.engine(db_url)) >= 1
    with db_service.engine(db_url).connect() as conn:
        conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    after = tables_holding(db_url, SECRET)
    assert after == [], f"{SECRET!r} still in the rows of {after} after {removal}"
    assert SECRET.encode() not in database_file_bytes(db_url)


def test_an_erased_customer_is_left_in_no_table_of_the_database(session, make, db_url):
    """고객 정보 삭제 of a customer known by a name and an email that occur nowhere else: their
    chat (started from a page whose query carried the email), its message and ticket, a 1:1
    inquiry sent under the email from another browser before they chatted, a 채팅 기록 export
    whose 고객 and 검색어 named them (its reason too), and the erasure's own reason. Afterwards no
    row of any table, nor the file, holds the name or the email."""
    from datetime import datetime, timezone

    from online_contact.models import Agent, Chat
    from online_contact.models.agent import ROLE_ADMIN
    from online_contact.services import export, history, privacy, tickets

    token, email = "quokkazed", "quokkazed.kim@example.com"
    name = f"{token} 고객"  # the full name: what the audit log's entries are searched for
    admin = session.exec(sa.select(Agent).where(Agent.role == ROLE_ADMIN)).scalars().first()
    agent = make.agent()
    tickets.create_from_inquiry(session, f"{token} 고객", email, f"{token} 환불", f"{email} 로 연락 주세요")
    chat = make.start(name=f"{token} 고객", email=email, language="ko",
                      channel=f"https://shop.example.com/account?email={email}&name={token}#{token}")
    chat.agent_id, chat.status, chat.agent_opened_at = agent.id, "open", datetime.now(timezone.utc)
    session.add(chat)
    session.commit()
    message_service.post_message(session, chat, "customer", f"저는 {token} 입니다", "q-1")
    tickets.create_from_chat(session, session.get(Chat, chat.id), agent, f"{token} 후속", email)
    conditions = history.parse_conditions({"from": "2000-01-01", "to": history.today().isoformat(), "customer": name, "q": email})
    export.run(session, admin, conditions, reason=f"{name} 요청 자료", password="", ip="", export_id=export.new_export_id(), login_id=1)
    chat_service.end_by_agent(session, session.get(Chat, chat.id), agent)
    search.bring_up_to_date(db_service.engine(db_url))
    assert {"auditlog", "chat", "customer", "message", "ticket"} <= set(tables_holding(db_url, token))

    privacy.erase_customer(session, admin, chat.customer_id, f"{name}님 전화 요청")
    assert search_upkeep.compact(db_service.engine(db_url)) >= 1
    with db_service.engine(db_url).connect() as conn:
        conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    for trace in (token, email):
        assert tables_holding(db_url, trace) == [], [line for t, line in database_rows(db_url) if trace in line]
    assert token.encode() not in database_file_bytes(db_url)
