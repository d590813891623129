"""The per-visitor and per-IP message limits on the Reflex send handler, the message path's
fallback (the page sends there whatever the wire did not take): the same limits as the wire's
(tests/unit/test_wire.py), so going around the wire gains nothing (issue 23)."""

from __future__ import annotations

import time as real_time
from types import SimpleNamespace

from sqlmodel import select

from online_contact.models import Message
from online_contact.services import limits
from online_contact.services.db import session_scope

from .pipeline import customer_starts_chat, names, only_agent1_online, run


def test_the_reflex_send_handler_counts_against_the_same_limits(app, db_url, monkeypatch):
    from online_contact.states.customer_chat import CustomerChatState

    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_IP", "3/10")
    clock = [real_time.time() // 10 * 10 + 1]
    monkeypatch.setattr(limits, "time", SimpleNamespace(time=lambda: clock[0], monotonic=real_time.monotonic))
    only_agent1_online(db_url)
    n = names()

    def stored(chat_id) -> list[str]:
        with session_scope(db_url) as s:
            return list(s.exec(select(Message.text).where(Message.chat_id == chat_id, Message.author == "customer")))

    async def scenario():
        first, first_chat = await customer_starts_chat(app, db_url, "첫 손님")
        second, second_chat = await customer_starts_chat(app, db_url, "옆자리 손님")
        for tab, text in ((first, "하나"), (first, "둘"), (second, "셋")):  # one address: 10.0.0.9
            await tab.fire(f"{n.customer}.send", form_data={"text": text, "client_id": text})
            assert (await tab.state(CustomerChatState)).send_error == ""
        await second.fire(f"{n.customer}.send", form_data={"text": "넷", "client_id": "넷"})
        assert "너무 빠르게" in (await second.state(CustomerChatState)).send_error
        assert stored(first_chat.id) == ["하나", "둘"] and stored(second_chat.id) == ["셋"]
        clock[0] += 10  # the next window
        await second.fire(f"{n.customer}.send", form_data={"text": "넷", "client_id": "넷"})
        assert stored(second_chat.id) == ["셋", "넷"]
        # Resends of a stored message (the page's, after a lost answer) use nothing up.
        for _ in range(5):
            await second.fire(f"{n.customer}.send", form_data={"text": "넷", "client_id": "넷"})
            assert (await second.state(CustomerChatState)).send_error == ""
        for text in ("다섯", "여섯"):
            await first.fire(f"{n.customer}.send", form_data={"text": text, "client_id": text})
        assert stored(first_chat.id) == ["하나", "둘", "다섯", "여섯"]

    run(app, scenario)
