"""개인정보 보호 (services.privacy, services.retention): the switches of 설정 › 개인정보, 마스킹 by
hand, 고객 정보 삭제 and retention, on SQLite (PostgreSQL: tests/integration/test_postgresql.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from online_contact.models import Agent, AuditLog, Chat, ConsentRecord, Customer, Message, Rating, Ticket
from online_contact.models.agent import ROLE_ADMIN
from online_contact.models.chat import AUTHOR_AGENT, AUTHOR_CUSTOMER, CHAT_ENDED, CHAT_OPEN
from online_contact.services import messages as message_service
from online_contact.services import history, privacy, retention, stats
from online_contact.services import settings as settings_service
from online_contact.services.errors import FormErrors, NotAllowed, ServiceError

CARD = "4111 1111 1111 1111"
PHONE = "010-1234-5678"


def _admin(session: Session) -> Agent:
    return session.exec(select(Agent).where(Agent.role == ROLE_ADMIN)).first()


def _form(session: Session, **changes) -> dict:
    return {**privacy.form_of(settings_service.get_settings(session)), **changes}


def _found(session: Session, agent: Agent, word: str) -> list[int]:
    c = history.parse_conditions({"from": "2000-01-01", "to": history.today().isoformat(), "q": word})
    return [chat.id for batch in history.rows_in_batches(session, agent, c) for chat in batch]


def _texts(session: Session, chat_id: int) -> list[str]:
    session.commit()
    return [m.text for m in session.exec(select(Message).where(Message.chat_id == chat_id).order_by(Message.seq))]


def _put(session: Session, chat: Chat, text: str, author: str = AUTHOR_CUSTOMER) -> None:
    """A message of an ended chat, as it was stored while the chat went on."""
    chat = session.get(Chat, chat.id)
    chat.last_seq += 1
    session.add(Message(chat_id=chat.id, seq=chat.last_seq, author=author, text=text, client_msg_id=f"put-{chat.id}-{chat.last_seq}",
                        created_at=chat.created_at))
    session.add(chat)
    session.commit()


def _opened_chat(make, agent: Agent) -> Chat:
    """A chat started the real way (greeting first), given to `agent`, who opened it."""
    chat = make.reload(Chat, make.start(language="ko").id)
    chat.agent_id, chat.status, chat.agent_opened_at = agent.id, CHAT_OPEN, datetime.now(timezone.utc)
    make.session.add(chat)
    make.session.commit()
    return chat


# ---- 설정 › 개인정보 ---------------------------------------------------------------------------------
def test_the_switches_choose_what_the_message_path_masks_and_every_change_is_audited(session, make):
    admin = _admin(session)
    agent = make.agent()
    chat = _opened_chat(make, agent)
    message_service.post_message(session, chat, AUTHOR_CUSTOMER, f"카드 {CARD} 전화 {PHONE}", "m-1")
    assert _texts(session, chat.id)[-1] == "카드 **** **** **** 1111 전화 010-****-5678"
    # Phone numbers off (a center that needs them, e.g. for call-backs): cards are still masked.
    assert privacy.save(session, admin.id, _form(session, mask_phone="0"), ip="10.0.0.1")
    message_service.post_message(session, chat, AUTHOR_CUSTOMER, f"카드 {CARD} 전화 {PHONE}", "m-2")
    assert _texts(session, chat.id)[-1] == f"카드 **** **** **** 1111 전화 {PHONE}"
    entry = session.exec(select(AuditLog).where(AuditLog.target_type == "privacy")).one()
    assert json.loads(entry.detail) == {"mask_phone": [True, False]} and entry.ip == "10.0.0.1"
    # The same values again: nothing to audit.
    assert not privacy.save(session, admin.id, _form(session))


def test_bad_retention_months_name_their_fields_and_change_nothing(session):
    admin = _admin(session)
    before = privacy.form_of(settings_service.get_settings(session))
    with pytest.raises(FormErrors) as caught:
        privacy.save(session, admin.id, _form(session, keep_chats_months="0", keep_audit_months="6",
                                              keep_inquiries_months="열두", mask_card="yes"))
    assert set(caught.value.errors) == {"keep_chats_months", "keep_audit_months", "keep_inquiries_months", "mask_card"}
    # The audit log's access records are kept at least a year (안전성 확보조치 기준 제8조).
    assert caught.value.errors["keep_audit_months"].params == {"min": 12, "max": 120}
    session.expire_all()
    assert privacy.form_of(settings_service.get_settings(session)) == before
    assert privacy.save(session, admin.id, _form(session, keep_chats_months=" 12 "))
    assert settings_service.get_settings(session).keep_chats_months == 12


# ---- 마스킹 by hand ---------------------------------------------------------------------------------
NAME_LINE, SECRET_LINE = "제 이름은 홍길동 주소는 서울시 마포구", "비밀번호는 qwerty123"


def check_masking_by_hand(session: Session, agent: Agent, admin: Agent, chat: Chat, first, second) -> None:
    """Shared with tests/integration (PostgreSQL): `first` (NAME_LINE) masked in part by the
    chat's agent, `second` (SECRET_LINE) whole by an admin; the database and the search follow."""
    start = NAME_LINE.index("홍길동")
    assert privacy.preview(session, agent, chat.id, first.seq, start, start + 3) == "제 이름은 *** 주소는 서울시 마포구"
    assert _texts(session, chat.id)[first.seq - 1] == NAME_LINE  # a preview changes nothing
    done = privacy.mask_message(session, agent, chat.id, first.seq, start, start + 3, ip="10.0.0.2")
    assert done.changed and done.text == "제 이름은 *** 주소는 서울시 마포구" and done.agent_id == agent.id
    whole = privacy.mask_message(session, admin, chat.id, second.seq)
    assert whole.text == "***** *********"
    assert _texts(session, chat.id)[first.seq - 1:] == ["제 이름은 *** 주소는 서울시 마포구", "***** *********"]
    assert _found(session, admin, "홍길동") == [] and _found(session, admin, "qwerty123") == []
    assert _found(session, admin, "마포구") == [chat.id]  # the rest of the message is still found


