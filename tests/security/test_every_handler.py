"""Every event handler of every state, fired by someone it does not belong to.

The handlers are found by introspection (every rx.State subclass in the app's state tree, every
entry of its event_handlers, Reflex's own included), not from a hand-written list, so a handler
added later is attacked too. Each is sent, through Reflex's real event pipeline, with no
arguments and with arguments aimed at a victim's chat (its id, its room's key, forms naming it),
by an anonymous tab on each page, by another customer (with a chat of their own) and by another
agent (logged in); and again by each of them from a tab whose client storage (every rx.Cookie,
rx.LocalStorage and rx.SessionStorage var of every state, found by introspection too) was forged
to point at someone else's chat, login or room. Afterwards nothing of the victim's changed in the
database, nothing of theirs was sent to any attacker's socket, no attacker's tab is linked to the
victim's room or desk, and no chat was ended, rated or answered by an agent who never opened it.
"""

from __future__ import annotations

import inspect

import pytest
import reflex as rx
from sqlalchemy import or_, update
from sqlmodel import select

from online_contact.models import (
    Agent, AuthSession, Category, Chat, ChatAssignment, ChatSettings, ChatSettingsText, ConsentRecord, ConsentText, Customer,
    Message, Rating, Ticket,
)
from online_contact.realtime import AgentDesk, ChatRoom
from online_contact.realtime import reflex_internals as internals
from online_contact.realtime.publish import desk_token, room_token
from online_contact.services.auth import start_session
from online_contact.services.db import session_scope
from online_contact.states.guard import required_role
from tests.unit.pipeline import Client, agent_console, customer_starts_chat, names, only_agent1_online, run

VICTIM = "피해자홍길동"
VICTIM_EMAIL = "victim@example.com"
SECRET = "제 주민번호 앞자리는 비밀이에요"
MEMO = "VIP 비밀 메모"
HANDED_SECRET = "넘겨진 뒤에 쓴 비밀 주소"
HANDED_REPLY = "넘겨받은 상담원의 답변"


def all_state_classes() -> list[type[rx.State]]:
    found, todo = [], [rx.State]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(sorted(cls.get_substates(), key=lambda c: c.get_full_name()))
    return found


def all_handlers() -> list[tuple[type[rx.State], str, object]]:
    import online_contact.online_contact  # noqa: F401  (every state of the app is registered)

    handlers = [(cls, name, h) for cls in all_state_classes() for name, h in sorted(cls.event_handlers.items())]
    # Those that end the caller's own login go last, so every other one is tried while logged in.
    return sorted(handlers, key=lambda item: item[1].startswith("logout"))


def storage_vars() -> list[tuple[str, str]]:
    """(hydrate key, storage name) of every var a client keeps in its own storage (rx.Cookie,
    rx.LocalStorage, rx.SessionStorage) in every state: the browser sends them back with every
    hydrate, and a client sets each to anything."""
    import online_contact.online_contact  # noqa: F401  (every state of the app is registered)

    kinds = (rx.Cookie, rx.LocalStorage, rx.SessionStorage)
    return [
        (f"{cls.get_full_name()}.{name}_rx_state_", f.default.name or name)
        for cls in all_state_classes()
        for name, f in sorted(cls.get_fields().items())
        if isinstance(f.default, kinds) and f._owner is cls
    ]


def forged_storage(chat_id: int, victim: dict) -> dict:
    """Every storage var forged to point at someone else's: the view memory at their chat, the
    visitor key and the login at their room's and desk's secrets, anything else at the chat."""
    aimed = {"oc_agent_view": f"1:{chat_id}", "oc_visitor": victim["room_key"], "oc_auth": victim["desk_key"]}
    return {key: aimed.get(name, f"1:{chat_id}") for key, name in storage_vars()}


def not_text_storage() -> dict:
    """Every storage var as something that is not text at all."""
    odd = (5, ["x"], {"k": 1}, None, 10**30)
    return {key: odd[i % len(odd)] for i, (key, _name) in enumerate(storage_vars())}


def loader_of(path: str) -> str:
    """The full event name of a page's on_load (what the browser sends once the page loaded)."""
    from online_contact.pages import PAGES

    handler = next(p.on_load for p in PAGES if p.route == path)
    return f"{handler.state_full_name}.{handler.fn.__name__}"


def _public_vars(cls) -> list[str]:
    return sorted(name for name in cls.get_fields() if not name.startswith("_")) + ["_chat_id", "active_chat_id"]


