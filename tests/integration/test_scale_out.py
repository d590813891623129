"""Several backend workers on PostgreSQL + Redis: a customer and an agent connected to different
server processes still chat live (Reflex relays state updates through Redis)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import go_online, login, open_help_center, send, start_chat
from tests.support import free_port, start_server, stop_server

from .conftest import reset_workspace

expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def two_instances(pg_url, redis_url, tmp_path_factory):
    """Two `reflex run --env prod` processes, two granian workers each, one database, one Redis."""
    tmp = tmp_path_factory.mktemp("scale")
    env = {"REDIS_URL": redis_url, "GRANIAN_WORKERS": "2"}
    first = start_server(pg_url, free_port(), tmp / "a.log", extra_env=env)
    try:
        second = start_server(pg_url, free_port(), tmp / "b.log", extra_env=env)
    except BaseException:
        stop_server(first.proc)
        raise
    yield first, second
    stop_server(second.proc)
    stop_server(first.proc)


def test_customer_and_agent_on_different_workers_chat_live(browser, two_instances, pg_url):
    a, b = two_instances
    reset_workspace(pg_url)
    agent = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 900}).new_page()
    customer = browser.new_context(locale="ko-KR").new_page()
    try:
        login(agent, b.url, "agent2@example.com")
        go_online(agent)
        open_help_center(customer, a.url)
        start_chat(customer, name="다른워커")
        expect(agent.get_by_text(re.compile(r"^대화중 1$"))).to_be_visible()
        agent.get_by_role("button", name="채팅", exact=True).click()
        agent.get_by_role("navigation", name="채팅 목록").get_by_role("button", name="다른워커").click()
        send(customer, "A 서버에서 보낸 메시지")
        expect(agent.get_by_role("log", name="대화 내용")).to_contain_text("A 서버에서 보낸 메시지")
        send(agent, "B 서버에서 보낸 답장")
        expect(customer.get_by_role("log", name="대화 내용")).to_contain_text("B 서버에서 보낸 답장")
        customer.get_by_role("button", name="대화 종료").click()
        customer.get_by_role("alertdialog", name="대화를 종료할까요?").get_by_role("button", name="대화 종료").click()
        expect(agent.get_by_text("고객이 대화를 종료했습니다.")).to_be_visible()
    finally:
        agent.context.close()
        customer.context.close()