def test_masking_a_part_or_a_whole_message_changes_it_in_the_database_and_the_index(session, make):
    admin = _admin(session)
    agent = make.agent()
    chat = _opened_chat(make, agent)
    first, _ = message_service.post_message(session, chat, AUTHOR_CUSTOMER, NAME_LINE, "m-1")
    assert _found(session, admin, "홍길동") == [chat.id]  # indexed now (the search caught up)
    second, _ = message_service.post_message(session, chat, AUTHOR_CUSTOMER, SECRET_LINE, "m-2")  # not indexed yet
    check_masking_by_hand(session, agent, admin, chat, first, second)
    entries = session.exec(select(AuditLog).where(AuditLog.action == privacy.MASK).order_by(AuditLog.id)).all()
    assert [(e.actor_agent_id, e.target_id, json.loads(e.detail)["seq"]) for e in entries] == [
        (agent.id, chat.id, first.seq), (admin.id, chat.id, second.seq)]
    assert all("홍길동" not in e.detail and "qwerty" not in e.detail for e in entries) and entries[0].ip == "10.0.0.2"
    # Masked again: nothing changes, nothing is audited.
    assert not privacy.mask_message(session, admin, chat.id, second.seq).changed
    assert len(session.exec(select(AuditLog).where(AuditLog.action == privacy.MASK)).all()) == 2


def test_masking_is_refused_for_other_agents_chats_system_messages_and_bad_ranges(session, make):
    agent, other = make.agent(), make.agent()
    chat = _opened_chat(make, agent)
    message, _ = message_service.post_message(session, chat, AUTHOR_AGENT, "안녕하세요", "a-1", agent_id=agent.id)
    with pytest.raises(NotAllowed):
        privacy.mask_message(session, other, chat.id, message.seq)
    greeting = session.exec(select(Message).where(Message.chat_id == chat.id, Message.seq == 1)).one()
    assert greeting.author == "system"
    with pytest.raises(ServiceError, match="error.mask_system"):
        privacy.mask_message(session, agent, chat.id, 1)
    for start, end in ((3, 2), (-1, 2), (0, 99), ("0", 2), (True, 2)):
        with pytest.raises(ServiceError, match="error.mask_range"):
            privacy.mask_message(session, agent, chat.id, message.seq, start, end)
    with pytest.raises(ServiceError, match="error.message_not_found"):
        privacy.mask_message(session, agent, chat.id, 999)
    assert _texts(session, chat.id)[-1] == "안녕하세요"
    assert not session.exec(select(AuditLog).where(AuditLog.action == privacy.MASK)).all()


def _figures(r: stats.Report) -> tuple:
    """Every number of a 통계 report (its tallies compared by their counts)."""
    def counts(t: stats.Tally) -> tuple:
        return tuple(getattr(t, name) for name in stats.Tally.__slots__)

    return (r.total, r.previous, [(d, counts(t)) for d, t in r.days], [counts(t) for t in r.hours], r.week, r.agents,
            r.categories, r.channels)