def payloads(cls, name: str, handler, victim: dict, own: dict | None = None) -> list[dict]:
    """No arguments, and arguments aimed at the victim, for each parameter the handler takes.
    A hydrate's storage is forged whole, except the attacker's `own` login or visitor key (a
    hydrate replaces every storage var: without it the attacker would go on anonymous)."""
    own = own or {}
    params = [p for p in inspect.signature(handler.fn).parameters if p != "self"]
    form = {
        # Not the victim's own name and email: a chat an attacker starts is theirs, whatever they
        # call themselves (and an agent may see it), while the victim's must reach nobody.
        "text": "끼어들기", "client_id": "attack-1", "name": "덮어쓴이름", "email": "attacker@example.com", "memo": "덮어쓰기",
        "agree": "on", "score": "1", "comment": "나쁨", "subject": "가로채기", "body": "본문",
        "password": "wrong-password", "chat_id": victim["chat_id"], "agent_id": victim["agent_id"],
    }
    value = {
        "form_data": form,
        "chat_id": victim["chat_id"],
        "status": "online",
        "value": str(victim["chat_id"]),
        "lang": "en",
        "vars": {**forged_storage(victim["chat_id"], victim), **own},
        "info": "x",
        "stack": "x",
        "node_id": 1,
        "parent_id": 1,
        "agent_id": victim["agent_id"],
        "active": False,
        "field": "chat_enabled",
        "kind": "sound",
    }
    found = [{}]
    if "vars" in params:  # what a client keeps in its storage need not even be text
        found.append({"vars": {**not_text_storage(), **own}})
    if name == "setvar":
        found += [{"var_name": var, "value": victim["chat_id"]} for var in _public_vars(cls)]
    elif params:
        found.append({p: value.get(p, victim["chat_id"]) for p in params})
    return found


def snapshot(db_url: str, victim: dict) -> dict:
    """Everything of the victim's that an attacker could want to change."""
    with session_scope(db_url) as s:
        chat = s.get(Chat, victim["chat_id"])
        agent = s.get(Agent, victim["agent_id"])
        return {
            "chat": chat.model_dump(),
            "messages": [(m.seq, m.author, m.text) for m in s.exec(select(Message).where(Message.chat_id == chat.id))],
            "customer": s.get(Customer, chat.customer_id).model_dump(),
            "consents": len(s.exec(select(ConsentRecord).where(ConsentRecord.customer_id == chat.customer_id)).all()),
            "ratings": len(s.exec(select(Rating).where(Rating.chat_id == chat.id)).all()),
            "tickets": len(s.exec(select(Ticket).where(Ticket.chat_id == chat.id)).all()),
            "assignments": [a.model_dump() for a in s.exec(select(ChatAssignment).where(ChatAssignment.chat_id == chat.id))],
            # The agent's open-chat count moves when another customer's chat is assigned to them:
            # that is the other customer's doing, on their own chat, not a change of the victim's.
            "agent": {k: v for k, v in agent.model_dump().items() if k not in ("open_chat_count", "last_assigned_at")},
            "logins": [(x.id, x.ended_at) for x in s.exec(select(AuthSession).where(AuthSession.agent_id == agent.id))],
            # The admin's: 서비스 관리 (settings, texts, consent versions, categories, accounts).
            "settings": [r.model_dump() for r in s.exec(select(ChatSettings))],
            "texts": sorted((t.language, t.greeting, t.satisfaction_guide) for t in s.exec(select(ChatSettingsText))),
            "consent_texts": len(s.exec(select(ConsentText)).all()),
            "categories": sorted((c.id, c.name, c.parent_id, c.position, c.active) for c in s.exec(select(Category))),
            "accounts": sorted((a.email, a.name, a.role, a.active, a.can_chat, a.max_open_chats, a.password_hash)
                               for a in s.exec(select(Agent))),
        }


