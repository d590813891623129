"""Delivery guarantee: nothing sent is lost or duplicated across network loss and resends."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlmodel import select

from online_contact.models import Chat, Message

from .helpers import agent_opens_chat, begin_chat, go_online, login, open_help_center, send, start_chat, wait_wire_joined


def _lines(log) -> list[str]:
    return [t.split("\n")[0] for t in log.locator(".oc-message").all_inner_texts()]


def test_offline_customer_catches_up_and_queued_messages_are_sent(customer, agent, reset):
    begin_chat(customer, agent, reset, name="오프라인")
    agent_opens_chat(agent, "오프라인")
    customer_log = customer.get_by_role("log", name="대화 내용")
    agent_log = agent.get_by_role("log", name="대화 내용")

    customer.context.set_offline(True)
    expect(customer.get_by_text("재연결 중…")).to_be_visible()
    for i in range(1, 4):
        send(agent, f"상담원 메시지 {i}")
    for i in range(1, 3):
        send(customer, f"고객 메시지 {i}")
    expect(agent_log).to_contain_text("상담원 메시지 3")
    customer.wait_for_timeout(3000)
    customer.context.set_offline(False)
    expect(customer.get_by_text("재연결 중…")).to_have_count(0)
    expect(customer_log).to_contain_text("고객 메시지 2")
    expect(agent_log).to_contain_text("고객 메시지 2")
    expect(customer_log.locator(".oc-message")).to_have_count(6)
    assert _lines(customer_log) == _lines(agent_log)
    with reset.session() as s:
        chat = s.exec(select(Chat).order_by(Chat.id.desc())).first()
        stored = [m.text for m in s.exec(select(Message).where(Message.chat_id == chat.id).order_by(Message.seq))]
    assert sorted(stored[1:]) == sorted([f"상담원 메시지 {i}" for i in (1, 2, 3)] + ["고객 메시지 1", "고객 메시지 2"])
    assert _lines(customer_log) == stored


def _is_wire_send(message) -> bool:
    """A send on the message path: `42/_wire,<ack id>["send",{...}]` on the page's one socket."""
    return isinstance(message, str) and message.startswith("42/_wire,") and '["send",' in message


def test_same_client_message_id_sent_twice_is_stored_once(customer, agent, reset):
    """The websocket frame of a send is delivered twice (a resend after a timeout)."""
    base = reset.url
    login(agent, base, "agent1@example.com")
    go_online(agent)
    sockets, doubled = [], []

    def duplicate_sends(ws):
        sockets.append(ws.url)
        server = ws.connect_to_server()

        def to_server(message):
            server.send(message)
            if _is_wire_send(message) or (isinstance(message, str) and "customer_chat_state.send" in message):
                server.send(message)  # the very same frame, same client message id
                doubled.append(message)

        ws.on_message(to_server)
        server.on_message(lambda message: ws.send(message))

    customer.route_web_socket("**/_event/**", duplicate_sends)
    open_help_center(customer, base)
    start_chat(customer, name="중복")
    wait_wire_joined(customer)
    send(customer, "한 번만 저장되어야 합니다")
    log = customer.get_by_role("log", name="대화 내용")
    expect(log).to_contain_text("한 번만 저장되어야 합니다")
    agent_opens_chat(agent, "중복")
    agent_log = agent.get_by_role("log", name="대화 내용")
    expect(agent_log).to_contain_text("한 번만 저장되어야 합니다")
    customer.wait_for_timeout(1000)
    expect(log.get_by_text("한 번만 저장되어야 합니다", exact=True)).to_have_count(1)
    expect(agent_log.get_by_text("한 번만 저장되어야 합니다", exact=True)).to_have_count(1)
    # The message went over the message path, on the page's one websocket (Reflex's).
    assert any(_is_wire_send(m) and "한 번만 저장되어야 합니다" in m for m in doubled)
    assert len(sockets) == 1, sockets
    with reset.session() as s:
        chat = s.exec(select(Chat).order_by(Chat.id.desc())).first()
        rows = s.exec(select(Message).where(Message.chat_id == chat.id, Message.text == "한 번만 저장되어야 합니다")).all()
    assert len(rows) == 1


def test_message_refused_by_the_wire_goes_through_reflex(customer, agent, reset):
    """When the message path does not answer, the composer sends through Reflex's handler with
    the same client id: the message arrives once, on both sides."""
    begin_chat(customer, agent, reset, name="우회")
    agent_opens_chat(agent, "우회")
    dropped = []

    def drop_wire_sends(ws):
        server = ws.connect_to_server()

        def to_server(message):
            if _is_wire_send(message):
                dropped.append(message)  # lost on the way: no answer comes back
                return
            server.send(message)

        ws.on_message(to_server)
        server.on_message(lambda message: ws.send(message))

    customer.route_web_socket("**/_event/**", drop_wire_sends)
    customer.reload()
    expect(customer.get_by_role("log", name="대화 내용")).to_be_visible()
    wait_wire_joined(customer)
    send(customer, "우회해서 도착합니다")
    agent_log = agent.get_by_role("log", name="대화 내용")
    expect(agent_log).to_contain_text("우회해서 도착합니다", timeout=20000)
    customer_log = customer.get_by_role("log", name="대화 내용")
    expect(customer_log.get_by_text("우회해서 도착합니다", exact=True)).to_have_count(1)
    expect(agent_log.get_by_text("우회해서 도착합니다", exact=True)).to_have_count(1)
    assert any("우회해서 도착합니다" in m for m in dropped)
    with reset.session() as s:
        chat = s.exec(select(Chat).order_by(Chat.id.desc())).first()
        rows = s.exec(select(Message).where(Message.chat_id == chat.id, Message.text == "우회해서 도착합니다")).all()
    assert len(rows) == 1


def test_text_typed_right_after_sending_is_kept(customer, agent, reset):
    """The composer empties itself after a send; what is typed before that happens stays."""
    begin_chat(customer, agent, reset, name="빠른입력")
    box = customer.get_by_role("textbox", name="메시지")
    box.fill("첫 번째 질문")
    # Submit, then type the next message in the same task: the clearing timer runs after it.
    box.evaluate("b => { b.form.requestSubmit(); b.value = '두 번째 질문'; b.dispatchEvent(new Event('input', {bubbles: true})); }")
    log = customer.get_by_role("log", name="대화 내용")
    expect(log).to_contain_text("첫 번째 질문")
    customer.wait_for_timeout(300)
    expect(box).to_have_value("두 번째 질문")
    box.press("Enter")
    expect(log).to_contain_text("두 번째 질문")
    expect(box).to_have_value("")
