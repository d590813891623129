"""채팅화면 삽입 코드 in real browsers: a shop's pages on another site (http://localhost:<port>,
while the app is http://127.0.0.1:<port>: another origin and another site) paste the snippet."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlmodel import select

from online_contact.models import Chat, ChatSettings
from tests.support import free_port

from .helpers import agent_opens_chat, go_online, login, send

SHOP = """<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>우리 쇼핑몰</title>
<style>button {{ background: red !important; width: 10px !important; }} div {{ display: none !important; }}</style></head>
<body><h1>우리 쇼핑몰</h1><a href="/other.html">다른 페이지</a>
{extra}
<script async src="{app}/embed.js" data-lang="ko"></script></body></html>"""

# A page of a third site, framed by the shop (an ad, say), that tries to talk to both sides.
FORGER = """<!doctype html><html><body><script>
setInterval(function () {
  var forged = {oc: 1, type: "init", visitor: "ffffffffffffffffffffffffffffffff", user: {name: "위조", email: "x@evil.test"}};
  for (var i = 0; i < parent.frames.length; i++) parent.frames[i].postMessage(forged, "*");
  parent.postMessage({oc: 1, type: "visitor", key: "ffffffffffffffffffffffffffffffff"}, "*");
  parent.postMessage({oc: 1, type: "message"}, "*");
  parent.postMessage({oc: 1, type: "close"}, "*");
}, 100);
</script></body></html>"""


class Shop:
    def __init__(self, app: str) -> None:
        self.app = app
        self.pages: dict[str, str] = {}
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.forger_port = free_port()
        self.forger = f"http://localhost:{self.forger_port}"

    def page(self, name: str, extra: str = "") -> str:
        self.pages[name] = SHOP.format(app=self.app, extra=extra)
        return f"{self.url}/{name}"


def _serve(port: int, pages) -> ThreadingHTTPServer:
    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = pages().get(self.path.lstrip("/").split("?")[0])
            if body is None:
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture
def shop(reset) -> Iterator[Shop]:
    site = Shop(reset.url)
    servers = [_serve(site.port, lambda: site.pages), _serve(site.forger_port, lambda: {"forge.html": FORGER})]
    site.page("other.html")
    yield site
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def _wait_for(condition, seconds: float = 15.0) -> None:
    """Until `condition()` holds (a frame's navigation has no expect() of its own)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _launcher(page: Page):
    return page.get_by_role("button", name="채팅", exact=True)


def _chat(page: Page):
    return page.frame_locator("iframe[title='채팅']")


def test_the_snippet_brings_the_chat_to_another_site(customer: Page, agent: Page, shop: Shop, reset):
    base = reset.url
    url = shop.page("index.html", extra=f'<iframe src="{shop.forger}/forge.html" title="광고" width="10" height="10"></iframe>')
    login(agent, base, "agent1@example.com")
    go_online(agent)

    # The shop's page carries the visitor's email and a token in its query and fragment: the
    # chat records the page without them (its 채널 is shown to agents, in 통계 and the export).
    customer.goto(url + "?email=kim%40example.com&reset_token=s3cr3t#step-2")
    launcher = _launcher(customer)
    expect(launcher).to_be_visible()
    # Before the click: no frame, nothing written to the shop's storage.
    assert customer.locator("iframe[title='채팅']").count() == 0
    assert customer.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]
    customer.evaluate("OnlineContact.setUser({name: '김고객', email: 'kim@example.com'})")

    launcher.click()
    chat = _chat(customer)
    expect(chat.get_by_label("이름 (선택)")).to_have_value("김고객")
    assert "s3cr3t" not in customer.locator("iframe[title='채팅']").get_attribute("src")  # the loader sent the page only
    expect(chat.get_by_label("이메일 (선택)")).to_have_value("kim@example.com")
    chat.get_by_label("개인정보 수집 및 이용에 동의합니다 (필수)").check()
    chat.get_by_role("button", name="상담 시작").click()
    expect(chat.get_by_role("log", name="대화 내용")).to_be_visible()
    chat.get_by_role("textbox", name="메시지").fill("가방 배송 문의합니다")
    chat.get_by_role("textbox", name="메시지").press("Enter")

    # The agent sees the shop's page as the channel, and answers live.
    agent_opens_chat(agent, "김고객")
    expect(agent.get_by_role("region", name="고객정보")).to_contain_text(url)
    expect(agent.get_by_role("region", name="고객정보")).not_to_contain_text("s3cr3t")
    expect(agent.get_by_role("log", name="대화 내용")).to_contain_text("가방 배송 문의합니다")
    send(agent, "오늘 출고됩니다")
    expect(chat.get_by_role("log", name="대화 내용")).to_contain_text("오늘 출고됩니다")

    # The customer's key is kept by the shop (not by the third-party frame); the forger's
    # messages changed nothing: neither the key nor the name, no badge, the chat still open.
    with reset.session() as s:
        stored = s.exec(select(Chat).order_by(Chat.id.desc())).first()
        assert stored.customer_name == "김고객" and stored.channel == url
    key = customer.evaluate("localStorage.getItem('oc_visitor')")
    assert key and key != "f" * 32
    expect(chat.get_by_role("log", name="대화 내용")).to_be_visible()

    # Closed: a message from the agent shows as a badge on the launcher (and the site hears of it).
    customer.evaluate("""window.__events = [];
      ['open', 'close', 'unread'].forEach((e) => OnlineContact.on(e, (v) => window.__events.push([e, v ?? null])));""")
    chat.get_by_role("button", name="채팅 창 닫기").click()
    expect(customer.locator("iframe[title='채팅']")).to_be_hidden()
    send(agent, "송장 번호는 12345입니다")
    expect(launcher).to_have_text("1")  # one, whatever the forger's frame claims
    assert customer.evaluate("window.__events") == [["close", None], ["unread", 1]]
    launcher.click()
    expect(chat.get_by_role("log", name="대화 내용")).to_contain_text("송장 번호는 12345입니다")
    expect(launcher).to_have_text("")

    # Another page of the shop: the chat was open, so it opens again there, the same chat.
    customer.get_by_role("link", name="다른 페이지").click()
    expect(_chat(customer).get_by_role("log", name="대화 내용")).to_contain_text("오늘 출고됩니다")
    # A reload after closing it: the launcher, and the same chat behind it.
    _chat(customer).get_by_role("button", name="채팅 창 닫기").click()
    customer.reload()
    _launcher(customer).click()
    expect(_chat(customer).get_by_role("log", name="대화 내용")).to_contain_text("송장 번호는 12345입니다")
    assert customer.evaluate("localStorage.getItem('oc_visitor')") == key
    # The site's own calls.
    customer.evaluate("OnlineContact.close()")
    expect(customer.locator("iframe[title='채팅']")).to_be_hidden()
    customer.evaluate("OnlineContact.open()")
    expect(_chat(customer).get_by_role("log", name="대화 내용")).to_be_visible()