def test_no_handler_gives_an_attacker_anything_of_someone_else(app, db_url):
    n = names()
    token1 = only_agent1_online(db_url)
    with session_scope(db_url) as s:
        agent2 = s.exec(select(Agent).where(Agent.email == "agent2@example.com")).one()
        # Two logins of the other agent (two browsers): one for its forged tab.
        token2, token2_forged, agent2_id = start_session(s, agent2), start_session(s, agent2), agent2.id
    sent: list = []
    report: dict = {"fired": 0, "errors": []}

    def set_agent(agent_id: int, **values) -> None:
        with session_scope(db_url) as s:
            s.exec(update(Agent).where(Agent.id == agent_id).values(**values))

    async def scenario():
        victim_tab, chat = await customer_starts_chat(app, db_url, VICTIM)
        await victim_tab.fire(f"{n.customer}.send", form_data={"text": SECRET, "client_id": "v1"})
        owner = await agent_console(app, token1)
        await owner.fire(f"{n.agent}.select_chat", chat_id=chat.id)
        await owner.fire(f"{n.agent}.set_info_email", value=VICTIM_EMAIL)
        await owner.fire(f"{n.agent}.set_info_memo", value=MEMO)
        await owner.fire(f"{n.agent}.save_info")
        await owner.fire(f"{n.agent}.send", form_data={"text": "확인했습니다", "client_id": "o1"})
        with session_scope(db_url) as s:
            stored = s.get(Chat, chat.id)
            assert (stored.memo, stored.customer_email) == (MEMO, VICTIM_EMAIL)
            victim = {"chat_id": chat.id, "agent_id": stored.agent_id, "room_key": room_token(chat.id),
                      "desk_key": desk_token(stored.agent_id)}
        before = snapshot(db_url, victim)

        # A chat given to the other agent, who never opens it; when they go 휴식 (below) it goes
        # on to agent1. Whatever a tab of theirs claims in its storage, it sees of that chat only
        # what the chat's rules say at each moment.
        set_agent(victim["agent_id"], max_open_chats=1)  # agent1 is full: the chat goes to agent2
        set_agent(agent2_id, status="online")
        handed_tab, handed = await customer_starts_chat(app, db_url, "넘겨질고객")
        assert handed.agent_id == agent2_id
        set_agent(victim["agent_id"], max_open_chats=None)

        other_customer, _own_chat = await customer_starts_chat(app, db_url, "다른고객")
        other_agent = await agent_console(app, token2)
        attackers = {
            "anonymous /": await Client(app, "/", {}).open(),
            "anonymous /agent": await Client(app, "/agent", {}).open(),
            "anonymous /widget": await Client(app, "/widget", {}).open(),
            "other customer": other_customer,
            "other agent": other_agent,
        }
        # Each of them again, from a tab whose every storage var was forged (its own login or
        # visitor key kept, so that the forgery is judged under it), once its page has loaded.
        assert {name for _key, name in storage_vars()} >= {"oc_agent_view", "oc_visitor", "oc_auth", "oc_lang"}
        own_of = {who: tab.storage for who, tab in attackers.items()}  # their own login or visitor key
        for who, tab in list(attackers.items()):
            own = {n.auth: token2_forged} if who == "other agent" else tab.storage
            forged = await Client(app, tab.path, {**forged_storage(handed.id, victim), **own}).open()
            await forged.fire(loader_of(tab.path))
            attackers[f"{who}, forged storage"], own_of[f"{who}, forged storage"] = forged, own

        async def attack(handlers) -> None:
            for who, tab in attackers.items():
                for cls, name, handler in handlers:
                    for payload in payloads(cls, name, handler, victim, own_of[who]):
                        report["fired"] += 1
                        try:
                            await tab.fire(f"{cls.get_full_name()}.{name}", _pause=0, **payload)
                        except Exception as exc:  # noqa: BLE001 - recorded, judged below
                            origin = getattr(getattr(handler, "fn", None), "__module__", "") or ""
                            report["errors"].append((who, origin, cls.__name__, name, sorted(payload), repr(exc)[:200]))
            await _settle()

        handlers = all_handlers()
        sent.clear()
        await attack([h for h in handlers if not h[1].startswith("logout")])
        # The other agent goes 휴식 (their own tab, the real switch): a chat of theirs they never
        # opened goes on to agent1, who opens it and answers; its customer writes on.
        await other_agent.fire(f"{n.agent}.set_status", status="break")
        await _settle()
        with session_scope(db_url) as s:
            handed_to = s.get(Chat, handed.id).agent_id
        if handed_to == victim["agent_id"]:
            await owner.fire(f"{n.agent}.select_chat", chat_id=handed.id)
            await owner.fire(f"{n.agent}.send", form_data={"text": HANDED_REPLY, "client_id": "h1"})
        await handed_tab.fire(f"{n.customer}.send", form_data={"text": HANDED_SECRET, "client_id": "h2"})
        await _settle()
        await attack([h for h in handlers if h[1].startswith("logout")])  # last: they end the logins

        assert snapshot(db_url, victim) == before
        # No chat was ended, rated or answered by an agent who had not opened it (통계 would book
        # the agent's 무응답 as the customer's 대기 중 이탈).
        assert worked_unopened(db_url) == []
        with session_scope(db_url) as s:
            handed_to = s.get(Chat, handed.id).agent_id
        handed_tabs = await _linked(app, room_token(handed.id), ChatRoom)
        secrets = (VICTIM, VICTIM_EMAIL, SECRET, MEMO, victim["room_key"], victim["desk_key"])
        echoes = storage_echoes(forged_storage(victim["chat_id"], victim), forged_storage(handed.id, victim))
        for who, tab in attackers.items():
            received = repr([without_echoes(update, echoes) for sid, update in sent if sid == tab.sid])
            leaked = [x for x in secrets if x in received]
            # The handed-on chat's lines (written after the hand-on) are the other agent's to read
            # only while the chat is still theirs.
            if not (who.startswith("other agent") and handed_to == agent2_id):
                leaked += [x for x in (HANDED_SECRET, HANDED_REPLY) if x in received]
                assert tab.token not in handed_tabs, f"{who} is still linked to a chat handed on"
            assert leaked == [], f"{who} received {leaked}"
        room_tabs = await _linked(app, victim["room_key"], ChatRoom)
        desk_tabs = await _linked(app, victim["desk_key"], AgentDesk)
        assert not {t.token for t in attackers.values()} & (room_tabs | desk_tabs)
        assert owner.token in room_tabs and owner.token in desk_tabs  # the control: the owner still is

    run(app, scenario, sent)
    assert report["fired"] > 300
    # Whatever raised came from Reflex's own handlers refusing what they cannot do (setvar of a
    # var without a setter, a missing argument), never from one of ours.
    ours = [e for e in report["errors"] if e[1].startswith("online_contact")]
    assert ours == [], "\n".join(map(str, ours))


