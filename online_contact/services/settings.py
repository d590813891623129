"""Chat settings (서비스 관리 › 기본 설정, 상담원 할당 설정): chat on/off, texts per language, the
versioned consent text, assignment preferences. Every change by an admin is audited (before →
after); the screens publish it live (realtime)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from online_contact.config import CONSENT_VERSION
from online_contact.i18n import LANGUAGES, translate
from online_contact.models import ChatSettings, ChatSettingsText, ConsentText
from online_contact.models.settings import ASSIGN_BALANCED, ASSIGN_RANDOM, DEFAULT_SERVICE

from . import audit
from .errors import FormErrors, ServiceError
from .text import clean

FALLBACK_LANGUAGE = "ko"
MAX_TEXT = 1000  # 인사말, 만족도 안내 메시지
MAX_CONSENT = 4000
MAX_CONSENT_LINES = 12
MAX_OPEN_CHATS = 100  # the largest 최대 동시 상담 수 that can be set
METHODS = (ASSIGN_RANDOM, ASSIGN_BALANCED)


def get_settings(session: Session, service_key: str = DEFAULT_SERVICE) -> ChatSettings:
    """The settings row of the service, created with defaults on first use."""
    row = session.exec(select(ChatSettings).where(ChatSettings.service_key == service_key)).first()
    if row is None:
        row = ChatSettings(service_key=service_key)
        session.add(row)
        session.flush()
    return row


def texts(session: Session, settings: ChatSettings, language: str) -> ChatSettingsText | None:
    """The greeting and satisfaction guide in `language`, falling back to Korean."""
    rows = {
        t.language: t
        for t in session.exec(
            select(ChatSettingsText).where(ChatSettingsText.settings_id == settings.id)
        )
    }
    return rows.get(language) or rows.get(FALLBACK_LANGUAGE)


def set_texts(
    session: Session, settings: ChatSettings, language: str, greeting: str, satisfaction_guide: str
) -> ChatSettingsText:
    """Create or replace the texts of one language."""
    row = session.exec(
        select(ChatSettingsText).where(
            ChatSettingsText.settings_id == settings.id, ChatSettingsText.language == language
        )
    ).first()
    if row is None:
        row = ChatSettingsText(settings_id=settings.id, language=language)
    row.greeting = greeting.strip()
    row.satisfaction_guide = satisfaction_guide.strip()
    session.add(row)
    session.flush()
    return row


def _required(text, code: str, limit: int) -> str:
    """A required text of an admin's form, cleaned; ServiceError(`code`…) when empty or too long."""
    value = clean(text if isinstance(text, str) else "").strip()
    if not value:
        raise ServiceError(f"{code}_required")
    if len(value) > limit:
        raise ServiceError(f"{code}_too_long", max=limit)
    return value


def _language(language) -> str:
    if language not in LANGUAGES:
        raise ServiceError("error.language_invalid")
    return language


# A change staged in the session: (audit action, target type, target id, before, after).
Change = tuple[str, str, int | None, dict, dict]


def _store(session: Session, commit: bool) -> None:
    """Flush or commit what was staged; another admin's version saved at the same moment
    (the unique language+version) rolls all of it back with a clear message."""
    from sqlalchemy.exc import IntegrityError

    try:
        session.commit() if commit else session.flush()
    except IntegrityError:
        session.rollback()
        raise ServiceError("error.saved_meanwhile") from None


def _commit_and_audit(session: Session, changes: list[Change], actor_id: int, ip: str) -> list[bool]:
    """Store what was staged in one transaction, then audit each change (whether it was written)."""
    _store(session, commit=True)
    return [
        audit.record_change(session, action, actor_id=actor_id, target_type=target_type, target_id=target_id,
                            before=before, after=after, ip=ip)
        for action, target_type, target_id, before, after in changes
    ]


def _stage_flag(session: Session, field: str, value: bool) -> Change:
    """An on/off setting (채팅 사용, 추출 비밀번호 필수)."""
    settings = get_settings(session)
    before = getattr(settings, field)
    setattr(settings, field, value)
    session.add(settings)
    return (audit.SETTINGS_CHANGED, "settings", settings.id, {field: before}, {field: value})


def _stage_enabled(session: Session, enabled: bool) -> Change:
    return _stage_flag(session, "chat_enabled", enabled)