def test_no_launcher_when_chat_is_off_or_the_site_is_not_allowed(customer: Page, shop: Shop, reset):
    url = shop.page("index.html", extra=f'<iframe src="{reset.url}/widget" title="직접 삽입"></iframe>')
    with reset.session() as s:
        s.exec(update(ChatSettings).values(chat_enabled=False))
        s.commit()
    customer.goto(url)
    customer.wait_for_function("() => !!window.OnlineContact")
    expect(_launcher(customer)).to_have_count(0)
    _wait_for(lambda: [f.url.startswith(reset.url + "/widget") for f in customer.frames[1:]] == [True])  # any site may frame it, by default

    # On, but only for another site: no launcher, and the browser refuses the frame.
    with reset.session() as s:
        s.exec(update(ChatSettings).values(chat_enabled=True, embed_origins="https://www.example.com"))
        s.commit()
    customer.goto(url + "?again")
    customer.wait_for_function("() => !!window.OnlineContact")
    expect(_launcher(customer)).to_have_count(0)
    response = customer.request.get(reset.url + "/widget")
    assert "frame-ancestors 'self' https://www.example.com" in response.headers["content-security-policy"]
    _wait_for(lambda: [f.url for f in customer.frames[1:]] == ["chrome-error://chromewebdata/"])  # the browser's page for a refused frame

    # The shop added to the list: the launcher is back.
    with reset.session() as s:
        s.exec(update(ChatSettings).values(embed_origins=f"https://www.example.com\n{shop.url}"))
        s.commit()
    customer.goto(url + "?third")
    expect(_launcher(customer)).to_be_visible()


