"""The transcript's pages bounded by size on PostgreSQL (octet_length and a window function in
the query; SQLite's are in tests/unit/test_chats.py), as the message path's join and older read
them (issue 23)."""

from __future__ import annotations

from online_contact.models import Chat
from online_contact.services import messages as message_service
from online_contact.services.db import session_scope

from .conftest import reset_workspace, start_customer_chat


def test_pages_on_postgresql_stay_within_the_bound_and_cover_every_message_once(pg_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_SECOND", "0")
    reset_workspace(pg_url)
    with session_scope(pg_url) as s:
        chat = start_customer_chat(s, "pages-pg-visitor", "긴 글")
        for i in range(30):
            message_service.post_message(s, s.get(Chat, chat.id), "customer", f"{i:03d} " + "가" * 1996)
        everything = [(m.seq, m.text) for m in message_service.messages_after(s, chat.id, 0, 1000)]
        size = lambda m: len(m.text.encode()) + message_service.PAGE_OVERHEAD  # noqa: E731
        got, after = [], 0
        while True:
            page, more = message_service.page_after(s, chat.id, after)
            assert page and sum(size(m) for m in page) <= message_service.PAGE_BYTES
            got += [(m.seq, m.text) for m in page]
            after = page[-1].seq
            if not more:
                break
        assert got == everything
        back, before = [], everything[-1][0] + 1
        while True:
            page, more = message_service.page_before(s, chat.id, before)
            assert page and sum(size(m) for m in page) <= message_service.PAGE_BYTES
            back = [(m.seq, m.text) for m in page] + back
            before = page[0].seq
            if not more:
                break
        assert back == everything
