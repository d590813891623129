"""데이터 추출: 채팅 기록's filtered list as an Excel file, streamed from the database.

openpyxl in write-only mode, fed in keyset batches (services.history.rows_in_batches), so the
server's memory stays flat however many chats: one "채팅 기록" sheet (a row per chat, the list's
columns plus email, IP, device, memo, ticket ids, 대기 시간 and 상담 시간) and one "대화 내용"
sheet (every message). Dates are Excel dates in OC_TIMEZONE; a text that Excel would read as a
formula (= + - @, tab, CR first) is written as a string cell with Excel's quote prefix, so it
is shown, never evaluated. Optionally encrypted with a file password (msoffcrypto-tool, the
encryption Excel uses). Who exported what, when, from where and why goes to the audit log.

The file lives in OC_EXPORT_DIR for OC_EXPORT_MINUTES beside a small JSON record of who may
fetch it (api/export.py checks the same login and role; the URL alone gives nothing).
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlmodel import Session, select

from online_contact.config import display_timezone
from online_contact.models import Agent, Message, Ticket
from online_contact.models.chat import AUTHOR_AGENT, AUTHOR_CUSTOMER

from . import audit, history
from .errors import ServiceError
from .text import clean

SHEET_CHATS = "채팅 기록"
SHEET_MESSAGES = "대화 내용"
MAX_REASON = 500
MAX_PASSWORD = 255
BATCH = 1000
# Excel reads these first characters as the start of a formula (OWASP: CSV / formula injection).
FORMULA_START = frozenset("=+-@\t\r")
STATE_LABELS = {history.PROCESSED: "처리", history.UNPROCESSED: "미처리", history.IN_PROGRESS: "진행중"}
AUTHOR_LABELS = {AUTHOR_CUSTOMER: "고객", AUTHOR_AGENT: "상담원"}

# A message's time as the driver gives it (naive UTC), without the model type's per-value wrapper.
_MESSAGE_TIME = sa.type_coerce(Message.__table__.c.created_at, sa.DateTime()).label("created_at")

# (header, width): widths fit the content a contact center's rows carry (Hangul is wide).
CHAT_COLUMNS = (
    ("채팅 ID", 9), ("시작 시간", 20), ("종료 시간", 20), ("고객 이름", 14), ("이메일", 28), ("상담원", 12),
    ("채널", 30), ("처리유형", 28), ("상태", 8), ("평가", 6), ("메시지 수", 10), ("대화 시간", 11),
    ("대기 시간", 11), ("상담 시간", 11), ("IP", 16), ("기기", 30), ("메모", 40), ("티켓", 14),
)
MESSAGE_COLUMNS = (("채팅 ID", 9), ("시간", 20), ("작성자", 14), ("내용", 100))


def export_dir() -> Path:
    """OC_EXPORT_DIR, or a directory of this user's in the temp directory. Refused unless it
    belongs to this user and nobody else may read it: the files hold customers' data."""
    path = Path(os.environ.get("OC_EXPORT_DIR") or Path(tempfile.gettempdir()) / f"online-contact-exports-{os.getuid()}")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise RuntimeError(f"{path} must belong to this user and be private (chmod 700) to hold exports")
    return path


def link_minutes() -> int:
    """How long a finished export can be downloaded (OC_EXPORT_MINUTES, default 30)."""
    return max(1, int(os.environ.get("OC_EXPORT_MINUTES", "30")))


def check_request(reason, password, password_required: bool) -> tuple[str, str]:
    """The reason (사유) is required; the password too when the setting says so."""
    reason = clean(reason if isinstance(reason, str) else "").strip()
    password = password if isinstance(password, str) else ""
    if not reason:
        raise ServiceError("error.export_reason")
    if len(reason) > MAX_REASON:
        raise ServiceError("error.export_reason_long", max=MAX_REASON)
    if len(password) > MAX_PASSWORD:
        raise ServiceError("error.export_password_long", max=MAX_PASSWORD)
    if password_required and not password:
        raise ServiceError("error.export_password_required")
    return reason, password