# ---- 고객 정보 삭제 -----------------------------------------------------------------------------
def test_erasing_a_customer_removes_their_data_and_keeps_every_statistics_count(session, make):
    from tests.unit.test_stats import DAY, _at, build

    made = build(session)
    admin = _admin(session)
    agent1 = made["agent1"]
    customer = Customer(visitor_key="e" * 32, name="김고객", email="kim@example.com", memo="VIP 010-9999-8888")
    session.add(customer)
    session.commit()
    consent = ConsentRecord(customer_id=customer.id, version="ko-v1", ip="203.0.113.9")
    session.add(consent)
    session.commit()
    ids = []
    for hour, score in ((14, 5), (15, 2)):
        chat = Chat(customer_id=customer.id, created_at=_at(10, hour), agent_id=agent1.id, status=CHAT_ENDED,
                    agent_opened_at=_at(10, hour, 1), first_agent_reply_at=_at(10, hour, 2), agent_ended_at=_at(10, hour, 9),
                    customer_name="김고객", customer_email="kim@example.com", ip="203.0.113.9", device="Chrome",
                    user_agent="Mozilla/5.0", memo="단골", rating_score=score, consent_id=consent.id)
        session.add(chat)
        session.commit()
        _put(session, chat, "환불 요청합니다 김고객입니다")
        session.add(Rating(chat_id=chat.id, score=score, comment="친절했어요 김고객"))
        session.add(Ticket(source="chat", subject="김고객 환불", body="주소 서울", chat_id=chat.id, customer_id=customer.id,
                           requester_name="김고객", requester_email="kim@example.com"))
        session.commit()
        ids.append(chat.id)
    period, now = stats.Period(DAY, DAY), _at(11, 1)
    before = stats.report(session, admin, period, now=now)
    assert _found(session, admin, "환불") == sorted(ids, reverse=True)

    with pytest.raises(ServiceError, match="error.reason_required"):
        privacy.erase_customer(session, admin, customer.id, "  ")
    with pytest.raises(NotAllowed):
        privacy.erase_customer(session, agent1, customer.id, "요청")
    erased = privacy.erase_customer(session, admin, customer.id, "정보주체 삭제 요청 (전화 접수)", ip="10.0.0.3")
    assert (erased.chats, erased.messages, erased.tickets) == (2, 2, 2)

    session.expire_all()
    after = stats.report(session, admin, period, now=now)
    assert _figures(after) == _figures(before)
    c = session.get(Customer, customer.id)
    assert (c.name, c.email, c.memo, c.visitor_key) == ("", "", "", None) and c.erased_at is not None
    for chat in session.exec(select(Chat).where(Chat.id.in_(ids))):
        assert (chat.customer_name, chat.customer_email, chat.ip, chat.device, chat.user_agent, chat.memo) == ("",) * 6
        assert chat.rating_score is not None and chat.agent_ended_at is not None
    assert {m.text for m in session.exec(select(Message).where(Message.chat_id.in_(ids), Message.author != "system"))} == {""}
    assert {r.comment for r in session.exec(select(Rating).where(Rating.chat_id.in_(ids)))} == {""}
    assert {(t.subject, t.body, t.requester_name) for t in session.exec(select(Ticket).where(Ticket.customer_id == customer.id))} == {("", "", "")}
    assert session.get(ConsentRecord, consent.id).ip == ""
    assert _found(session, admin, "환불") == []
    entry = session.exec(select(AuditLog).where(AuditLog.action == privacy.ERASE)).one()
    assert (entry.target_id, entry.reason, json.loads(entry.detail)) == (customer.id, "정보주체 삭제 요청 (전화 접수)",
                                                                          {"chats": 2, "messages": 2, "tickets": 2})
    assert "김고객" not in entry.detail


def test_a_customer_with_a_chat_going_on_is_not_erased(session, make):
    chat = make.start(language="ko")
    with pytest.raises(ServiceError, match="error.erase_open_chat"):
        privacy.erase_customer(session, _admin(session), chat.customer_id, "요청")
    assert make.reload(Customer, chat.customer_id).erased_at is None