def set_chat_enabled(session: Session, actor_id: int, enabled: bool, ip: str = "") -> bool:
    """채팅 사용 on/off. Off: no new chat starts (open ones continue). Returns whether it changed. Commits."""
    if not isinstance(enabled, bool):
        raise ServiceError("error.value_invalid")
    return _commit_and_audit(session, [_stage_enabled(session, enabled)], actor_id, ip)[0]


def _stage_texts(session: Session, language: str, greeting: str, satisfaction_guide: str) -> Change:
    settings = get_settings(session)
    row = session.exec(
        select(ChatSettingsText).where(ChatSettingsText.settings_id == settings.id, ChatSettingsText.language == language)
    ).first()
    before = {"greeting": row.greeting, "satisfaction_guide": row.satisfaction_guide} if row else {}
    set_texts(session, settings, language, greeting, satisfaction_guide)
    return (audit.SETTINGS_CHANGED, f"texts:{language}", settings.id, before,
            {"greeting": greeting, "satisfaction_guide": satisfaction_guide})


def save_texts(session: Session, actor_id: int, language: str, greeting: str, satisfaction_guide: str, ip: str = "") -> bool:
    """인사말 and 만족도 안내 메시지 of one language; the next chat in that language uses them. Commits."""
    language = _language(language)
    greeting = _required(greeting, "error.greeting", MAX_TEXT)
    satisfaction_guide = _required(satisfaction_guide, "error.guide", MAX_TEXT)
    return _commit_and_audit(session, [_stage_texts(session, language, greeting, satisfaction_guide)], actor_id, ip)[0]


@dataclass(frozen=True)
class ConsentView:
    """The 개인정보 수집 동의 text a customer is shown, and the version a consent records."""

    version: str
    lines: tuple[str, ...]

    @property
    def body(self) -> str:
        return "\n".join(self.lines)


def default_consent(language: str) -> ConsentView:
    """The text the product ships with (before an admin saved one): PIPA's four items."""
    keys = ("consent_purpose", "consent_items", "consent_retention", "consent_refuse")
    return ConsentView(CONSENT_VERSION, tuple(translate(language, k) for k in keys))


def _latest_consent(session: Session, language: str) -> ConsentText | None:
    return session.exec(
        select(ConsentText).where(ConsentText.language == language).order_by(ConsentText.version.desc()).limit(1)
    ).first()


def current_consent(session: Session, language: str) -> ConsentView:
    """The consent text in `language` as it is now (the newest saved version, or the default)."""
    language = language if language in LANGUAGES else FALLBACK_LANGUAGE
    row = _latest_consent(session, language)
    if row is None:
        return default_consent(language)
    return ConsentView(f"{language}-v{row.version}", tuple(line for line in row.body.split("\n") if line.strip()))


def _consent_lines(body) -> list[str]:
    """The consent text as its items (one per line, blank lines dropped); ServiceError when empty or too long."""
    text = _required(body, "error.consent", MAX_CONSENT)
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) > MAX_CONSENT_LINES:
        raise ServiceError("error.consent_lines", max=MAX_CONSENT_LINES)
    return lines


def _stage_consent(session: Session, actor_id: int, language: str, lines: list[str]) -> tuple[Change | None, ConsentView]:
    """A new version when the text differs from the current one (None: the same text, nothing staged)."""
    current = current_consent(session, language)
    if list(current.lines) == lines:
        return None, current
    latest = _latest_consent(session, language)
    row = ConsentText(language=language, version=(latest.version if latest else 0) + 1, body="\n".join(lines), created_by=actor_id)
    session.add(row)
    _store(session, commit=False)  # the row's id, for the audit
    view = ConsentView(f"{language}-v{row.version}", tuple(lines))
    return (audit.CONSENT_VERSION, f"consent:{language}", row.id, {"version": current.version, "text": current.body},
            {"version": view.version, "text": view.body}), view


def save_consent(session: Session, actor_id: int, language: str, body: str, ip: str = "") -> ConsentView:
    """Save the consent text of one language as a new version (one item per line). The same text
    again adds nothing. Consents given from now on record the new version. Commits."""
    language = _language(language)
    change, view = _stage_consent(session, actor_id, language, _consent_lines(body))
    if change is not None:
        _commit_and_audit(session, [change], actor_id, ip)
    return view


