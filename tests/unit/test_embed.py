"""채팅화면 삽입 코드: the allowed sites, what /embed.js is told and how it is served, /widget's
frame-ancestors, and what the embedding site may hand to the widget (CustomerChatState.host_page)."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from sqlalchemy import update
from sqlmodel import select
from starlette.testclient import TestClient

from online_contact.models import Agent, AuditLog, Chat, ChatSettings
from online_contact.services import embed
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError

from .pipeline import Client, customer_starts_chat, names, only_agent1_online, run


@pytest.mark.parametrize("typed, stored", [
    ("", []),
    ("https://shop.example.com", ["https://shop.example.com"]),
    ("HTTPS://Shop.Example.com/\n\nhttp://localhost:8080", ["https://shop.example.com", "http://localhost:8080"]),
    ("https://a.example.com, https://b.example.com https://a.example.com", ["https://a.example.com", "https://b.example.com"]),
    ("https://shop.example.com:443\nhttp://shop.example.com:80", ["https://shop.example.com", "http://shop.example.com"]),
])
def test_allowed_sites_are_origins(typed, stored):
    assert embed.parse_origins(typed) == stored


@pytest.mark.parametrize("typed", [
    "shop.example.com", "https://shop.example.com/path", "https://shop.example.com?x=1", "https://*.example.com",
    "ftp://shop.example.com", "javascript:alert(1)", "https://shop.example.com:70000", "https://-bad-.example.com",
    "https://shop.example.com#top", "'self'", "*", "http://[::1]:3000", "https://한국.example.com",
])
def test_anything_else_is_named_and_refused(typed):
    with pytest.raises(ServiceError) as refused:
        embed.parse_origins("https://ok.example.com\n" + typed)
    assert refused.value.code == "error.embed_origin_invalid" and refused.value.params["value"] == typed[:80]


def test_too_many_sites_are_refused():
    with pytest.raises(ServiceError):
        embed.parse_origins("\n".join(f"https://s{i}.example.com" for i in range(embed.MAX_ORIGINS + 1)))
    with pytest.raises(ServiceError):
        embed.parse_origins(["https://shop.example.com"])  # not text


def test_saving_is_audited_and_a_wrong_site_changes_nothing(session):
    admin = session.exec(select(Agent).where(Agent.role == "admin")).first()
    assert embed.save(session, admin.id, origins_text="https://shop.example.com", hide_when_offline=True, ip="203.0.113.9")
    with pytest.raises(ServiceError):
        embed.save(session, admin.id, origins_text="https://ok.example.com\nnot a site", hide_when_offline=False)
    with pytest.raises(ServiceError):
        embed.save(session, admin.id, origins_text="", hide_when_offline="yes")
    session.expire_all()
    stored = session.exec(select(ChatSettings)).first()
    assert (stored.embed_origins, stored.embed_hide_when_offline) == ("https://shop.example.com", True)
    entry = session.exec(select(AuditLog).where(AuditLog.target_type == "embed")).one()
    assert "https://shop.example.com" in entry.detail and entry.ip == "203.0.113.9"


def test_the_loader_is_told_whether_to_show_and_where(session):
    app = "http://127.0.0.1:3000"
    session.exec(update(Agent).values(status="offline"))
    session.commit()
    assert embed.loader_config(session, app) == {"app": app, "enabled": True, "origins": []}  # to 상담원 부재중
    settings = session.exec(select(ChatSettings)).first()
    settings.embed_hide_when_offline, settings.embed_origins = True, "https://shop.example.com"
    session.add(settings)
    session.commit()
    assert embed.loader_config(session, app)["enabled"] is False  # 상담원이 없으면 숨기기
    agent = session.exec(select(Agent).where(Agent.email == "agent1@example.com")).one()
    agent.status = "online"
    session.add(agent)
    session.commit()
    assert embed.loader_config(session, app) == {"app": app, "enabled": True, "origins": ["https://shop.example.com"]}
    settings.chat_enabled = False
    session.add(settings)
    session.commit()
    assert embed.loader_config(session, app)["enabled"] is False


def test_frame_ancestors_follow_the_list(session, db_url, monkeypatch):
    from online_contact.api.security import content_security_policy

    monkeypatch.setenv("DATABASE_URL", db_url)
    assert "frame-ancestors *" in content_security_policy("/widget")
    settings = session.exec(select(ChatSettings)).first()
    settings.embed_origins = "https://shop.example.com\nhttps://m.shop.example.com"
    session.add(settings)
    session.commit()
    assert "frame-ancestors 'self' https://shop.example.com https://m.shop.example.com;" in content_security_policy("/widget") + ";"
    assert "frame-ancestors 'none'" in content_security_policy("/agent")


def test_embed_js_is_small_cacheable_and_carries_the_settings(session, db_url, monkeypatch):
    from online_contact.api import build_api

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("OC_PUBLIC_URL", "https://help.example.com")
    client = TestClient(build_api(), base_url="https://help.example.com")
    first = client.get("/embed.js", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/javascript")
    assert first.headers["content-encoding"] == "gzip" and first.headers["cross-origin-resource-policy"] == "cross-origin"
    assert first.headers["cache-control"] == "no-cache"
    raw = client.get("/embed.js", headers={"Accept-Encoding": "identity"})
    assert len(gzip.compress(raw.content, 9)) <= 5 * 1024, "embed.js must stay within 5 KB gzipped"
    config = json.loads(raw.text.rsplit("(window, document, ", 1)[1].rsplit(");", 1)[0])
    assert config == {"app": "https://help.example.com", "enabled": True, "origins": []}
    # Asked again with its ETag: 304, no body; a change of the settings changes the ETag.
    etag = first.headers["etag"]
    again = client.get("/embed.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    settings = session.exec(select(ChatSettings)).first()
    settings.chat_enabled = False
    session.add(settings)
    session.commit()
    changed = client.get("/embed.js", headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert changed.status_code == 200 and changed.headers["etag"] != etag and '"enabled":false' in changed.text
    # The origin the script came from is the chat's when it is one of the app's; else the first.
    other = TestClient(build_api(), base_url="https://evil.example.com").get("/embed.js", headers={"Accept-Encoding": "identity"})
    assert '"app":"https://help.example.com"' in other.text


def test_what_the_embedding_site_hands_over(app, db_url):
    """The visitor key the site kept resumes the customer's chat; a name and email prefill the
    consent form; anything malformed, or sent to a widget that is not in a site's launcher, is
    ignored."""
    from online_contact.states.customer_chat import CustomerChatState

    only_agent1_online(db_url)
    n = names()
    host = f"{n.customer}.host_page"
    key = uuid.uuid4().hex

    async def widget(query: dict) -> Client:
        tab = await Client(app, "/widget", {n.visitor: ""}).open()
        tab.query = query
        await tab.fire(f"{n.customer}.load_widget")
        return tab

    async def scenario():
        _first_tab, chat = await customer_starts_chat(app, db_url, "김고객", visitor=key)
        framed = await widget({"embed": "1", "page": "https://shop.example.com/p/1"})
        state = await framed.state(CustomerChatState)
        assert state.hosted and state.phase == "consent" and state.channel == "https://shop.example.com/p/1"
        # Malformed: nothing changes.
        for payload in ({"kind": "init", "visitor": "x" * 32}, {"kind": "init", "visitor": ["a"]}, {"kind": "evil", "visitor": key},
                        {"kind": "init", "visitor": key.upper()}, {"kind": "lang", "lang": "xx"}):
            await framed.fire(host, **payload)
        state = await framed.state(CustomerChatState)
        assert state.phase == "consent" and state.hosted_key == "" and state._chat_id == 0
        await framed.fire(host, kind="user", name="  이" + "름" * 200, email=123)
        state = await framed.state(CustomerChatState)
        assert state.prefill_name == ("  이" + "름" * 200)[:100].strip() and state.prefill_email == "123"
        # The site's key: the same customer, their open chat.
        await framed.fire(host, kind="init", visitor=key, name="김고객", email="kim@example.com", lang="en")
        state = await framed.state(CustomerChatState)
        assert state.hosted_key == key and state.phase == "chat" and state._chat_id == chat.id
        # Kept in the tab's state only: nothing goes to the frame's own storage (and from there
        # to the browser's other tabs of the app).
        assert state.visitor_key == ""
        assert state.prefill_name == "김고객"

        # /widget without the launcher (an old iframe snippet, or a page framing it): ignored.
        plain = await widget({"page": "https://shop.example.com/p/1"})
        await plain.fire(host, kind="init", visitor=key)
        state = await plain.state(CustomerChatState)
        assert not state.hosted and state.hosted_key == "" and state.visitor_key == "" and state.phase != "chat"

        # The frame's own stored key is not used by a launcher (a page framing the widget must
        # not learn or plant the key this browser uses on the help center).
        own = await Client(app, "/widget", {n.visitor: key}).open()
        own.query = {"embed": "1", "page": "https://attacker.example/"}
        await own.fire(f"{n.customer}.load_widget")
        state = await own.state(CustomerChatState)
        assert state.hosted and state.phase == "consent" and state._chat_id == 0 and state.hosted_key == ""

        # With sites listed, a page of another site gets no launcher (the browser also refuses
        # to frame the widget there: frame-ancestors).
        with session_scope(db_url) as s:
            settings = s.exec(select(ChatSettings)).first()
            settings.embed_origins = "https://shop.example.com"
            s.add(settings)
            s.commit()
        elsewhere = await widget({"embed": "1", "page": "https://attacker.example/"})
        assert not (await elsewhere.state(CustomerChatState)).hosted
        listed = await widget({"embed": "1", "page": "https://shop.example.com/p/2"})
        assert (await listed.state(CustomerChatState)).hosted
        with session_scope(db_url) as s:
            assert len(s.exec(select(Chat).where(Chat.customer_id == chat.customer_id)).all()) == 1

    run(app, scenario)


# ---- the embedding page as a chat's 채널 -------------------------------------------------------------
PAGE = "https://shop.example.com/account/reset"
FULL = PAGE + "?email=kim%40example.com&reset_token=s3cr3t#step-2"


@pytest.mark.parametrize("url, channel", [
    (FULL, PAGE),
    ("HTTPS://Shop.Example.com:443/account/reset;jsessionid=ABC123?x=1", PAGE),
    ("https://user:pass@shop.example.com/account/reset", PAGE),
    ("http://localhost:8080", "http://localhost:8080/"),
    ("https://shop.example.com/%ED%95%9C%EA%B8%80", "https://shop.example.com/%ED%95%9C%EA%B8%80"),
    ("javascript:alert(1)", ""), ("ftp://shop.example.com/x", ""), ("https://shop.example.com:99999/", ""),
    ("helpcenter", ""), ("", ""), (None, ""), (["x"], ""),
])
def test_a_page_is_recorded_as_its_origin_and_path(url, channel):
    """Sites keep a visitor's email, session and reset tokens in the query, the fragment and path
    parameters: none of it reaches a chat's 채널 (고객정보, 채널별, the export)."""
    assert embed.page_channel(url) == channel