def test_erasing_a_customer_erases_their_inquiries_from_any_browser_and_what_the_audit_log_typed_of_them(session, make):
    """고객 정보 삭제 takes the customer's 1:1 inquiries: the one linked to them (sent from their
    browser under another address), and those sent under an email they gave from any browser
    (before they ever chatted, so linked to nobody). The export entries of the audit log keep
    who exported what, when and why, but no 고객 / 검색어 typed to find them by their full name
    or email, and the reasons of those entries and of the erasure name them nowhere. Someone
    else's inquiry and export, and an export typed with only a part of a name or address (which
    names nobody for sure), stay as they were."""
    from online_contact.services import chats as chat_service
    from online_contact.services import export, tickets

    admin = _admin(session)

    def inquiry(name: str, email: str, visitor_key: str = "") -> int:
        return tickets.create_from_inquiry(session, name, email, f"{name} 문의", f"{email} 로 답장 주세요", visitor_key=visitor_key).id

    # Sent from other browsers before the customer chatted: linked to nobody.
    before = inquiry("김고객", "kim@example.com")
    # Someone else who also gave that email: their own customer, not erased with kim.
    elsewhere = make.start(name="김고객 가족", email="family@example.com")
    chat_service.end_by_customer(session, elsewhere)
    chat = make.start(name="김고객", email="kim@example.com")
    chat_service.end_by_customer(session, chat)
    customer = make.reload(Customer, chat.customer_id)
    linked = inquiry("김고객", "kim.work@example.com", visitor_key=customer.visitor_key)  # from their browser
    work_elsewhere = inquiry("김", "kim.work@example.com")  # the address of the linked one, another browser
    unrelated = inquiry("박고객", "park@example.com")
    assert session.get(Ticket, linked).customer_id == customer.id and session.get(Ticket, before).customer_id is None
    assert session.get(Ticket, work_elsewhere).customer_id is None  # that email: no customer has it

    everything = {"from": "2000-01-01", "to": history.today().isoformat()}

    def exported(reason: str, **typed) -> int:
        export.run(session, admin, history.parse_conditions({**everything, **typed}), reason=reason, password="", ip="10.0.0.7",
                   export_id=export.new_export_id(), login_id=1)
        return session.exec(select(AuditLog.id).where(AuditLog.action == "export.history").order_by(AuditLog.id.desc())).first()

    by_name = exported("김고객 님 요청 자료", customer="김고객", q="환불 KIM@example.com")
    by_work = exported("김고객님 민원 대응", customer="", q="kim.WORK@example.com 답장")
    by_part = exported("민원 대응", customer="김고", q="kim.work")
    theirs = exported("박고객 민원", customer="박고객", q="환불")
    entries_before = {e.id: e for e in session.exec(select(AuditLog))}
    session.expunge_all()

    erased = privacy.erase_customer(session, admin, customer.id, "김고객 님 전화 요청 (kim@example.com)")
    assert erased.tickets == 3

    session.expire_all()
    for ticket_id in (before, linked, work_elsewhere):
        t = session.get(Ticket, ticket_id)
        assert (t.subject, t.body, t.requester_name, t.requester_email) == ("", "", "", "") and t.erased_at is not None
    t = session.get(Ticket, unrelated)
    assert (t.subject, t.requester_email, t.erased_at) == ("박고객 문의", "park@example.com", None)
    assert session.get(Customer, elsewhere.customer_id).email == "family@example.com"

    entries = {e.id: e for e in session.exec(select(AuditLog))}
    assert set(entries_before) < set(entries)  # nothing deleted (the erasure's own entry added)
    for entry_id, erased_keys in ((by_name, "customer, q"), (by_work, "q")):
        entry, old = entries[entry_id], entries_before[entry_id]
        detail = json.loads(entry.detail)
        assert [detail["conditions"].get(key, "") for key in ("customer", "q")] == ["", ""] and detail["erased"] == erased_keys
        kept = json.loads(old.detail)
        assert (detail["conditions"]["from"], detail["chats"]) == (kept["conditions"]["from"], kept["chats"])
        assert (entry.actor_agent_id, entry.created_at, entry.ip) == (old.actor_agent_id, old.created_at, old.ip)
    assert entries[by_name].reason == "*** 님 요청 자료" and entries[by_work].reason == "***님 민원 대응"
    for kept_id in (by_part, theirs):
        assert (entries[kept_id].detail, entries[kept_id].reason) == (entries_before[kept_id].detail, entries_before[kept_id].reason)
    erase_entry = session.exec(select(AuditLog).where(AuditLog.action == privacy.ERASE)).one()
    assert erase_entry.reason == "*** 님 전화 요청 (***************)"
    everything_logged = " ".join(f"{e.reason} {e.detail}" for e in entries.values()).lower()
    for trace in ("김고객", "kim@example.com", "kim.work@example.com"):
        assert trace not in everything_logged.replace("김고객 가족", ""), trace


