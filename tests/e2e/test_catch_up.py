"""A tab catching up asks for each page once, one catch-up at a time, while the chat goes on
(issue 23, the review of the message path).

A join's answer is a page (about 64 KB): a tab that was away pages through what it missed. The
chat goes on meanwhile, so live messages arrive that look like a gap (what is missing is still on
its way in the pages): each started a second chain of joins next to the first (the same pages
read twice, the socket's allowance of joins used up) and un-joined the tab, so its sends fell
back to the Reflex handler. Here the customer's connection drops while the chat goes on; the
customer's websocket runs through a proxy that holds the join answers back (a server slow to
read) while the agent keeps sending, and records every join the page asks for.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from playwright.sync_api import Page, WebSocketRoute, expect
from sqlmodel import select

from online_contact.models import Chat

from .helpers import agent_opens_chat, begin_chat, send, wait_wire_joined


class HeldJoins:
    """The page's websocket through Playwright's route_web_socket: every frame passes, except the
    answers to the message path's ``join`` that `hold` picks, kept back until release(). Counts
    the joins the page has asked for and not had answered yet."""

    JOIN = re.compile(r'^42/_wire,(\d+)\["join",(.*)\]$', re.S)
    ANSWER = re.compile(r"^43/_wire,(\d+)\[(.*)\]$", re.S)

    def __init__(self) -> None:
        self.hold = lambda answer: False
        # Reflex's state updates to the page (its events on /_event) kept back, never delivered.
        self.hold_state = False
        self.state_held = 0
        self.held: list[tuple[int, WebSocketRoute, str, str, dict]] = []
        self.connection = 0
        self.routes: tuple[WebSocketRoute, WebSocketRoute] | None = None
        self.asked: dict[tuple[int, str], int] = {}  # (connection, ack id) -> after
        self.waiting: set[tuple[int, str]] = set()
        self.most_waiting = 0
        self.answered: list[tuple[int, int, dict]] = []  # (connection, after, answer) as the page got them

    def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        self.connection += 1
        conn = self.connection
        self.routes = (ws, server)

        def from_page(message) -> None:
            found = self.JOIN.match(message) if isinstance(message, str) else None
            if found:
                key = (conn, found.group(1))
                self.asked[key] = json.loads(found.group(2)).get("after")
                self.waiting.add(key)
                self.most_waiting = max(self.most_waiting, len(self.waiting))
            server.send(message)

        def from_server(message) -> None:
            if self.hold_state and isinstance(message, str) and message.startswith("42/_event,"):
                self.state_held += 1
                return
            found = self.ANSWER.match(message) if isinstance(message, str) else None
            if found and (conn, found.group(1)) in self.asked:
                answer = json.loads(found.group(2))
                if self.hold(answer):
                    self.held.append((conn, ws, found.group(1), message, answer))
                    return
                self._delivered(conn, found.group(1), answer)
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    def _delivered(self, conn: int, ack: str, answer: dict) -> None:
        self.waiting.discard((conn, ack))
        self.answered.append((conn, self.asked[(conn, ack)], answer))

    def release(self) -> None:
        held, self.held = self.held, []
        for conn, ws, ack, message, answer in held:
            if conn == self.connection:
                self._delivered(conn, ack, answer)
                ws.send(message)

    def drop(self) -> None:
        """The connection breaks (both ends closed): the page connects again on its own."""
        ws, server = self.routes
        self.waiting = {key for key in self.waiting if key[0] != self.connection}
        server.close()
        ws.close()


def wait_until(page: Page, condition, what: str, timeout: float = 15) -> None:
    """Until `condition()` holds; the proxy's frames are handled while Playwright waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(20)


def store_long(server, chat_id: int, first: int, count: int) -> None:
    """Messages the tab does not get live (stored directly): 6 KB each, ten or so to a page."""
    from online_contact.services.messages import post_message

    with server.session() as s:
        for i in range(first, first + count):
            post_message(s, s.get(Chat, chat_id), "customer", f"긴 글 {i:03d} " + "가" * 1990)


def test_a_tab_catching_up_asks_for_each_page_once_while_the_chat_goes_on(customer, agent, reset, monkeypatch):
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_SECOND", "0")  # stored at once, below
    proxy = HeldJoins()
    customer.route_web_socket(re.compile(r"/_event"), proxy.route)
    name = f"따라잡기{uuid.uuid4().hex[:6]}"
    begin_chat(customer, agent, reset, name=name)
    agent_opens_chat(agent, name)
    with reset.session() as s:
        chat_id = s.exec(select(Chat).where(Chat.customer_name == name)).one().id
    wait_wire_joined(customer)
    wait_wire_joined(agent)
    log = customer.get_by_role("log", name="대화 내용")

    # The customer's connection breaks while 40 long messages come (four pages or so); back, the
    # tab asks for them and the server is slow to answer while the agent goes on. (This server
    # refreshes every room from the database every 10 s, which would bring the tab's room window
    # up to date by another road: Reflex's updates to the customer's tab are kept back.)
    proxy.hold_state = True
    store_long(reset, chat_id, 1, 40)
    proxy.hold = lambda answer: True
    proxy.drop()
    wait_until(customer, lambda: proxy.held, "the tab to ask again after coming back")
    for text in ("실시간 하나", "실시간 둘", "실시간 셋"):
        send(agent, text)
        expect(agent.get_by_role("log", name="대화 내용")).to_contain_text(text)
    expect(log).to_contain_text("실시간 셋")

    # The pages come; the last one is slow. Meanwhile 15 more come that the tab does not get
    # live, then the agent's next message: a gap beyond what the catch-up under way will end at.
    proxy.hold = lambda answer: bool(answer.get("ok")) and not answer.get("more")
    proxy.release()
    wait_until(customer, lambda: proxy.held, "the last page of the catch-up")
    proxy.hold = lambda answer: True  # and any join asked for from now on
    store_long(reset, chat_id, 41, 15)
    send(agent, "실시간 넷")
    expect(log).to_contain_text("실시간 넷")
    # The tab stays joined while it catches up (its sends keep going over the message path).
    assert customer.evaluate("() => window.ocWire.joined()") == chat_id
    proxy.hold = lambda answer: False
    proxy.release()

    # Every message once, the gap seen meanwhile included.
    with reset.session() as s:
        last = s.get(Chat, chat_id).last_seq
    expect(log.locator(".oc-message")).to_have_count(last)
    for i in (1, 40, 41, 55):
        expect(log.get_by_text(f"긴 글 {i:03d} ", exact=False)).to_have_count(1)
    wait_until(customer, lambda: not proxy.waiting, "the catch-up to end")
    # One catch-up at a time, each page asked for once since the tab came back.
    assert proxy.most_waiting == 1
    pages = [after for conn, after, answer in proxy.answered if conn == proxy.connection and answer.get("ok")]
    assert len(pages) == len(set(pages)), pages
