"""In a real browser: the customer types a sample of the hostile corpus, the agent's console shows
it as text and runs none of it; and no page breaks its own Content-Security-Policy."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.helpers import agent_opens_chat, begin_chat, login, send

from .hostile import XSS

SAMPLE = [x for x in XSS if "__pwned" in x or "alert" in x][:12]


def _context(browser):
    return browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 900})


def _watch(page: Page) -> dict:
    seen = {"dialogs": 0, "csp": []}

    def on_dialog(dialog):
        seen["dialogs"] += 1
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: seen["csp"].append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def test_hostile_text_from_a_customer_runs_nothing_in_the_agent_console(browser, reset):
    customer_ctx, agent_ctx = _context(browser), _context(browser)
    customer, agent = customer_ctx.new_page(), agent_ctx.new_page()
    watched = {"customer": _watch(customer), "agent": _watch(agent)}
    try:
        name = '<img src=x onerror="window.__pwned=1">'
        begin_chat(customer, agent, reset, name=name, email="xss@example.com")
        agent_opens_chat(agent, name)
        for payload in SAMPLE:
            send(customer, payload)
        log = agent.get_by_role("log", name="대화 내용")
        for payload in SAMPLE:
            expect(log.get_by_text(payload, exact=True)).to_be_visible()  # shown as text
        reply = '상담원 <img src=x onerror="window.__pwned=1">'
        send(agent, reply)
        expect(customer.get_by_role("log", name="대화 내용").get_by_text(reply, exact=True)).to_be_visible()
        for page in (agent, customer):
            # No element came out of a message's text (the agent's own 마스킹 icon is the app's).
            assert page.evaluate("""() => window.__pwned === undefined && [...document.querySelectorAll(
                '.oc-message img, .oc-message svg, .oc-message iframe, .oc-message script')].every((e) => e.closest('.oc-mask-action'))""")
        assert watched["agent"]["dialogs"] == watched["customer"]["dialogs"] == 0
        assert watched["agent"]["csp"] == [] and watched["customer"]["csp"] == []
    finally:
        customer_ctx.close()
        agent_ctx.close()


def test_no_page_breaks_its_own_content_security_policy(browser, reset):
    ctx = _context(browser)
    page = ctx.new_page()
    seen = _watch(page)
    try:
        for path, ready in (("/", "무엇을 도와드릴까요?"), ("/inquiry", "1:1 문의"), ("/widget", None)):
            page.goto(reset.url + path)
            if ready:
                expect(page.get_by_role("heading", name=ready)).to_be_visible()
            page.wait_for_load_state("networkidle")
        login(page, reset.url, "agent1@example.com")
        page.get_by_role("link", name="티켓").click()
        expect(page.get_by_role("heading", name="티켓")).to_be_visible()
        assert seen["csp"] == []
        # And the policy is in force: a script the server did not build does not run.
        page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.__injected = 1';"
            " document.body.appendChild(s); }"
        )
        assert page.evaluate("() => window.__injected === undefined")
    finally:
        ctx.close()