def test_erasing_a_customer_changes_no_audit_entry_that_is_not_about_them(session, make):
    """check_erasure_changes_only_entries_about_them on SQLite (PostgreSQL: tests/integration)."""
    check_erasure_changes_only_entries_about_them(session, make)


def check_erasure_changes_only_entries_about_them(session: Session, make) -> None:
    """The names an erasure looks for are what customers typed (a chat named "요청", an inquiry
    from their browser): only each full name and email counts, and only where it is typed as an
    export's 고객 / 검색어 or said in an entry about them, their chats or tickets. Entries that
    merely share a word ("ed", "요청"), another customer's name sharing a word, a longer address
    holding theirs, another erasure's reason, stay exactly as they were (the access records of
    everyone else's work). Before, "monthly report requested by QA" became "request** by QA" and
    an export of "refunded order" lost its 검색어."""
    from online_contact.services import audit
    from online_contact.services import chats as chat_service
    from online_contact.services import tickets

    admin = _admin(session)
    other = make.start(name="Ed Park", email="ed.park@example.com")
    chat_service.end_by_customer(session, other)
    chat = make.start(name="Ed Kim", email="ed.kim@example.com")
    chat_service.end_by_customer(session, chat)
    customer = make.reload(Customer, chat.customer_id)
    # A name they chose on an inquiry from their own browser: one of their names from now on.
    tickets.create_from_inquiry(session, "요청", "ed.kim@example.com", "문의", "내용", visitor_key=customer.visitor_key)

    def entry(action: str, reason: str, *, target_type: str = "chat", target_id: int | None = None, **typed) -> int:
        detail = json.dumps({"conditions": {"from": "2026-01-01", **typed}, "chats": 3}, ensure_ascii=False) if typed else ""
        audit.record(session, action, actor_id=admin.id, target_type=target_type, target_id=target_id, reason=reason,
                     detail=detail, ip="10.0.0.7")
        return session.exec(select(AuditLog.id).order_by(AuditLog.id.desc())).first()

    unrelated = [
        entry("export.history", "monthly report requested by QA", q="refunded order", customer="Ed Park"),
        entry("export.history", "ed 요청 자료", q="ed", customer="kim"),
        entry("export.history", "Ed Kimberly 건", q="Ed Kimberly", customer="jo.ed.kim@example.com"),
        entry("export.history", "주간 보고", q="ed.kim@example.com.au", customer="Ed  Park"),
        entry(privacy.ERASE, "고객 요청으로 삭제 (Ed Kim 아님)", target_type="customer", target_id=other.customer_id),
        entry("access.chat", "Ed Kim 요청 확인", target_id=other.id),
    ]
    typed_by_name = entry("export.history", "ED KIM 요청 자료", q="ed   kim", customer="Ed Kim님")
    typed_by_email = entry("export.history", "분기 점검", q="환불 ED.Kim@Example.com", customer="")
    about_their_chat = entry("access.chat", "Ed Kim 요청 확인 (ed.kim@example.com)", target_id=chat.id)
    before = {e.id: (e.reason, e.detail, e.actor_agent_id, e.ip, e.created_at) for e in session.exec(select(AuditLog))}
    session.expunge_all()

    privacy.erase_customer(session, admin, customer.id, "Ed Kim 님 요청")

    session.expire_all()
    after = {e.id: (e.reason, e.detail, e.actor_agent_id, e.ip, e.created_at) for e in session.exec(select(AuditLog))}
    for entry_id in unrelated:
        assert after[entry_id] == before[entry_id]
    by_name = json.loads(after[typed_by_name][1])
    assert (by_name["conditions"]["q"], by_name["conditions"]["customer"], by_name["erased"]) == ("", "", "customer, q")
    assert after[typed_by_name][0] == "****** ** 자료"
    by_email = json.loads(after[typed_by_email][1])
    assert (by_email["conditions"]["q"], by_email["erased"], after[typed_by_email][0]) == ("", "q", "분기 점검")
    assert after[about_their_chat][0] == "****** ** 확인 (******************)"
    erase_entry = session.exec(select(AuditLog).where(AuditLog.action == privacy.ERASE, AuditLog.target_id == customer.id)).one()
    assert erase_entry.reason == "****** 님 **"


# ---- retention ------------------------------------------------------------------------------
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)


def test_months_before_counts_calendar_months():
    assert retention.months_before(NOW, 36) == datetime(2023, 12, 1, 3, 0, tzinfo=timezone.utc)
    assert retention.months_before(datetime(2026, 3, 31, tzinfo=timezone.utc), 1) == datetime(2026, 2, 28, tzinfo=timezone.utc)
    assert retention.months_before(datetime(2026, 1, 15, tzinfo=timezone.utc), 13) == datetime(2024, 12, 15, tzinfo=timezone.utc)


