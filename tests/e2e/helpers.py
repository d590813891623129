"""What a person does, written once."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def wait_ready(page: Page) -> None:
    """Wait until the page is hydrated and connected (Reflex shows content only then)."""
    page.wait_for_load_state("networkidle")


def login(page: Page, base: str, email: str, password: str = "agent1234") -> None:
    page.goto(f"{base}/login")
    page.get_by_label("이메일").fill(email)
    page.get_by_label("비밀번호").fill(password)
    page.get_by_role("button", name="로그인").click()
    expect(page).to_have_url(f"{base}/agent")
    expect(page.get_by_role("radiogroup", name="상태").or_(page.get_by_label("상태"))).to_be_visible()


def go_online(page: Page) -> None:
    page.get_by_role("radio", name="온라인").click()
    expect(page.get_by_role("radio", name="온라인")).to_be_checked()


def open_help_center(page: Page, base: str) -> None:
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="무엇을 도와드릴까요?")).to_be_visible()


def start_chat(page: Page, name: str = "홍길동", email: str = "hong@example.com") -> None:
    """Click the chat icon, give consent, start the chat."""
    page.get_by_role("button", name="채팅", exact=True).click()
    page.get_by_label("개인정보 수집 및 이용에 동의합니다 (필수)").check()
    page.get_by_label("이름 (선택)").fill(name)
    page.get_by_label("이메일 (선택)").fill(email)
    page.get_by_role("button", name="상담 시작").click()
    expect(page.get_by_role("log", name="대화 내용")).to_be_visible()


def wait_wire_joined(page: Page) -> None:
    """Wait until the page's message path has joined its chat (assets/chat_wire.jsx)."""
    page.wait_for_function("() => window.ocWire && window.ocWire.joined() > 0")


def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="메시지")
    box.fill(text)
    box.press("Enter")


def begin_chat(customer: Page, agent: Page, server, name: str, email: str = "hong@example.com") -> str:
    """agent1 logs in and goes Online; the customer starts a chat. Returns the base URL."""
    base = server.url
    login(agent, base, "agent1@example.com")
    go_online(agent)
    open_help_center(customer, base)
    start_chat(customer, name=name, email=email)
    return base


def agent_opens_chat(agent: Page, name: str) -> None:
    """The chat icon, then the customer's name in the list."""
    agent.get_by_role("button", name="채팅", exact=True).click()
    agent.get_by_role("navigation", name="채팅 목록").get_by_role("button", name=name).click()
    expect(agent.get_by_role("region", name="고객정보")).to_be_visible()
