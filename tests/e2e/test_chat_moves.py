"""A chat stays with whoever may see it (issue 23), in real browsers.

agent1 is given a chat and does not open it: their chat list shows who wrote and the first 40
characters, and nothing their browser receives holds more of it. They go 휴식; the chat goes on
to agent2, who opens it and answers while the customer writes on: agent1's browser receives none
of it. What the browsers receive is recorded from their websockets (every frame), so the check
covers the message path and Reflex's state sync alike.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .helpers import agent_opens_chat, go_online, login, open_help_center, send, start_chat

# ASCII markers: the socket frames may carry Korean as \\u escapes; these read the same either way.
FIRST = "주문한 물건이 아직 오지 않았어요. 주문번호를 알려 드릴게요: ORDER-7Q2X-TAIL"
REPLY = "확인했습니다 REPLY-BY-AGENT2"
LATER = "주소는 따로 드릴게요 LATER-FROM-CUSTOMER"


def record_frames(page: Page) -> list[str]:
    """Every websocket frame the page receives from now on (Reflex's and the message path's)."""
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    return frames


def test_an_unopened_chat_shows_its_preview_only_and_leaves_with_the_agent(customer, agent, agent2, reset):
    frames = record_frames(agent)
    login(agent, reset.url, "agent1@example.com")
    go_online(agent)
    open_help_center(customer, reset.url)
    start_chat(customer, name="넘겨질손님")
    send(customer, FIRST)

    # The list shows the chat and its preview, live, without the agent opening it.
    agent.get_by_role("button", name="채팅", exact=True).click()
    line = agent.get_by_role("navigation", name="채팅 목록").get_by_role("button", name="넘겨질손님")
    expect(line).to_contain_text(FIRST[:40])
    expect(line.get_by_text("답변 대기")).to_be_visible()
    assert not [f for f in frames if "ORDER-7Q2X-TAIL" in f], "agent1's browser got the text of a chat it never opened"

    # agent2 comes Online; agent1 takes a break: the chat goes on to agent2.
    login(agent2, reset.url, "agent2@example.com")
    go_online(agent2)
    agent.get_by_role("radio", name="휴식").click()
    expect(agent.get_by_role("radio", name="휴식")).to_be_checked()
    expect(line).to_have_count(0)
    agent_opens_chat(agent2, "넘겨질손님")
    agent2_log = agent2.get_by_role("log", name="대화 내용")
    expect(agent2_log).to_contain_text("ORDER-7Q2X-TAIL")

    send(agent2, REPLY)
    expect(customer.get_by_role("log", name="대화 내용")).to_contain_text("REPLY-BY-AGENT2")
    send(customer, LATER)
    expect(agent2_log).to_contain_text("LATER-FROM-CUSTOMER")
    # agent1 comes back Online: their page hears of it after anything sent to it before (one
    # socket, in order), so once it shows, whatever agent1 was sent of the chat has arrived.
    go_online(agent)
    leaked = [f for f in frames if "REPLY-BY-AGENT2" in f or "LATER-FROM-CUSTOMER" in f or "ORDER-7Q2X-TAIL" in f]
    assert leaked == [], leaked[:2]
    expect(agent.get_by_role("navigation", name="채팅 목록")).not_to_contain_text("넘겨질손님")
