"""The server process is killed mid-chat and started again: the chat goes on, nothing is lost."""

from __future__ import annotations

import signal

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from online_contact.models import Chat, Message

from tests.support import free_port, prepare_database, start_server, stop_server
from .helpers import agent_opens_chat, begin_chat, send


@pytest.fixture
def own_server(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'restart.db'}"
    prepare_database(db_url)
    port = free_port()
    srv = start_server(db_url, port, tmp_path / "server.log")
    holder = {"server": srv, "port": port, "tmp": tmp_path, "db_url": db_url}
    yield holder
    stop_server(holder["server"].proc)


@pytest.fixture
def people(browser):
    """An agent and a customer, each in a browser context of their own."""
    agent = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 900}).new_page()
    customer = browser.new_context(locale="ko-KR").new_page()
    yield agent, customer
    agent.context.close()
    customer.context.close()


def test_chat_survives_a_server_kill_and_restart(people, own_server):
    agent, customer = people
    srv = own_server["server"]
    begin_chat(customer, agent, srv, name="재시작")
    agent_opens_chat(agent, "재시작")
    send(customer, "재시작 전 고객 메시지")
    send(agent, "재시작 전 상담원 메시지")
    customer_log = customer.get_by_role("log", name="대화 내용")
    agent_log = agent.get_by_role("log", name="대화 내용")
    expect(customer_log).to_contain_text("재시작 전 상담원 메시지")
    expect(agent_log).to_contain_text("재시작 전 고객 메시지")

    stop_server(srv.proc, signal.SIGKILL)
    expect(customer.get_by_text("재연결 중…")).to_be_visible()
    expect(agent.get_by_text("재연결 중…")).to_be_visible()
    send(customer, "서버가 꺼진 동안 보낸 메시지")
    own_server["server"] = start_server(own_server["db_url"], own_server["port"], own_server["tmp"] / "server2.log")

    expect(customer.get_by_text("재연결 중…")).to_have_count(0, timeout=60_000)
    for line in ("재시작 전 고객 메시지", "재시작 전 상담원 메시지", "서버가 꺼진 동안 보낸 메시지"):
        expect(customer_log).to_contain_text(line)
        expect(agent_log).to_contain_text(line)
    send(agent, "재시작 후 상담원 메시지")
    expect(customer_log).to_contain_text("재시작 후 상담원 메시지")
    send(customer, "재시작 후 고객 메시지")
    expect(agent_log).to_contain_text("재시작 후 고객 메시지")
    with own_server["server"].session() as s:
        chat = s.exec(select(Chat).order_by(Chat.id.desc())).first()
        stored = [m.text for m in s.exec(select(Message).where(Message.chat_id == chat.id).order_by(Message.seq))]
    assert stored.count("서버가 꺼진 동안 보낸 메시지") == 1
    expect(customer_log.locator(".oc-message")).to_have_count(len(stored))
    expect(agent_log.locator(".oc-message")).to_have_count(len(stored))


def test_a_message_queued_while_down_survives_the_page_going_away(people, own_server):
    """The server is down, the customer sends, and the page is closed before it reconnects:
    the message is sent again (same id) when the customer comes back."""
    agent, customer = people
    srv = own_server["server"]
    base = srv.url
    begin_chat(customer, agent, srv, name="돌아온고객")
    send(customer, "첫 메시지")
    expect(customer.get_by_role("log", name="대화 내용")).to_contain_text("첫 메시지")

    stop_server(srv.proc, signal.SIGKILL)
    expect(customer.get_by_text("재연결 중…")).to_be_visible()
    send(customer, "서버가 없는 동안 보내고 창을 떠남")
    customer.goto("about:blank")  # the tab's in-memory queue is gone
    own_server["server"] = start_server(own_server["db_url"], own_server["port"], own_server["tmp"] / "server3.log")

    customer.goto(base + "/")
    log = customer.get_by_role("log", name="대화 내용")
    expect(log.get_by_text("서버가 없는 동안 보내고 창을 떠남", exact=True)).to_have_count(1, timeout=30_000)
    customer.reload()
    customer.wait_for_timeout(4000)  # a second resend would happen after 3 s
    with own_server["server"].session() as s:
        chat = s.exec(select(Chat).order_by(Chat.id.desc())).first()
        texts = [m.text for m in s.exec(select(Message).where(Message.chat_id == chat.id))]
    assert texts.count("서버가 없는 동안 보내고 창을 떠남") == 1