# ---- cells -------------------------------------------------------------------------------------
class _Cells:
    """Values of one sheet: local dates and durations as Excel reads them (openpyxl gives a
    datetime and a timedelta their number formats), text made inert. Plain values wherever
    they are safe: a cell object costs several times a value in write-only mode."""

    def __init__(self, sheet) -> None:
        self.sheet = sheet
        self.zone = display_timezone()
        self._offsets: dict[int, timedelta | bool] = {}

    def text(self, value: str):
        if not value:
            return None  # no cell at all (Excel shows it empty either way)
        if value[0] in FORMULA_START:
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.data_type = "s"  # openpyxl would store "=…" as a formula
            cell.quotePrefix = True  # and Excel shows it as typed text, also after an edit
            return cell
        return value

    def naive_utc_date(self, moment: datetime) -> datetime:
        """The same for a stored time read without its zone (the messages: a million of them):
        the zone's offset is looked up once per UTC day when it is the same all day (a day
        with a daylight-saving change converts each time)."""
        if moment.tzinfo is not None:
            return moment.astimezone(self.zone).replace(tzinfo=None)
        day = moment.toordinal()
        offset = self._offsets.get(day)
        if offset is None:
            start = datetime.fromordinal(day).replace(tzinfo=timezone.utc)
            first, last = start.astimezone(self.zone).utcoffset(), (start + timedelta(days=1)).astimezone(self.zone).utcoffset()
            offset = self._offsets[day] = first if first == last else False
        if offset is False:
            return moment.replace(tzinfo=timezone.utc).astimezone(self.zone).replace(tzinfo=None)
        return moment + offset

    def date(self, moment: datetime | None) -> datetime | None:
        """An Excel date: local wall time (Excel has no time zones)."""
        return moment.astimezone(self.zone).replace(tzinfo=None) if moment is not None else None

    def percent(self, share: float | None):
        """A share (0.853) shown as Excel's 85.3%."""
        if share is None:
            return None
        cell = WriteOnlyCell(self.sheet, value=share)
        cell.number_format = "0.0%"
        return cell

    @staticmethod
    def duration(seconds: int | None) -> timedelta | None:
        return timedelta(seconds=seconds) if seconds is not None else None


def _sheet(workbook: Workbook, title: str, columns) -> tuple[object, _Cells]:
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    for n, (_header, width) in enumerate(columns, start=1):
        sheet.column_dimensions[_letter(n)].width = width
    bold = Font(bold=True)
    header = []
    for name, _width in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    return sheet, _Cells(sheet)


def _letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


# ---- the export --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    path: Path
    chats: int
    messages: int


def batches(session: Session, agent: Agent, conditions: history.Conditions, chat_cells: _Cells, message_cells: _Cells):
    """The rows of both sheets, a batch of chats at a time: (chat rows, message rows)."""
    c, m = chat_cells, message_cells
    labels = history.Labels.read(session)
    for batch in history.rows_in_batches(session, agent, conditions, batch=BATCH):
        ids = [chat.id for chat in batch]
        tickets: dict[int, list[str]] = {}
        for chat_id, ticket_id in session.exec(select(Ticket.chat_id, Ticket.id).where(Ticket.chat_id.in_(ids)).order_by(Ticket.id)):
            tickets.setdefault(chat_id, []).append(f"#{ticket_id}")
        chat_rows = [
            [
                chat.id, c.date(chat.created_at), c.date(history.ended_at(chat)), c.text(chat.customer_name),
                c.text(chat.customer_email), c.text(labels.agent(chat)), c.text(chat.channel), c.text(labels.category(chat)),
                STATE_LABELS[history.state_of(chat)], chat.rating_score, chat.last_seq,
                c.duration(history.chat_seconds(chat)), c.duration(history.wait_seconds(chat)),
                c.duration(history.handle_seconds(chat)), c.text(chat.ip), c.text(chat.device), c.text(chat.memo),
                ", ".join(tickets.get(chat.id, [])) or None,
            ]
            for chat in batch
        ]
        order = {chat_id: n for n, chat_id in enumerate(ids)}
        rows = session.connection().execute(
            select(Message.chat_id, Message.seq, _MESSAGE_TIME, Message.author, Message.agent_id, Message.text)
            .where(Message.chat_id.in_(ids))
        ).all()
        # Newest chat first, as on the first sheet; each chat's messages in order.
        rows.sort(key=lambda r: (order[r[0]], r[1]))
        agents = {agent_id: f"{AUTHOR_LABELS[AUTHOR_AGENT]} {name}" for agent_id, name in labels.agents.items()}
        date, text, by_agent = m.naive_utc_date, m.text, AUTHOR_LABELS[AUTHOR_AGENT]
        message_rows = [
            [chat_id, date(created_at),
             agents.get(agent_id, by_agent) if author == AUTHOR_AGENT else AUTHOR_LABELS.get(author, "시스템"), text(body)]
            for chat_id, _seq, created_at, author, agent_id, body in rows
        ]
        yield chat_rows, message_rows


def write_xlsx(session: Session, agent: Agent, conditions: history.Conditions, path: Path,
               progress=None) -> Result:
    """Write the search's chats and their messages to `path` (.xlsx), batch by batch."""
    workbook = Workbook(write_only=True)
    chats_sheet, c = _sheet(workbook, SHEET_CHATS, CHAT_COLUMNS)
    messages_sheet, m = _sheet(workbook, SHEET_MESSAGES, MESSAGE_COLUMNS)
    chat_count = message_count = 0
    for chat_rows, message_rows in batches(session, agent, conditions, c, m):
        for row in chat_rows:
            chats_sheet.append(row)
        for row in message_rows:
            messages_sheet.append(row)
        chat_count += len(chat_rows)
        message_count += len(message_rows)
        if progress is not None:
            progress(chat_count)
    workbook.save(path)
    return Result(path, chat_count, message_count)


