"""데이터 추출: the Excel file read back with openpyxl (content, dates, widths, no formula cells),
the file password, the audit entry, the request's checks, and the download route's refusals."""

from __future__ import annotations

import io
import json
from datetime import datetime

import msoffcrypto
import pytest
from openpyxl import load_workbook
from sqlmodel import select
from starlette.testclient import TestClient

from bench.history_data import generate
from online_contact.models import Agent, AuditLog, Chat, Customer, Message, Ticket
from online_contact.models.agent import ROLE_ADMIN
from online_contact.models.chat import CHAT_ENDED
from online_contact.services import auth as auth_service
from online_contact.services import messages as message_service
from online_contact.services import export, history
from online_contact.services.errors import ServiceError

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"클릭\")", "+1+2", "-3+4", "@SUM(A1:A2)", "\t=1", "\r=2", "=1+1"]


@pytest.fixture(autouse=True)
def export_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OC_EXPORT_DIR", str(tmp_path / "exports"))


def _admin(session) -> Agent:
    return session.exec(select(Agent).where(Agent.role == ROLE_ADMIN)).first()


def _everything() -> history.Conditions:
    return history.parse_conditions({"from": "2000-01-01", "to": history.today().isoformat()})


def _hostile_chat(session) -> int:
    agent = session.exec(select(Agent).where(Agent.role != ROLE_ADMIN)).first()
    customer = Customer(name=HOSTILE[0], email="x@example.com")
    session.add(customer)
    session.commit()
    chat = Chat(customer_id=customer.id, customer_name=HOSTILE[0], customer_email="=evil@example.com", memo=HOSTILE[1],
                agent_id=agent.id, status=CHAT_ENDED, ip="-1", device="@dev", channel="+https://x.example")
    session.add(chat)
    session.commit()
    for n, text in enumerate(HOSTILE):
        message_service.post_message(session, chat, "customer", text, f"h-{n}")
    session.add(Ticket(source="chat", subject="후속", chat_id=chat.id, customer_id=customer.id))
    session.commit()
    return chat.id


def _run(session, agent, conditions, password="", reason="월간 보고"):
    export_id = export.new_export_id()
    result = export.run(session, agent, conditions, reason=reason, password=password, ip="10.1.2.3",
                        export_id=export_id, login_id=1)
    return export_id, result


def test_the_file_holds_exactly_the_filtered_chats_and_their_messages(session):
    generate(session, chats=120, messages_per_chat=4, seed=9, days=20)
    hostile = _hostile_chat(session)
    admin = _admin(session)
    conditions = history.parse_conditions({**_everything().to_query(), "state": "processed"})
    expected = [c.id for batch in history.rows_in_batches(session, admin, conditions) for c in batch]
    _, result = _run(session, admin, conditions)
    book = load_workbook(result.path)
    assert book.sheetnames == ["채팅 기록", "대화 내용"]
    chats, messages = book["채팅 기록"], book["대화 내용"]
    header = [c.value for c in chats[1]]
    assert header[:11] == ["채팅 ID", "시작 시간", "종료 시간", "고객 이름", "이메일", "상담원", "채널", "처리유형", "상태", "평가", "메시지 수"]
    assert {"대기 시간", "상담 시간", "IP", "기기", "메모", "티켓"} <= set(header)
    assert chats.freeze_panes == "A2" and messages.freeze_panes == "A2"
    assert chats.column_dimensions["E"].width >= 20 and messages.column_dimensions["D"].width >= 60
    rows = list(chats.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == expected and result.chats == len(expected)
    assert all(r[8] == "처리" for r in rows)
    assert all(isinstance(r[1], datetime) for r in rows)  # real Excel dates
    stored = session.exec(select(Message).where(Message.chat_id.in_(expected))).all()
    lines = list(messages.iter_rows(min_row=2, values_only=True))
    assert len(lines) == len(stored) == result.messages
    assert {(r[0], r[3]) for r in lines} == {(m.chat_id, m.text) for m in stored}
    assert hostile not in expected  # an unanswered chat is 미처리, not in this export


def test_no_cell_is_a_formula_whatever_the_customer_typed(session):
    hostile = _hostile_chat(session)
    _, result = _run(session, _admin(session), _everything())
    book = load_workbook(result.path)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]
    chat_row = next(r for r in book["채팅 기록"].iter_rows(min_row=2) if r[0].value == hostile)
    assert chat_row[3].value == HOSTILE[0] and chat_row[3].data_type == "s" and chat_row[3].quotePrefix
    assert chat_row[16].value == HOSTILE[1] and chat_row[17].value.startswith("#")
    texts = [r[3].value for r in book["대화 내용"].iter_rows(min_row=2) if r[0].value == hostile]
    stored = [m.text for m in session.exec(select(Message).where(Message.chat_id == hostile).order_by(Message.seq))]
    assert texts == stored and any(t.startswith(("=", "+", "-", "@")) for t in texts)