def check_retention_deletes_exactly_what_is_due(session: Session) -> None:
    """Shared with tests/integration (PostgreSQL): the defaults (36 / 36 / 36 / 24 months)
    against records a day either side of each limit."""
    admin = session.exec(select(Agent).where(Agent.role == ROLE_ADMIN)).first()
    old, recent = NOW - timedelta(days=365 * 3 + 2), NOW - timedelta(days=365 * 3 - 30)
    made = {}
    for name, created in (("old", old), ("recent", recent)):
        customer = Customer(visitor_key=f"{name:x<32}"[:32], name=f"{name} 고객", email=f"{name}@example.com", created_at=created)
        session.add(customer)
        session.commit()
        consent = ConsentRecord(customer_id=customer.id, version="ko-v1", ip="203.0.113.1", created_at=created)
        session.add(consent)
        session.commit()
        chat = Chat(customer_id=customer.id, created_at=created, status=CHAT_ENDED, agent_id=admin.id, customer_name=f"{name} 고객",
                    ip="203.0.113.1", agent_opened_at=created, first_agent_reply_at=created, agent_ended_at=created,
                    rating_score=4, consent_id=consent.id)
        session.add(chat)
        session.commit()
        for n in range(3):
            _put(session, chat, f"보관기간{name} 메시지 {n}")
        session.add(Rating(chat_id=chat.id, score=4, comment=f"{name} 좋아요"))
        session.add(Ticket(source="inquiry", subject=f"{name} 문의", body="내용", customer_id=customer.id, created_at=created,
                           requester_name=f"{name} 고객"))
        session.add(AuditLog(action="login.success", actor_agent_id=admin.id, created_at=NOW - timedelta(days=(731 if name == "old" else 700))))
        session.commit()
        made[name] = (customer.id, chat.id, consent.id)
    # An old chat still going on is left alone, whatever its age.
    going = Chat(customer_id=made["old"][0], created_at=old, status=CHAT_OPEN, agent_id=admin.id, customer_name="진행")
    session.add(going)
    session.commit()
    assert _found(session, admin, "보관기간old")  # indexed

    counts = retention.run_once(session.get_bind(), now=NOW, batch=1)  # batches of one: every step loops
    assert counts == {"chats": 1, "messages": 3, "customers": 0, "consents": 1, "tickets": 1, "audit": 1}
    session.expire_all()
    old_customer, old_chat, old_consent = made["old"]
    new_customer, new_chat, new_consent = made["recent"]
    purged = session.get(Chat, old_chat)
    assert purged.purged_at is not None and purged.customer_name == "" and purged.ip == "" and purged.consent_id is None
    assert purged.rating_score == 4 and purged.agent_ended_at is not None  # what 통계 counts stays
    assert session.exec(select(Message).where(Message.chat_id == old_chat)).all() == []
    assert len(session.exec(select(Message).where(Message.chat_id == new_chat)).all()) == 3
    assert session.get(ConsentRecord, old_consent) is None and session.get(ConsentRecord, new_consent) is not None
    assert session.exec(select(Rating.comment).where(Rating.chat_id == old_chat)).one() == ""
    assert session.exec(select(Ticket.subject).where(Ticket.customer_id == old_customer)).one() == ""
    assert session.exec(select(Ticket.subject).where(Ticket.customer_id == new_customer)).one() == "recent 문의"
    assert session.get(Chat, going.id).customer_name == "진행"
    # The old customer still has a chat going on: not anonymized.
    assert session.get(Customer, old_customer).name == "old 고객"
    assert _found(session, admin, "보관기간old") == [] and _found(session, admin, "보관기간recent") == [new_chat]
    entry = session.exec(select(AuditLog).where(AuditLog.action == privacy.RETENTION)).one()
    assert json.loads(entry.detail) == counts
    logins = session.exec(select(AuditLog).where(AuditLog.action == "login.success")).all()
    assert all(e.created_at >= NOW - timedelta(days=731) for e in logins)

    # Once that chat has ended and been purged too, the customer goes as well; a second pass
    # finds nothing more and writes nothing.
    going = session.get(Chat, going.id)
    going.status = CHAT_ENDED
    session.add(going)
    session.commit()
    counts = retention.run_once(session.get_bind(), now=NOW)
    assert counts == {"chats": 1, "messages": 0, "customers": 1, "consents": 0, "tickets": 0, "audit": 0}
    session.expire_all()
    assert session.get(Customer, old_customer).name == "" and session.get(Customer, new_customer).name == "recent 고객"
    assert retention.run_once(session.get_bind(), now=NOW) == dict.fromkeys(retention.COUNTS, 0)
    assert len(session.exec(select(AuditLog).where(AuditLog.action == privacy.RETENTION)).all()) == 2


