"""서비스 관리 in a real browser, with the people it affects in their own browsers at the same
time (issue #11): an admin changes something, and the open pages of customers and agents show
it without a reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from online_contact.models import Agent, Category, Chat, ChatSettings
from online_contact.services import settings as settings_service
from online_contact.services.seed import GREETING, SATISFACTION

from .helpers import agent_opens_chat, begin_chat, go_online, login, open_help_center, start_chat


@pytest.fixture
def admin(browser, reset):
    ctx = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    login(page, reset.url, "admin@example.com", "admin1234")
    yield page
    ctx.close()


def _settings(page: Page, base: str, path: str, heading: str) -> None:
    page.goto(base + path)
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()


def _save(page: Page) -> None:
    page.get_by_role("button", name="저장", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="저장되었습니다.")).to_be_visible()


def test_chat_off_takes_the_icon_away_from_an_open_help_center_and_on_brings_it_back(admin, customer, reset):
    open_help_center(customer, reset.url)
    icon = customer.get_by_role("button", name="채팅", exact=True)
    expect(icon).to_be_visible()
    _settings(admin, reset.url, "/settings", "기본 설정")
    switch = admin.get_by_role("switch", name="채팅 사용")
    expect(switch).to_be_checked()
    switch.click()
    expect(admin.get_by_text("저장되지 않은 변경")).to_be_visible()
    _save(admin)
    expect(icon).to_have_count(0, timeout=5000)  # no reload: pushed to the open page
    with reset.session() as s:
        assert not settings_service.get_settings(s).chat_enabled
    admin.get_by_role("switch", name="채팅 사용").click()
    _save(admin)
    expect(icon).to_be_visible(timeout=5000)


def test_a_new_greeting_is_what_the_next_chat_starts_with(admin, customer, agent, reset):
    _settings(admin, reset.url, "/settings", "기본 설정")
    box = admin.get_by_label("인사말 (한국어)")
    # The screen's loader fills the form: cleared before it arrived, the box would be filled
    # again with the saved greeting and 저장 would store that (the once-in-a-while failure).
    expect(box).not_to_have_value("")
    box.fill("")
    _save_refused = admin.get_by_role("button", name="저장", exact=True)
    _save_refused.click()
    expect(admin.get_by_role("alert").filter(has_text="인사말을 입력해 주세요.")).to_be_visible()
    box.fill("반갑습니다! 오늘 무엇을 도와드릴까요?")
    _save(admin)
    try:
        begin_chat(customer, agent, reset, name="새인사")
        expect(customer.get_by_role("log", name="대화 내용")).to_contain_text("반갑습니다! 오늘 무엇을 도와드릴까요?")
    finally:
        with reset.session() as s:
            settings_service.set_texts(s, settings_service.get_settings(s), "ko", GREETING["ko"], SATISFACTION["ko"])


def test_a_category_added_at_level_three_shows_in_an_agents_open_cascade(admin, customer, agent, reset):
    begin_chat(customer, agent, reset, name="분류손님")
    agent_opens_chat(agent, "분류손님")
    agent.get_by_label("대분류").select_option(label="주문")
    agent.get_by_label("중분류").select_option(label="배송")
    leaf = agent.get_by_label("소분류").locator("option", has_text="배송 문의")
    expect(leaf).to_have_count(0)
    _settings(admin, reset.url, "/settings/categories", "카테고리 관리")
    admin.get_by_role("button", name="하위 추가 배송", exact=True).click()
    admin.get_by_role("dialog").get_by_label("이름", exact=True).fill("배송 문의")
    admin.get_by_role("dialog").get_by_role("button", name="저장").click()
    expect(admin.locator('[data-category="배송 문의"]')).to_be_visible()
    try:
        expect(leaf).to_have_count(1, timeout=5000)  # the agent's open cascade, no reload
        agent.get_by_label("소분류").select_option(label="배송 문의")
        agent.get_by_role("button", name="저장", exact=True).click()
        expect(agent.get_by_role("status").filter(has_text="저장")).to_be_visible()
        # A duplicate sibling is refused next to the field, nothing added.
        admin.get_by_role("button", name="하위 추가 배송", exact=True).click()
        admin.get_by_role("dialog").get_by_label("이름", exact=True).fill("배송 문의")
        admin.get_by_role("dialog").get_by_role("button", name="저장").click()
        expect(admin.get_by_role("dialog").get_by_role("alert")).to_contain_text("이미 있습니다")
    finally:
        with reset.session() as s:
            cat = s.exec(select(Category).where(Category.name == "배송 문의")).first()
            for chat in s.exec(select(Chat).where(Chat.category_id == cat.id)):
                chat.category_id = None
                s.add(chat)
            s.commit()
            s.delete(cat)


def test_an_agent_added_in_agent_management_logs_in_and_takes_a_chat(admin, browser, customer, reset):
    _settings(admin, reset.url, "/settings/agents", "상담원 관리")
    admin.get_by_role("button", name="상담원 추가").click()
    dialog = admin.get_by_role("dialog")
    email = "newcomer@example.com"
    dialog.get_by_label("이름").fill("신규상담원")
    dialog.get_by_label("이메일").fill(email)
    dialog.get_by_label("초기 비밀번호").fill("newcomer-pass-1")
    dialog.get_by_role("button", name="저장").click()
    expect(admin.locator(f'[data-account="{email}"]')).to_be_visible()
    ctx = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 900})
    newcomer = ctx.new_page()
    try:
        login(newcomer, reset.url, email, "newcomer-pass-1")
        go_online(newcomer)
        open_help_center(customer, reset.url)
        start_chat(customer, name="첫손님")
        agent_opens_chat(newcomer, "첫손님")
        expect(newcomer.get_by_role("region", name="고객정보").get_by_label("이름")).to_have_value("첫손님")
    finally:
        ctx.close()
        with reset.session() as s:
            agent = s.exec(select(Agent).where(Agent.email == email)).one()
            agent.active = False  # it stays (chats name it), not able to log in
            s.add(agent)


def test_deactivating_an_agent_logs_their_tab_out_and_hands_their_unopened_chat_on(admin, agent, agent2, customer, reset):
    login(agent, reset.url, "agent1@example.com")
    go_online(agent)
    open_help_center(customer, reset.url)
    start_chat(customer, name="넘겨질손님")
    expect(agent.get_by_text(re.compile(r"^대화중 1$"))).to_be_visible()
    login(agent2, reset.url, "agent2@example.com")
    go_online(agent2)
    _settings(admin, reset.url, "/settings/agents", "상담원 관리")
    admin.get_by_role("button", name="비활성화 agent1@example.com").click()
    confirm = admin.get_by_role("alertdialog", name="계정을 비활성화할까요?")
    confirm.get_by_role("button", name="확인").click()
    expect(confirm).to_be_hidden()
    expect(admin.get_by_role("status").filter(has_text="비활성화했습니다")).to_be_visible()
    expect(agent).to_have_url(re.compile(r"/login/?$"), timeout=5000)
    agent_opens_chat(agent2, "넘겨질손님")
    admin.get_by_role("button", name="활성화 agent1@example.com").click()
    expect(admin.get_by_role("button", name="비활성화 agent1@example.com")).to_be_visible()


def test_an_agent_opening_settings_sees_no_settings(agent, reset):
    login(agent, reset.url, "agent1@example.com")
    expect(agent.get_by_role("link", name="설정")).to_have_count(0)  # not offered to agents
    for path in ("/settings", "/settings/agents", "/settings/categories", "/settings/audit"):
        agent.goto(reset.url + path)
        expect(agent).to_have_url(re.compile(r"/agent/?$"))
        expect(agent.get_by_role("heading", name="기본 설정")).to_have_count(0)
        expect(agent.get_by_role("button", name="상담원 추가")).to_have_count(0)


def test_the_audit_log_lists_what_admins_changed(admin, reset):
    _settings(admin, reset.url, "/settings/assignment", "상담원 할당 설정")
    admin.get_by_label("최대 동시 상담 수 (기본값)").fill("7")
    _save(admin)
    admin.get_by_role("link", name="감사 로그").click()
    expect(admin.get_by_role("heading", name="감사 로그", level=1)).to_be_visible()
    expect(admin.get_by_role("table")).to_contain_text("default_max_open_chats: — → 7")
    admin.get_by_label("작업").select_option(label="로그인")
    expect(admin.get_by_role("table")).not_to_contain_text("default_max_open_chats")
    expect(admin.get_by_role("table")).to_contain_text("login.success")


def test_unsaved_settings_are_marked_and_leaving_them_asks_first(admin, reset):
    _settings(admin, reset.url, "/settings", "기본 설정")
    admin.get_by_label("만족도 안내 메시지 (English)").fill("Rate us, please")
    expect(admin.get_by_text("저장되지 않은 변경")).to_be_visible()
    asked: list[str] = []
    admin.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    admin.get_by_role("link", name="상담원 할당 설정").click()
    expect(admin.get_by_role("heading", name="기본 설정", level=1)).to_be_visible()
    assert asked and "저장하지 않은 변경" in asked[0]
    admin.get_by_role("button", name="되돌리기").click()
    expect(admin.get_by_text("저장되지 않은 변경")).to_have_count(0)
    admin.get_by_role("link", name="상담원 할당 설정").click()
    expect(admin.get_by_role("heading", name="상담원 할당 설정", level=1)).to_be_visible()


def test_the_embed_code_is_copied_with_one_click(admin, reset):
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=reset.url)
    _settings(admin, reset.url, "/settings/embed", "채팅화면 삽입 코드")
    admin.get_by_role("button", name="English 복사").click()
    expect(admin.get_by_text("복사되었습니다.")).to_be_visible()
    copied = admin.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("<script async src=") and copied.endswith('/embed.js" data-lang="en"></script>')
    # The preview shows the customer's first step (the consent text the admin wrote), even
    # with nobody Online, and never starts a chat.
    preview = admin.frame_locator('iframe[title="채팅 미리보기"]')
    with reset.session() as s:
        chats_before = len(s.exec(select(Chat.id)).all())
    expect(preview.get_by_role("heading", name="개인정보 수집 동의")).to_be_visible()
    preview.get_by_role("checkbox").click()
    preview.get_by_role("button", name="상담 시작").click()
    expect(preview.get_by_text("미리보기에서는 상담을 시작할 수 없습니다.")).to_be_visible()
    with reset.session() as s:
        assert len(s.exec(select(Chat.id)).all()) == chats_before


def test_the_sites_allowed_to_embed_the_chat_are_checked_and_saved(admin, reset):
    import urllib.request

    _settings(admin, reset.url, "/settings/embed", "채팅화면 삽입 코드")
    sites = admin.get_by_label("채팅을 넣을 수 있는 사이트")
    sites.fill("https://shop.example.com\nshop.example.com/path")
    admin.get_by_role("button", name="저장", exact=True).click()
    expect(admin.get_by_text("사이트 주소가 올바르지 않습니다: shop.example.com/path")).to_be_visible()
    with reset.session() as s:
        assert s.exec(select(ChatSettings)).first().embed_origins == ""
    sites.fill("https://shop.example.com/\nhttps://m.shop.example.com:8443")
    admin.get_by_label("상담원이 없으면 숨기기").click()
    _save(admin)
    with reset.session() as s:
        stored = s.exec(select(ChatSettings)).first()
        assert stored.embed_origins == "https://shop.example.com\nhttps://m.shop.example.com:8443"
        assert stored.embed_hide_when_offline
    # The widget may now be framed by exactly those sites (and the app's own preview).
    with urllib.request.urlopen(reset.url + "/widget") as response:
        policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://shop.example.com https://m.shop.example.com:8443" in policy
    admin.reload()
    expect(admin.get_by_label("채팅을 넣을 수 있는 사이트")).to_have_value("https://shop.example.com\nhttps://m.shop.example.com:8443")