def save_assignment(
    session: Session, actor_id: int, prefer_recent_agent: bool, method: str, default_max_open_chats, ip: str = "",
    queue_timeout_minutes=None,
) -> bool:
    """상담원 할당 설정: recent-agent preference, 할당 방식, default 최대 동시 상담 수 (None = no
    limit) and 대기 시간 제한 (minutes, 0 = never; None leaves it as it is). Applies to the next
    assignment (and the next pass of the queue). Returns whether anything changed. Commits."""
    if not isinstance(prefer_recent_agent, bool) or method not in METHODS:
        raise ServiceError("error.value_invalid")
    limit = parse_limit(default_max_open_chats)
    settings = get_settings(session)
    timeout = settings.queue_timeout_minutes if queue_timeout_minutes is None else parse_queue_timeout(queue_timeout_minutes)
    before = {"prefer_recent_agent": settings.prefer_recent_agent, "assignment_method": settings.assignment_method,
              "default_max_open_chats": settings.default_max_open_chats, "queue_timeout_minutes": settings.queue_timeout_minutes}
    settings.prefer_recent_agent, settings.assignment_method, settings.default_max_open_chats = prefer_recent_agent, method, limit
    settings.queue_timeout_minutes = timeout
    session.add(settings)
    session.commit()
    return audit.record_change(
        session, audit.SETTINGS_CHANGED, actor_id=actor_id, target_type="assignment", target_id=settings.id, before=before,
        after={"prefer_recent_agent": prefer_recent_agent, "assignment_method": method, "default_max_open_chats": limit,
               "queue_timeout_minutes": timeout}, ip=ip,
    )


MAX_QUEUE_TIMEOUT = 1440  # minutes: a day


def parse_queue_timeout(value) -> int:
    """대기 시간 제한 from a form: whole minutes 0..MAX_QUEUE_TIMEOUT (0 = never); blank is wrong
    (0 says "never" in so many words)."""
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()) or len(value) > 5:
            raise ServiceError("error.queue_timeout_invalid", max=MAX_QUEUE_TIMEOUT)
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_QUEUE_TIMEOUT:
        raise ServiceError("error.queue_timeout_invalid", max=MAX_QUEUE_TIMEOUT)
    return value


def parse_limit(value) -> int | None:
    """A 최대 동시 상담 수 from a form: blank = no limit, else 1..MAX_OPEN_CHATS."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()):
            raise ServiceError("error.limit_invalid", max=MAX_OPEN_CHATS)
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_OPEN_CHATS:
        raise ServiceError("error.limit_invalid", max=MAX_OPEN_CHATS)
    return value


def save_basic(
    session: Session, actor_id: int, *, chat_enabled: bool, texts: dict[str, tuple[str, str]], consents: dict[str, str],
    export_password_required: bool | None = None, ip: str = "",
) -> bool:
    """기본 설정 at once: 채팅 사용, the texts and the consent text of every language. Everything is
    checked first (FormErrors names every field that is wrong); then one transaction writes it
    all, or nothing. Audited after. Returns whether 채팅 사용 changed."""
    if not isinstance(chat_enabled, bool) or not isinstance(export_password_required, (bool, type(None))):
        raise ServiceError("error.value_invalid")
    for language in (*texts, *consents):
        _language(language)
    errors: dict[str, ServiceError] = {}

    def check(field: str, rule, *args):
        try:
            return rule(*args)
        except ServiceError as exc:
            errors[field] = exc

    checked_texts = {
        language: (check(f"greeting_{language}", _required, greeting, "error.greeting", MAX_TEXT),
                   check(f"guide_{language}", _required, guide, "error.guide", MAX_TEXT))
        for language, (greeting, guide) in texts.items()
    }
    checked_consents = {language: check(f"consent_{language}", _consent_lines, body) for language, body in consents.items()}
    if errors:
        raise FormErrors(errors)
    before_enabled = get_settings(session).chat_enabled
    changes = [_stage_enabled(session, chat_enabled)]
    if export_password_required is not None:
        changes.append(_stage_flag(session, "export_password_required", export_password_required))
    changes += [_stage_texts(session, language, *pair) for language, pair in checked_texts.items()]
    for language, lines in checked_consents.items():
        change, _ = _stage_consent(session, actor_id, language, lines)
        if change is not None:
            changes.append(change)
    _commit_and_audit(session, changes, actor_id, ip)
    return before_enabled != chat_enabled