def test_retention_deletes_exactly_what_is_due(session):
    check_retention_deletes_exactly_what_is_due(session)


def test_retention_follows_the_settings(session):
    admin = _admin(session)
    privacy.save(session, admin.id, _form(session, keep_chats_months="1"))
    customer = Customer(visitor_key="r" * 32)
    session.add(customer)
    session.commit()
    chat = Chat(customer_id=customer.id, created_at=NOW - timedelta(days=40), status=CHAT_ENDED)
    session.add(chat)
    session.commit()
    assert retention.run_once(session.get_bind(), now=NOW)["chats"] == 1
    session.expire_all()
    assert session.get(Chat, chat.id).purged_at is not None


def test_retention_leaves_a_chat_its_agent_has_not_finished(session):
    """A chat its customer left has ended (통계 counts it) but stays on its agent's screen until
    they press 대화 종료: retention waits for that, as erasure does."""
    admin = _admin(session)
    privacy.save(session, admin.id, _form(session, keep_chats_months="1"))
    customer = Customer(visitor_key="u" * 32)
    session.add(customer)
    session.commit()
    left = NOW - timedelta(days=40)
    chat = Chat(customer_id=customer.id, created_at=left, status=CHAT_ENDED, agent_id=admin.id, customer_ended_at=left,
                customer_name="아직 정리 중")
    session.add(chat)
    session.commit()
    assert retention.run_once(session.get_bind(), now=NOW)["chats"] == 0
    session.expire_all()
    assert session.get(Chat, chat.id).purged_at is None and session.get(Chat, chat.id).customer_name == "아직 정리 중"
    chat.agent_ended_at = NOW - timedelta(days=39)  # the agent finished it
    session.add(chat)
    session.commit()
    assert retention.run_once(session.get_bind(), now=NOW)["chats"] == 1


def test_the_lifespan_task_runs_the_passes_and_says_what_it_did(session, monkeypatch):
    """retention_loop (no Redis: one worker): a pass after its interval, in a thread, batch by
    batch; the counts in the audit log."""
    import asyncio
    import threading

    customer = Customer(visitor_key="l" * 32)
    session.add(customer)
    session.commit()
    chat = Chat(customer_id=customer.id, created_at=datetime(2001, 1, 1, tzinfo=timezone.utc), status=CHAT_ENDED)
    session.add(chat)
    session.commit()
    monkeypatch.setenv("OC_RETENTION_SECONDS", "0.05")
    monkeypatch.delenv("REDIS_URL", raising=False)
    threads: set[str] = set()
    real_passes = retention.passes

    def passes(*args, **kwargs):
        for counts in real_passes(*args, **kwargs):
            threads.add(threading.current_thread().name)
            yield counts

    monkeypatch.setattr(retention, "passes", passes)

    async def until_done():
        task = asyncio.create_task(retention.retention_loop())
        try:
            for _ in range(400):
                await asyncio.sleep(0.025)
                with Session(session.get_bind()) as s:
                    if s.exec(select(AuditLog).where(AuditLog.action == privacy.RETENTION)).first():
                        return
        finally:
            task.cancel()

    runner = threading.Thread(target=lambda: asyncio.run(until_done()), name="event-loop")
    runner.start()
    runner.join()
    session.expire_all()
    assert session.get(Chat, chat.id).purged_at is not None
    assert threads and "event-loop" not in threads  # the batches ran off the event loop


