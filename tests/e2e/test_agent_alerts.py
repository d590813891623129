"""An agent notices a new chat from another tab (issue #11): the page title counts the chats
waiting, a sound plays, and — allowed in 알림 설정 — a browser notification appears while the
tab is hidden; clicking it opens that chat.

Headless Chromium shows no notifications and has no hidden tabs, so the page gets a recording
Notification and a switchable document.hidden before it loads; everything else is the app's."""

from __future__ import annotations

from playwright.sync_api import expect

from .helpers import go_online, login, open_help_center, start_chat

RECORDING = """
window.__notes = [];
class RecordingNotification {
  constructor(title, options) { this.title = title; this.body = options.body; window.__notes.push(this); }
  close() {}
}
RecordingNotification.permission = 'granted';
RecordingNotification.requestPermission = () => Promise.resolve('granted');
window.Notification = RecordingNotification;
Object.defineProperty(document, 'hidden', { configurable: true, get: () => window.__hidden === true });
"""


def test_a_new_chat_counts_in_the_title_sounds_and_notifies_a_hidden_tab(customer, agent, reset):
    agent.add_init_script(RECORDING)
    login(agent, reset.url, "agent1@example.com")
    go_online(agent)
    expect(agent).to_have_title("상담원")
    agent.get_by_role("button", name="상담원1").click()
    desktop = agent.get_by_role("menuitemcheckbox", name="브라우저 알림")
    expect(desktop).to_have_attribute("aria-checked", "false")
    desktop.click()
    agent.get_by_role("button", name="상담원1").click()
    expect(agent.get_by_role("menuitemcheckbox", name="브라우저 알림")).to_have_attribute("aria-checked", "true")
    agent.keyboard.press("Escape")
    with reset.session() as s:
        from sqlmodel import select

        from online_contact.models import Agent

        assert s.exec(select(Agent).where(Agent.email == "agent1@example.com")).one().notify_desktop  # kept with the account
    agent.evaluate("window.__hidden = true")
    open_help_center(customer, reset.url)
    start_chat(customer, name="알림손님")
    expect(agent).to_have_title("(1) 상담원")
    agent.wait_for_function("() => window.__notes.length === 1")
    note = agent.evaluate("({title: window.__notes[0].title, body: window.__notes[0].body})")
    assert note["title"] == "새 채팅" and "알림손님" in note["body"]
    assert agent.evaluate("window.ocAlerts.beeps") >= 1
    agent.evaluate("window.__hidden = false; window.__notes[0].onclick()")
    expect(agent.get_by_role("region", name="고객정보")).to_be_visible()
    expect(agent.get_by_role("region", name="고객정보").get_by_label("이름")).to_have_value("알림손님")
    expect(agent).to_have_title("상담원")  # opened, nothing waits any more
