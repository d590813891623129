"""The rules behind 서비스 관리 (issue #11): settings, the consent text's versions, assignment
defaults, the category tree, agent management, and the audit of all of it."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from online_contact.models import Agent, AuditLog, AuthSession, Category, Chat, ChatAssignment, ConsentRecord, ConsentText
from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import accounts, audit, auth
from online_contact.services import categories as category_service
from online_contact.services import chats as chat_service
from online_contact.services import messages as message_service
from online_contact.services import routing
from online_contact.services import settings as settings_service
from online_contact.services.errors import ServiceError


def _code(fn, *args, **kwargs) -> str:
    with pytest.raises(ServiceError) as err:
        fn(*args, **kwargs)
    return err.value.code


@pytest.fixture
def admin(make):
    return make.demo_agent("admin@example.com")


def _entries(session, action) -> list[AuditLog]:
    return session.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()


# ---- 기본 설정 --------------------------------------------------------------------------------


def test_switching_chat_off_refuses_new_chats_and_is_audited(session, make, admin):
    make.offline_demo_agents()
    make.agent("online")
    assert settings_service.set_chat_enabled(session, admin.id, False, ip="192.0.2.1")
    assert not settings_service.set_chat_enabled(session, admin.id, False)  # no change, no entry
    key = make.customer().visitor_key
    assert _code(chat_service.begin_chat, session, key, agreed=True) == "error.chat_disabled"
    [entry] = _entries(session, audit.SETTINGS_CHANGED)
    assert (entry.actor_agent_id, entry.ip, json.loads(entry.detail)) == (admin.id, "192.0.2.1", {"chat_enabled": [True, False]})
    settings_service.set_chat_enabled(session, admin.id, True)
    assert chat_service.begin_chat(session, key, agreed=True).chat_id


def test_the_next_chat_in_a_language_uses_its_new_greeting(session, make, admin):
    make.offline_demo_agents()
    make.agent("online")
    settings_service.save_texts(session, admin.id, "en", "Welcome! How can we help?", "Please rate us.")
    chat = make.start(language="en")
    first = message_service.recent_messages(session, chat.id)[0]
    assert (first.author, first.text) == ("system", "Welcome! How can we help?")
    korean = make.start(language="ko")
    assert message_service.recent_messages(session, korean.id)[0].text.startswith("안녕하세요")


@pytest.mark.parametrize(
    ("greeting", "guide", "code"),
    [("", "평가", "error.greeting_required"), ("   ", "평가", "error.greeting_required"), ("안녕", "", "error.guide_required"),
     ("가" * 1001, "평가", "error.greeting_too_long"), ("안녕", "x" * 1001, "error.guide_too_long")],
)
def test_empty_or_over_long_texts_are_refused_and_change_nothing(session, admin, greeting, guide, code):
    before = settings_service.texts(session, settings_service.get_settings(session), "ko").greeting
    assert _code(settings_service.save_texts, session, admin.id, "ko", greeting, guide) == code
    session.rollback()
    assert settings_service.texts(session, settings_service.get_settings(session), "ko").greeting == before
    assert _code(settings_service.save_texts, session, admin.id, "fr", "a", "b") == "error.language_invalid"


def test_the_consent_text_is_versioned_and_consents_record_the_version_shown(session, make, admin):
    make.offline_demo_agents()
    make.agent("online")
    default = settings_service.current_consent(session, "ko")
    assert len(default.lines) == 4 and default.version == "2026-11-v1"
    v1 = settings_service.save_consent(session, admin.id, "ko", "목적: 상담\n항목: 이름\n보유: 1년\n거부할 수 있습니다")
    assert v1.version == "ko-v1" and v1.lines == ("목적: 상담", "항목: 이름", "보유: 1년", "거부할 수 있습니다")
    assert settings_service.save_consent(session, admin.id, "ko", "목적: 상담\n항목: 이름\n\n보유: 1년\n거부할 수 있습니다").version == "ko-v1"
    assert settings_service.current_consent(session, "en").version == "2026-11-v1"  # per language
    key = make.customer().visitor_key
    shown = settings_service.current_consent(session, "ko").version
    settings_service.save_consent(session, admin.id, "ko", "목적: 상담 v2\n항목\n보유\n거부")  # a new version meanwhile
    begun = chat_service.begin_chat(session, key, agreed=True, consent_version=shown)
    consent = session.get(ConsentRecord, session.get(Chat, begun.chat_id).consent_id)
    assert consent.version == "ko-v1"  # what the customer saw
    assert [t.version for t in session.exec(select(ConsentText).order_by(ConsentText.id))] == [1, 2]
    assert len(_entries(session, audit.CONSENT_VERSION)) == 2
    assert _code(settings_service.save_consent, session, admin.id, "ko", "  ") == "error.consent_required"


# ---- 상담원 할당 설정 -------------------------------------------------------------------------


def test_the_default_open_chat_limit_applies_to_agents_without_their_own(session, make, admin):
    make.offline_demo_agents()
    own = make.agent("own", max_open_chats=3)
    default = make.agent("default")
    settings_service.save_assignment(session, admin.id, False, "balanced", "1")
    chats = [make.start() for _ in range(5)]
    counts = {a.id: make.reload(Agent, a.id).open_chat_count for a in (own, default)}
    assert counts == {own.id: 3, default.id: 1}
    assert make.reload(Chat, chats[-1].id).agent_id is None  # both full: it waits
    settings_service.save_assignment(session, admin.id, False, "balanced", "")  # blank: no limit
    assert [a.agent_id for a in routing.drain_queue(session, settings_service.get_settings(session))] == [default.id]
    for bad in ("0", "-1", "abc", "101", "1.5", "２"):
        assert _code(settings_service.save_assignment, session, admin.id, False, "balanced", bad) == "error.limit_invalid"
    assert _code(settings_service.save_assignment, session, admin.id, False, "fastest", "") == "error.value_invalid"
    entries = _entries(session, audit.SETTINGS_CHANGED)
    assert json.loads(entries[0].detail) == {"default_max_open_chats": [None, 1], "prefer_recent_agent": [True, False]}


# ---- 카테고리 관리 -----------------------------------------------------------------------------


def _cat(session, name) -> Category:
    return session.exec(select(Category).where(Category.name == name)).one()


def test_the_tree_refuses_a_fourth_level_a_duplicate_sibling_and_a_move_under_itself(session, admin):
    order = _cat(session, "주문")
    leaf = _cat(session, "배송지연")
    assert _code(category_service.add_category, session, "너무 깊음", leaf.id, actor_id=admin.id) == "error.category_too_deep"
    assert _code(category_service.add_category, session, " 배송 ", order.id, actor_id=admin.id) == "error.category_name_taken"
    assert _code(category_service.add_category, session, "주문", None, actor_id=admin.id) == "error.category_name_taken"
    assert _code(category_service.add_category, session, "", None, actor_id=admin.id) == "error.category_name_required"
    assert _code(category_service.reparent, session, admin.id, order.id, _cat(session, "배송").id) == "error.category_under_itself"
    # 배송 (with its leaves) under another 중분류 would make a fourth level.
    assert _code(category_service.reparent, session, admin.id, _cat(session, "배송").id, _cat(session, "결제").id) == "error.category_too_deep"
    assert _code(category_service.rename, session, admin.id, _cat(session, "결제").id, "배송") == "error.category_name_taken"


def test_moving_renaming_and_reordering(session, admin):
    order, account = _cat(session, "주문"), _cat(session, "계정")
    login = _cat(session, "로그인")
    moved = category_service.reparent(session, admin.id, login.id, order.id)  # 중분류 with its leaves
    assert (moved.parent_id, moved.depth, _cat(session, "비밀번호 찾기").depth) == (order.id, 2, 3)
    category_service.rename(session, admin.id, login.id, "로그인 문제")
    names = lambda parent: [c.name for c in session.exec(select(Category).where(Category.parent_id == parent).order_by(Category.position))]  # noqa: E731
    assert names(order.id) == ["배송", "결제", "로그인 문제"]
    category_service.move(session, admin.id, login.id, "up")
    assert names(order.id) == ["배송", "로그인 문제", "결제"]
    category_service.move(session, admin.id, _cat(session, "배송").id, "up")  # already first: nothing
    assert names(order.id) == ["배송", "로그인 문제", "결제"]
    assert [c["path"] for c in category_service.admin_tree(session) if c["name"] == "계정 잠김"] == ["주문 › 로그인 문제 › 계정 잠김"]
    assert account.id  # 계정 is left without children, still there
    assert len(_entries(session, audit.CATEGORY_CHANGED)) == 3


def test_a_used_category_is_never_deleted_and_stays_readable_when_deactivated(session, make, admin):
    make.offline_demo_agents()
    agent = make.agent("a")
    chat = make.start()
    chat_service.mark_opened(session, chat, agent)
    late = _cat(session, "배송지연")
    chat_service.save_info(session, make.reload(Chat, chat.id), agent, name="", email="", memo="", category_id=late.id)
    assert _code(category_service.delete, session, admin.id, late.id) == "error.category_in_use"
    assert _code(category_service.delete, session, admin.id, _cat(session, "배송").id) == "error.category_has_children"
    category_service.set_active(session, admin.id, late.id, False)
    assert late.id not in {c["id"] for c in category_service.active_tree(session)}
    # The chat keeps it (its info can still be saved); choosing it anew is refused.
    chat_service.save_info(session, make.reload(Chat, chat.id), agent, name="메모만", email="", memo="", category_id=late.id)
    assert category_service.path_label(session, make.reload(Chat, chat.id).category_id) == "주문 › 배송 › 배송지연"
    other = make.start()
    chat_service.mark_opened(session, other, agent)
    assert _code(chat_service.save_info, session, make.reload(Chat, other.id), agent, name="", email="", memo="",
                 category_id=late.id) == "error.category_not_found"
    # Deactivating a parent hides its children too; an unused leaf may be deleted.
    category_service.set_active(session, admin.id, _cat(session, "결제").id, False)
    assert "영수증" not in {c["name"] for c in category_service.active_tree(session)}
    category_service.delete(session, admin.id, _cat(session, "영수증").id)
    assert not session.exec(select(Category).where(Category.name == "영수증")).first()


# ---- 상담원 관리 -------------------------------------------------------------------------------


def test_adding_an_agent_with_a_generated_password_that_logs_in(session, admin):
    created = accounts.create_account(session, admin.id, name="신입", email=" New@Example.com ", role="agent")
    assert len(created.password) == 16
    assert auth.authenticate(session, "new@example.com", created.password).id == created.agent_id
    typed = accounts.create_account(session, admin.id, name="둘째", email="two@example.com", role="admin", password="long-enough-1")
    assert typed.password == ""  # the admin knows it
    assert _code(accounts.create_account, session, admin.id, name="x", email="NEW@example.com", role="agent") == "error.email_taken"
    assert _code(accounts.create_account, session, admin.id, name="x", email="x@example.com", role="agent", password="short") == "error.password_short"
    assert _code(accounts.create_account, session, admin.id, name="x", email="same@example.com", role="agent",
                 password="same@example.com") == "error.password_is_email"
    assert _code(accounts.create_account, session, admin.id, name="", email="y@example.com", role="agent") == "error.name_required"
    assert _code(accounts.create_account, session, admin.id, name="x", email="z@example.com", role="owner") == "error.role_invalid"
    entries = _entries(session, audit.ACCOUNT_CREATED)
    assert len(entries) == 2 and all("password" not in e.detail for e in entries)


def test_an_admin_cannot_deactivate_or_demote_themself_or_the_last_admin(session, make, admin):
    assert _code(accounts.set_active, session, admin.id, admin.id, False) == "error.cannot_deactivate_self"
    assert _code(accounts.update_account, session, admin.id, admin.id, name="관리자", role="agent", can_chat=True,
                 max_open_chats="") == "error.cannot_demote_self"
    other = accounts.create_account(session, admin.id, name="부관리자", email="second@example.com", role=ROLE_ADMIN).agent_id
    # The other admin may demote the first while two are active, not the last one left.
    accounts.update_account(session, other, admin.id, name="관리자", role="agent", can_chat=True, max_open_chats="")
    assert _code(accounts.set_active, session, admin.id, other, False) == "error.last_admin"
    assert make.reload(Agent, other).active


def test_deactivating_ends_logins_and_hands_back_and_activating_lets_them_in_again(session, make, admin):
    make.offline_demo_agents()
    leaver = make.agent("leaver")
    unopened = make.start()
    stayer = make.agent("stayer")
    token = auth.start_session(session, leaver)
    session.commit()
    change = accounts.set_active(session, admin.id, leaver.id, False)
    assert change.moved == [unopened.id] and make.reload(Chat, unopened.id).agent_id == stayer.id
    assert auth.agent_for_token(session, token) is None
    assert [e.reason for e in session.exec(select(ChatAssignment).where(ChatAssignment.agent_id == leaver.id))] == ["balanced"]
    assert [e.agent_id for e in auth.close_dead_sessions(session)] == [leaver.id]
    accounts.set_active(session, admin.id, leaver.id, True)
    assert make.reload(Agent, leaver.id).active
    actions = [e.action for e in session.exec(select(AuditLog).where(AuditLog.target_id == leaver.id, AuditLog.action.startswith("account.")))]
    assert actions == [audit.ACCOUNT_DEACTIVATED, audit.ACCOUNT_ACTIVATED]


def test_resetting_a_password_ends_every_login_and_logs_no_password(session, make, admin):
    agent = make.demo_agent("agent1@example.com")
    token = auth.start_session(session, agent)
    session.commit()
    password, ended = accounts.reset_password(session, admin.id, agent.id, ip="192.0.2.5")
    assert [e.agent_id for e in ended] == [agent.id]
    assert auth.agent_for_token(session, token) is None
    assert session.exec(select(AuthSession).where(AuthSession.agent_id == agent.id)).one().end_reason == "password_reset"
    assert _code(auth.authenticate, session, "agent1@example.com", "agent1234") == "login.invalid"
    assert auth.authenticate(session, "agent1@example.com", password).id == agent.id
    [entry] = _entries(session, audit.ACCOUNT_PASSWORD_RESET)
    assert password not in entry.detail and entry.ip == "192.0.2.5"


def test_taking_away_chat_permission_hands_unopened_chats_back(session, make, admin):
    make.offline_demo_agents()
    agent = make.agent("was-chatting")
    chat = make.start()
    other = make.agent("other")
    accounts.update_account(session, admin.id, agent.id, name="was-chatting", role="agent", can_chat=False, max_open_chats="2")
    stored = make.reload(Agent, agent.id)
    assert (stored.can_chat, stored.max_open_chats) == (False, 2)
    assert make.reload(Chat, chat.id).agent_id == other.id
    diff = json.loads(_entries(session, audit.ACCOUNT_CHANGED)[0].detail)
    assert diff == {"can_chat": [True, False], "max_open_chats": [None, 2]}


# ---- 감사 로그 ---------------------------------------------------------------------------------


def test_the_audit_log_keeps_changes_never_secrets_and_filters(session, admin, make):
    assert audit.changes({"a": 1, "password": "x", "same": 2}, {"a": 3, "password": "y", "same": 2}) == {"a": [1, 3]}
    settings_service.set_chat_enabled(session, admin.id, False)
    accounts.create_account(session, admin.id, name="감사", email="audit@example.com", role="agent")
    other = make.agent("other-admin", role=ROLE_ADMIN)
    settings_service.set_chat_enabled(session, other.id, True)
    assert [e.action for e in audit.recent(session, "account.")] == [audit.ACCOUNT_CREATED]
    assert [e.actor_agent_id for e in audit.recent(session, "settings.")] == [other.id, admin.id]
    assert [e.actor_agent_id for e in audit.recent(session, actor_id=admin.id)] == [admin.id, admin.id]
    newest = audit.recent(session)[0]
    assert [e.id for e in audit.recent(session, before_id=newest.id)] == [e.id for e in audit.recent(session)[1:]]


def test_saving_basic_settings_reports_every_wrong_field_and_stores_none_of_it(session, admin):
    from online_contact.services.errors import FormErrors

    with pytest.raises(FormErrors) as err:
        settings_service.save_basic(
            session, admin.id, chat_enabled=False,
            texts={"ko": ("새 인사말", "  "), "en": ("x" * (settings_service.MAX_TEXT + 1), "Rate us")},
            consents={"ko": "\n".join(f"항목 {i}" for i in range(settings_service.MAX_CONSENT_LINES + 1)), "en": "Purpose"},
        )
    assert {field: e.code for field, e in err.value.errors.items()} == {
        "guide_ko": "error.guide_required", "greeting_en": "error.greeting_too_long", "consent_ko": "error.consent_lines",
    }
    session.expire_all()
    assert settings_service.get_settings(session).chat_enabled  # 채팅 사용 was not switched off either
    assert _ko_texts(session).greeting != "새 인사말"
    assert session.exec(select(ConsentText)).all() == [] and _entries(session, audit.SETTINGS_CHANGED) == []


def test_saving_basic_settings_stores_all_of_it_in_one_go(session, admin):
    changed = settings_service.save_basic(
        session, admin.id, chat_enabled=False,
        texts={"ko": ("새 인사말", "평가해 주세요"), "en": ("Hi", "Rate us")},
        consents={"ko": "목적\n항목\n보유\n거부", "en": settings_service.current_consent(session, "en").body},
    )
    assert changed
    assert _ko_texts(session).greeting == "새 인사말"
    assert [(c.language, c.version) for c in session.exec(select(ConsentText))] == [("ko", 1)]  # en unchanged: no version
    assert {e.target_type for e in _entries(session, audit.SETTINGS_CHANGED)} == {"settings", "texts:ko", "texts:en"}


def test_two_admins_saving_a_consent_text_at_once_leaves_one_version_and_tells_the_other(session, admin, monkeypatch):
    settings_service.save_consent(session, admin.id, "ko", "첫 번째\n항목")
    stale = settings_service._latest_consent
    monkeypatch.setattr(settings_service, "_latest_consent", lambda s, lang: None)  # read before the other's commit
    code = _code(settings_service.save_basic, session, admin.id, chat_enabled=False, texts={"ko": ("동시", "동시")},
                 consents={"ko": "두 번째\n항목"})
    assert code == "error.saved_meanwhile"
    monkeypatch.setattr(settings_service, "_latest_consent", stale)
    session.expire_all()
    assert [c.body for c in session.exec(select(ConsentText))] == ["첫 번째\n항목"]
    assert settings_service.get_settings(session).chat_enabled  # nothing of the losing save was kept


def _ko_texts(session):
    return settings_service.texts(session, settings_service.get_settings(session), "ko")