def test_an_erased_customers_chats_are_purged_later_without_touching_the_index_again(session, make):
    """Erased, then past retention: the purge deletes the messages but asks SQLite's index for
    nothing (its rows went at the erasure: a contentless FTS5 'delete' of a row it does not hold
    would damage it); a second erasure is refused."""
    admin = _admin(session)
    customer = Customer(visitor_key="z" * 32, name="두번")
    session.add(customer)
    session.commit()
    chat = Chat(customer_id=customer.id, created_at=NOW - timedelta(days=365 * 4), status=CHAT_ENDED)
    session.add(chat)
    session.commit()
    _put(session, chat, "두번삭제 확인", author="system")
    _put(session, chat, "두번삭제 고객 메시지")
    assert _found(session, admin, "두번삭제") == [chat.id]
    privacy.erase_customer(session, admin, customer.id, "요청")
    with pytest.raises(ServiceError, match="error.already_erased"):
        privacy.erase_customer(session, admin, customer.id, "요청")
    forgotten = []
    real = retention.search_upkeep.forget_chats
    retention.search_upkeep.forget_chats = lambda conn, ids, compact=True: (forgotten.append(list(ids)), real(conn, ids, compact))[1]
    try:
        assert retention.run_once(session.get_bind(), now=NOW)["messages"] == 2
    finally:
        retention.search_upkeep.forget_chats = real
    assert forgotten == [[]]
    with session.get_bind().connect() as conn:
        conn.execute(sa.text(f"INSERT INTO message_search(message_search, rank) VALUES ('integrity-check', 0)"))
    assert _found(session, admin, "두번삭제") == []


def test_a_masking_an_erasure_or_a_purge_withdraws_the_history_exports_made_before(session, make, monkeypatch):
    """A file made before the text was removed must not hand it out afterwards: 채팅 기록 exports
    (finished, or begun before and finished after) are withdrawn; 통계's exports (counts) stay."""
    from online_contact.services import export, export_stats

    admin = _admin(session)
    agent = make.agent()
    chat = _opened_chat(make, agent)
    message_service.post_message(session, chat, AUTHOR_CUSTOMER, SECRET_LINE, "x-1")
    everything = history.parse_conditions({"from": "2000-01-01", "to": history.today().isoformat()})

    def history_export() -> str:
        export_id = export.new_export_id()
        export.run(session, admin, everything, reason="월간 보고", password="", ip="", export_id=export_id, login_id=1)
        assert export.find(export_id) is not None
        return export_id

    def stats_export() -> str:
        export_id = export.new_export_id()
        report = stats.report(session, admin, stats.Period(history.today(), history.today()))
        export_stats.run_stats(session, admin, report, reason="월간 보고", password="", ip="", export_id=export_id, login_id=1)
        assert export.find(export_id) is not None
        return export_id

    made, counts = history_export(), stats_export()
    # One being written while the masking happens: it began before, so it is refused once finished.
    real_write = export.write_xlsx
    during: list[str] = []

    def write_while_masking(*args, **kwargs):
        result = real_write(*args, **kwargs)
        privacy.mask_message(session, agent, chat.id, 2)
        return result

    monkeypatch.setattr(export, "write_xlsx", write_while_masking)
    during_id = export.new_export_id()
    export.run(session, admin, everything, reason="월간 보고", password="", ip="", export_id=during_id, login_id=1)
    monkeypatch.setattr(export, "write_xlsx", real_write)
    assert export.find(made) is None and export.find(during_id) is None
    assert not list(export.export_dir().glob(f"{made}.*"))
    assert export.find(counts) is not None
    # Made after the masking: downloadable, and holds the masked text only.
    after = history_export()
    assert export.find(after) is not None
    # An erasure withdraws it too, and so does a retention pass that purged something.
    session.exec(sa.update(Chat).where(Chat.id == chat.id).values(status=CHAT_ENDED))
    session.commit()
    privacy.erase_customer(session, admin, chat.customer_id, "요청")
    assert export.find(after) is None and export.find(counts) is not None
    again = history_export()
    assert retention.run_once(session.get_bind())["chats"] == 0  # nothing due: nothing withdrawn
    assert export.find(again) is not None
    assert retention.run_once(session.get_bind(), now=NOW + timedelta(days=365 * 20))["chats"] >= 1
    assert export.find(again) is None and export.find(counts) is not None


def test_a_read_of_the_switches_that_straddles_a_save_is_not_cached(db_url, monkeypatch):
    """The message path caches the switches for 10 s; a read that began before a save (here or
    in another worker, whose word arrives meanwhile) holds the switches as they were and must
    not be kept, or a kind switched back on would go unmasked for another 10 s."""
    from online_contact.services import masking

    monkeypatch.setenv("DATABASE_URL", db_url)
    privacy.forget_cached_kinds()
    read = settings_service.get_settings

    def saved_meanwhile(session):
        settings = read(session)
        privacy.forget_cached_kinds()
        return settings

    monkeypatch.setattr(settings_service, "get_settings", saved_meanwhile)
    assert privacy.masking_kinds() == masking.KINDS
    assert privacy._cache == {}
    monkeypatch.setattr(settings_service, "get_settings", read)
    privacy.masking_kinds()
    assert list(privacy._cache) == [db_url]  # an ordinary read is kept