def storage_echoes(*forged: dict) -> dict[tuple[str, str], set[str]]:
    """(state, field) -> the values an attacker put in that storage var itself."""
    echoes: dict[tuple[str, str], set[str]] = {}
    for storage in forged:
        for key, value in storage.items():
            state, _, field = key.rpartition(".")
            echoes.setdefault((state, field), set()).add(repr(value))
    return echoes


def without_echoes(update, echoes: dict) -> tuple:
    """An update as judged for leaks: a storage var sent back with the very value the attacker
    stored in it (Reflex echoes a hydrate's storage) is its own input, not someone else's."""
    delta = {
        state: {k: v for k, v in fields.items() if repr(v) not in echoes.get((state, k), ())}
        for state, fields in (getattr(update, "delta", None) or {}).items()
    }
    return delta, getattr(update, "events", update)


def worked_unopened(db_url: str) -> list:
    """Chats an agent ended, asked to rate or answered without having opened them."""
    with session_scope(db_url) as s:
        return [
            (c.id, c.agent_id, c.agent_ended_at, c.rating_requested_at, c.first_agent_reply_at)
            for c in s.exec(
                select(Chat).where(
                    Chat.agent_opened_at.is_(None),
                    or_(Chat.agent_ended_at.is_not(None), Chat.rating_requested_at.is_not(None),
                        Chat.first_agent_reply_at.is_not(None)),
                )
            )
        ]


async def _settle():
    import asyncio

    for _ in range(50):
        pending = [t for t in internals._TASKS if not t.done()]
        if not pending:
            return
        await asyncio.gather(*pending, return_exceptions=True)


async def _linked(app, token: str, cls) -> set[str]:
    root = await app.state_manager.get_state(rx.BaseStateToken(ident=token, cls=cls))
    return internals.linked_tabs(await root.get_state(cls))


def test_every_handler_that_needs_a_login_is_guarded():
    """Every handler of a state under AuthState (the logged-in screens) carries require_role,
    except those a visitor of /login needs and logging out (which anyone may do)."""
    from online_contact.states.auth import AuthState

    public = {"setvar", "submit", "load_login", "expired", "logout", "logout_everywhere"}
    classes = [c for c in all_state_classes() if issubclass(c, AuthState)]
    assert len(classes) >= 3
    unguarded = [
        f"{c.__name__}.{name}"
        for c in classes
        for name, handler in c.event_handlers.items()
        if name not in public and required_role(handler) is None
    ]
    assert unguarded == []


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_a_page_with_a_role_needs_a_loader_guarded_for_it(role):
    from online_contact.pages.registry import page
    from online_contact.states.inquiry import InquiryState

    with pytest.raises(ValueError, match="must be guarded"):
        page(route=f"/test-{role}", title="x", role=role, on_load=InquiryState.load_inquiry)(lambda: rx.box())


def test_every_registered_page_with_a_role_has_its_loader_guarded():
    from online_contact.pages import PAGES

    privileged = [p for p in PAGES if p.role]
    assert {p.route for p in privileged} >= {"/agent", "/agent/tickets"}
    assert all(required_role(p.on_load) == p.role for p in privileged)