def test_the_service_and_widget_page_store_the_page_without_its_query(app, db_url, session):
    """start_chat stores what it is given as origin + path, and so does /widget?page= (the
    loader sends no more, but any page may frame the widget with whatever it likes)."""
    from online_contact.models import Customer
    from online_contact.services import chats as chat_service
    from online_contact.services import customers as customer_service
    from online_contact.states.customer_chat import CustomerChatState

    customer = customer_service.customer_for_visitor(session, uuid.uuid4().hex, create=True)
    consent = customer_service.record_consent(session, customer, True, "203.0.113.9")
    assert chat_service.start_chat(session, customer, consent, channel=FULL).channel == PAGE
    assert chat_service.start_chat(session, session.get(Customer, customer.id), consent, channel="not a page").channel == "helpcenter"

    only_agent1_online(db_url)
    n = names()

    async def scenario():
        for query in ({"page": FULL}, {"embed": "1", "page": FULL}):
            tab = await Client(app, "/widget", {n.visitor: ""}).open()
            tab.query = query
            await tab.fire(f"{n.customer}.load_widget")
            assert (await tab.state(CustomerChatState)).channel == PAGE
            await tab.fire(f"{n.customer}.give_consent", form_data={"agree": "on", "name": "김고객"})
            chat_id = (await tab.state(CustomerChatState))._chat_id
            with session_scope(db_url) as s:
                assert s.get(Chat, chat_id).channel == PAGE

    run(app, scenario)



def test_a_page_is_kept_to_2000_bytes_whole_characters_only():
    """The channel is in 채팅 기록's index, whose PostgreSQL btree refuses a row over 2,704 bytes
    (tests/integration/test_postgresql.py starts such a chat): a long Korean path is cut to 2,000
    bytes of UTF-8, never in the middle of a character."""
    page = "https://shop.example.com/" + "한글경로" * 600 + "?token=secret"
    kept = embed.page_channel(page)
    assert len(kept.encode()) <= 2000 and page.startswith(kept) and kept.endswith(("한", "글", "경", "로"))