def test_a_password_protects_the_file(session):
    generate(session, chats=5, messages_per_chat=2, seed=2, days=2)
    _, result = _run(session, _admin(session), _everything(), password="엑셀비번2026")
    with pytest.raises(Exception):
        load_workbook(result.path)
    office = msoffcrypto.OfficeFile(open(result.path, "rb"))
    office.load_key(password="엑셀비번2026")
    plain = io.BytesIO()
    office.decrypt(plain)
    assert load_workbook(plain)["채팅 기록"].max_row == 6
    wrong = msoffcrypto.OfficeFile(open(result.path, "rb"))
    wrong.load_key(password="틀림")
    with pytest.raises(Exception):
        wrong.decrypt(io.BytesIO())


def test_the_audit_log_keeps_who_when_where_what_and_why(session):
    generate(session, chats=7, messages_per_chat=1, seed=4, days=1)
    admin = _admin(session)
    conditions = history.parse_conditions({**_everything().to_query(), "q": "환불"})
    _, result = _run(session, admin, conditions, reason="고객 민원 대응 자료")
    entry = session.exec(select(AuditLog).where(AuditLog.action == "export.history")).one()
    detail = json.loads(entry.detail)
    assert (entry.actor_agent_id, entry.ip, entry.reason) == (admin.id, "10.1.2.3", "고객 민원 대응 자료")
    assert detail["conditions"]["q"] == "환불" and detail["chats"] == result.chats and detail["password"] is False
    assert entry.created_at is not None


def test_an_agents_export_holds_only_their_chats(session):
    generate(session, chats=60, messages_per_chat=1, seed=6, days=3)
    agent = session.exec(select(Agent).where(Agent.role != ROLE_ADMIN).order_by(Agent.id)).first()
    _, result = _run(session, agent, _everything())
    ids = [r[0] for r in load_workbook(result.path)["채팅 기록"].iter_rows(min_row=2, values_only=True)]
    assert ids and all(session.get(Chat, i).agent_id == agent.id for i in ids)


def test_the_request_needs_a_reason_and_the_password_when_required():
    with pytest.raises(ServiceError, match="error.export_reason"):
        export.check_request("   ", "", False)
    with pytest.raises(ServiceError, match="error.export_reason_long"):
        export.check_request("가" * 501, "", False)
    with pytest.raises(ServiceError, match="error.export_password_required"):
        export.check_request("보고", "", True)
    with pytest.raises(ServiceError, match="error.export_reason"):
        export.check_request(["목록"], "", False)
    assert export.check_request(" 보고 ", "pw", True) == ("보고", "pw")


def test_the_download_needs_the_same_login_and_gives_nothing_else(session, db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    from online_contact.api import build_api

    generate(session, chats=3, messages_per_chat=1, seed=8, days=1)
    admin = _admin(session)
    other = session.exec(select(Agent).where(Agent.role != ROLE_ADMIN)).first()
    token = auth_service.start_session(session, admin)
    login_id = auth_service.login_for_token(session, token)[0].id
    second_login = auth_service.start_session(session, admin)
    other_token = auth_service.start_session(session, other)
    export_id = export.new_export_id()
    export.run(session, admin, _everything(), reason="r", password="", ip="", export_id=export_id, login_id=login_id)
    client = TestClient(build_api())
    url = f"/api/export/{export_id}"

    def get(path=url, token_=None):
        return client.get(path, headers={"Authorization": f"Bearer {token_}"} if token_ else {})

    for answer in (get(), get(token_=other_token), get(token_=second_login), get(token_="x" * 5000),
                   get(f"/api/export/{export.new_export_id()}", token), get("/api/export/..%2F..%2Fetc", token)):
        assert answer.status_code == 404 and b"PK" not in answer.content
    ok = get(token_=token)
    assert ok.status_code == 200 and ok.content[:2] == b"PK"
    assert "attachment" in ok.headers["content-disposition"] and ok.headers["cache-control"] == "no-store"
    assert load_workbook(io.BytesIO(ok.content))["채팅 기록"].max_row == 4
    # The login ends: the link gives nothing any more.
    auth_service.end_session(session, token)
    assert get(token_=token).status_code == 404


def test_an_expired_export_is_gone(session, monkeypatch):
    generate(session, chats=2, messages_per_chat=1, seed=1, days=1)
    export_id, result = _run(session, _admin(session), _everything())
    assert export.find(export_id) is not None
    monkeypatch.setattr(export.time, "time", lambda: 10**12)
    assert export.find(export_id) is None and not result.path.exists()


@pytest.mark.parametrize("zone", ["Asia/Seoul", "America/New_York", "Europe/Berlin"])
def test_message_times_are_local_across_daylight_saving_changes(monkeypatch, zone):
    from datetime import timedelta, timezone
    from zoneinfo import ZoneInfo

    from openpyxl import Workbook

    monkeypatch.setenv("OC_TIMEZONE", zone)
    cells = export._Cells(Workbook(write_only=True).create_sheet("x"))
    start = datetime(2026, 3, 7)  # the US and European spring changes are in the following weeks
    for hour in range(0, 24 * 30, 1):
        naive = start + timedelta(hours=hour, minutes=17)
        expected = naive.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        assert cells.naive_utc_date(naive) == expected, naive
        assert cells.date(naive.replace(tzinfo=timezone.utc)) == expected


def test_the_export_directory_must_be_private(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv("OC_EXPORT_DIR", str(shared))
    with pytest.raises(RuntimeError, match="private"):
        export.export_dir()
    shared.chmod(0o700)
    assert export.export_dir() == shared