def test_without_agents_the_launcher_leads_to_the_away_notice_or_hides(customer: Page, shop: Shop, reset):
    url = shop.page("index.html")
    # Nobody Online: the launcher opens to 상담원 부재중 and 문의하기; on a phone, full screen.
    customer.set_viewport_size({"width": 390, "height": 800})
    customer.goto(url)
    # By keyboard: the shop's link, then the launcher; Enter opens the chat.
    customer.keyboard.press("Tab")
    expect(customer.get_by_role("link", name="다른 페이지")).to_be_focused()
    customer.keyboard.press("Tab")
    expect(_launcher(customer)).to_be_focused()
    customer.keyboard.press("Enter")
    chat = _chat(customer)
    expect(chat.get_by_role("alertdialog")).to_contain_text("상담원 부재중")
    box = customer.locator("iframe[title='채팅']").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 800}
    expect(_launcher(customer)).to_be_hidden()  # it would cover the chat; the chat's ✕ closes it
    chat.get_by_role("alertdialog").get_by_role("button", name="닫기").click()
    expect(chat.get_by_role("link", name="문의하기")).to_be_visible()

    # 상담원이 없으면 숨기기: no launcher at all while nobody is Online.
    with reset.session() as s:
        s.exec(update(ChatSettings).values(embed_hide_when_offline=True))
        s.commit()
    customer.goto(url + "?hidden")
    customer.wait_for_function("() => !!window.OnlineContact")
    expect(_launcher(customer)).to_have_count(0)


def test_an_inquiry_from_the_launcher_belongs_to_the_sites_customer(customer: Page, agent: Page, shop: Shop, reset):
    """A customer waiting in the queue leaves a 1:1 inquiry from the chat in the shop's
    launcher, under another address: it is linked to them by the key the shop keeps (so that
    고객 정보 삭제 takes it), and it is on the agents' ticket list."""
    from online_contact.models import Agent, Ticket

    login(agent, reset.url, "agent1@example.com")
    go_online(agent)
    with reset.session() as s:  # Online, but with no free slot: the chat waits
        s.exec(update(Agent).where(Agent.email == "agent1@example.com").values(max_open_chats=0))
        s.commit()
    customer.goto(shop.page("index.html"))
    _launcher(customer).click()
    chat = _chat(customer)
    chat.get_by_label("개인정보 수집 및 이용에 동의합니다 (필수)").check()
    chat.get_by_label("이름 (선택)").fill("김고객")
    chat.get_by_role("button", name="상담 시작").click()
    chat.get_by_role("link", name="기다리기 어려우시면 1:1 문의를 남겨 주세요.").click()
    chat.get_by_label("이름").fill("김고객")
    chat.get_by_label("이메일").fill("kim.other@example.com")
    chat.get_by_label("제목").fill("환불 문의")
    chat.get_by_label("내용").fill("기다리기 어려워 글을 남깁니다")
    chat.get_by_role("button", name="제출").click()
    expect(chat.get_by_role("status")).to_contain_text("문의가 접수되었습니다")
    with reset.session() as s:
        waiting = s.exec(select(Chat).order_by(Chat.id.desc())).first()
        ticket = s.exec(select(Ticket).order_by(Ticket.id.desc())).first()
    assert (ticket.subject, ticket.requester_email) == ("환불 문의", "kim.other@example.com")
    assert ticket.customer_id == waiting.customer_id is not None
    agent.goto(reset.url + "/agent/tickets")
    expect(agent.get_by_role("table")).to_contain_text("환불 문의")