def encrypt(path: Path, password: str) -> None:
    """Encrypt the file in place: Excel then asks for `password` to open it."""
    from msoffcrypto.format.ooxml import OOXMLFile

    encrypted = path.with_suffix(".enc")
    with open(path, "rb") as plain, open(encrypted, "wb") as out:
        OOXMLFile(plain).encrypt(password, out)
    os.replace(encrypted, path)


@dataclass(frozen=True)
class Download:
    """A finished export that its owner may download until `expires` (epoch seconds)."""

    export_id: str
    agent_id: int
    login_id: int
    role: str
    expires: float
    filename: str


def _paths(export_id: str) -> tuple[Path, Path]:
    base = export_dir() / export_id
    return base.with_suffix(".xlsx"), base.with_suffix(".json")


def new_export_id() -> str:
    return secrets.token_urlsafe(24)


HISTORY = "chat-history"  # the exports that hold transcripts and customers' details (통계's hold counts)
_WITHDRAWN = "withdrawn"  # in export_dir: when transcripts were last masked or erased (epoch seconds)


def withdraw_history_exports() -> None:
    """A message was masked or a customer erased (by hand or by retention): the 채팅 기록 exports
    made before, finished or still being written, are withdrawn (their files deleted, their links
    answer as expired), so the removed text is not left in a file to download."""
    directory = export_dir()
    (directory / _WITHDRAWN).write_text(repr(time.time()))
    for record in directory.glob("*.json"):
        try:
            kind = json.loads(record.read_text()).get("kind", HISTORY)
        except (OSError, ValueError):
            kind = HISTORY
        if kind == HISTORY:
            remove(record.stem)


def _withdrawn_at() -> float:
    try:
        return float((export_dir() / _WITHDRAWN).read_text())
    except (OSError, ValueError):
        return 0.0


def _store(export_id: str, write, *, password: str, agent: Agent, login_id: int, name: str) -> Path:
    """Write the file (through `write(path)`), encrypt it when a password was given, and keep
    the record its download is checked against: this login, this role, until it expires."""
    started = time.time()
    path, record = _paths(export_id)
    partial = path.with_suffix(".part")
    try:
        write(partial)
        if password:
            encrypt(partial, password)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    stamp = datetime.now(display_timezone()).strftime("%Y%m%d-%H%M")
    record.write_text(json.dumps({
        "agent_id": agent.id, "login_id": login_id, "role": agent.role, "expires": time.time() + link_minutes() * 60,
        "filename": f"{name}-{stamp}.xlsx", "kind": name, "started": started,
    }))
    return path


def run(session: Session, agent: Agent, conditions: history.Conditions, *, reason: str, password: str, ip: str,
        export_id: str, login_id: int, progress=None) -> Result:
    """The whole export: the file, its password, its download record, the audit entry."""
    written: list[Result] = []
    path = _store(export_id, lambda p: written.append(write_xlsx(session, agent, conditions, p, progress)),
                  password=password, agent=agent, login_id=login_id, name=HISTORY)
    result = written[0]
    session.commit()  # the export only read; SQLite: the audit's own connection must not wait on this one
    # The conditions as typed: a name or email among them is blanked if that customer is erased
    # (audit.forget_person).
    audit.record(session, audit.EXPORT_HISTORY, actor_id=agent.id, target_type="chat", ip=ip, reason=reason,
                 detail=json.dumps({"conditions": conditions.to_query(), "chats": result.chats, "messages": result.messages,
                                    "password": bool(password)}, ensure_ascii=False))
    return Result(path, result.chats, result.messages)


def find(export_id: str) -> tuple[Path, Download] | None:
    """The file of a finished export that has not expired (expired ones are removed)."""
    if not isinstance(export_id, str) or not export_id or len(export_id) > 64 or not export_id.replace("-", "").replace("_", "").isalnum():
        return None
    path, record = _paths(export_id)
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    # Expired, or a transcript export begun before a masking or an erasure (withdraw_history_exports).
    if data.get("expires", 0) < time.time() or (data.get("kind", HISTORY) == HISTORY and data.get("started", 0) <= _withdrawn_at()):
        remove(export_id)
        return None
    return path, Download(export_id, int(data["agent_id"]), int(data["login_id"]), str(data["role"]), float(data["expires"]),
                          str(data["filename"]))


def remove(export_id: str) -> None:
    for p in _paths(export_id):
        p.unlink(missing_ok=True)


def remove_expired() -> None:
    """Delete the files of expired exports (called before each new export)."""
    now = time.time()
    for record in export_dir().glob("*.json"):
        try:
            expired = json.loads(record.read_text()).get("expires", 0) < now
        except (OSError, ValueError):
            expired = True
        if expired:
            remove(record.stem)
    for stale in export_dir().glob("*.part"):
        if stale.stat().st_mtime < now - 24 * 3600:
            stale.unlink(missing_ok=True)
