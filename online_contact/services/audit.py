"""The audit log: who did what, when, from where, what changed (and why, for exports)."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from sqlmodel import Session, select

from online_contact.models import AuditLog

LOGIN_SUCCESS = "login.success"
LOGIN_FAILED = "login.failed"
LOGIN_THROTTLED = "login.throttled"
# An account's failed logins from all addresses over OC_LIMIT_LOGIN_PER_ACCOUNT (services.auth).
LOGIN_ACCOUNT_ATTACKED = "login.account_attacked"
# Settings and agent management (감사 로그 lists them).
SETTINGS_CHANGED = "settings.changed"
CONSENT_VERSION = "settings.consent_version"
CATEGORY_CHANGED = "category.changed"
ACCOUNT_CREATED = "account.created"
ACCOUNT_CHANGED = "account.changed"
ACCOUNT_PASSWORD_RESET = "account.password_reset"
ACCOUNT_DEACTIVATED = "account.deactivated"
ACCOUNT_ACTIVATED = "account.activated"
ACTIONS = (
    LOGIN_SUCCESS, LOGIN_FAILED, LOGIN_THROTTLED, LOGIN_ACCOUNT_ATTACKED, SETTINGS_CHANGED, CONSENT_VERSION, CATEGORY_CHANGED,
    ACCOUNT_CREATED, ACCOUNT_CHANGED, ACCOUNT_PASSWORD_RESET, ACCOUNT_DEACTIVATED, ACCOUNT_ACTIVATED,
)
# Never written to the log, whatever a caller passes.
SECRET_FIELDS = {"password", "password_hash", "token", "token_hash"}
EXPORT_HISTORY = "export.history"
# The conditions of a 채팅 기록 export kept as they were typed (고객, 검색어): a customer's name
# or email when that is what was looked for (services.export.run records them).
TYPED_CONDITIONS = ("customer", "q")
# Shorter values (one syllable of a name) name nobody and are found everywhere.
MIN_PERSONAL = 2


def changes(before: dict, after: dict) -> dict:
    """{field: [before, after]} of what differs (secret fields left out)."""
    return {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if k not in SECRET_FIELDS and before.get(k) != after.get(k)
    }


def record_change(
    bind, action: str, *, actor_id: int | None, target_type: str, target_id: int | None,
    before: dict, after: dict, ip: str = "",
) -> bool:
    """Log what an admin changed, before → after (nothing when nothing changed). Returns
    whether an entry was written."""
    diff = changes(before, after)
    if not diff:
        return False
    record(bind, action, actor_id=actor_id, target_type=target_type, target_id=target_id, ip=ip,
           detail=json.dumps(diff, ensure_ascii=False, default=str))
    return True


def record(
    bind,
    action: str,
    *,
    actor_id: int | None = None,
    target_type: str = "",
    target_id: int | None = None,
    ip: str = "",
    detail: str = "",
    reason: str = "",
) -> None:
    """Write one entry in its own transaction: it is kept even when the caller's work is then
    refused or fails (a failed login is the point of its entry). `bind`: an engine, or the
    caller's session (its database is used, not its transaction)."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    with Session(bind) as session:
        session.add(
            AuditLog(
                actor_agent_id=actor_id,
                action=action[:64],
                target_type=target_type[:32],
                target_id=target_id,
                ip=(ip or "")[:64],
                detail=detail[:2000],
                reason=reason[:500],
            )
        )
        session.commit()


def recent(
    session: Session, action_prefix: str | tuple[str, ...] = "", limit: int = 200, actor_id: int | None = None,
    before_id: int | None = None,
) -> list[AuditLog]:
    """The newest entries (older than `before_id` for the next page), optionally of some kinds
    of action (prefixes: "login.", ("access.", "export.")) and of one person."""
    from sqlalchemy import or_

    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    prefixes = (action_prefix,) if isinstance(action_prefix, str) else action_prefix
    if any(prefixes):
        query = query.where(or_(*[AuditLog.action.startswith(p) for p in prefixes if p]))
    if actor_id:
        query = query.where(AuditLog.actor_agent_id == actor_id)
    if before_id:
        query = query.where(AuditLog.id < before_id)
    return list(session.exec(query))


# ---- 고객 정보 삭제 ----------------------------------------------------------------------------------
# A name ending in a Hangul syllable may be followed by one (a particle: 홍길동님, 홍길동의).
_HANGUL = "\uac00-\ud7a3"
# What an email address is made of on either side (a longer address is another person's).
_EMAIL_BEFORE = r"(?<![a-z0-9._%+\-])"
_EMAIL_AFTER = r"(?![a-z0-9\-]|\.[a-z0-9])"


def _normalized(value) -> str:
    """A name, an email or a typed condition as compared: lower-case, each run of white space
    one space, trimmed."""
    return " ".join(value.split()).lower() if isinstance(value, str) else ""


def _whole(value: str) -> str:
    """A pattern finding `value` (normalized) only as a whole: not inside a longer word or
    address ("ed kim" is not in "ed kimberly", "kim@example.com" not in "jo.kim@example.com"),
    any run of white space where it has one."""
    body = r"\s+".join(re.escape(word) for word in value.split(" "))
    if "@" in value:
        return _EMAIL_BEFORE + body + _EMAIL_AFTER
    before = r"(?<!\w)" if re.match(r"\w", value[0]) else ""
    after = rf"(?![^\W{_HANGUL}])" if re.match(r"\w", value[-1]) else ""
    return before + body + after


def _person(names, emails) -> re.Pattern | None:
    """What names the person: each full name and each email they gave, as a whole (never a word
    of a name, nor a part of an address: the names are what customers typed, and a chat named
    "요청" must not scrub every entry that says 요청). None when there is nothing to look for."""
    values = {_normalized(v) for v in (*names, *emails)}
    values = sorted((v for v in values if len(v) >= MIN_PERSONAL), key=len, reverse=True)
    if not values:
        return None
    return re.compile("|".join(_whole(v) for v in values), re.IGNORECASE)


def _star(text: str, person: re.Pattern | None) -> str:
    """`text` with what names the person starred, the rest as it was."""
    if not text or person is None:
        return text
    return person.sub(lambda m: "*" * len(m.group(0)), text)


def forget_in(reason: str, names, emails) -> str:
    """A reason about to be logged with the person's full names and emails starred (an erasure's
    own reason, typed while they were still on the screen)."""
    return _star(reason, _person(names, emails))


def _names_them(typed, person: re.Pattern) -> bool:
    """Whether a typed condition names the person: it is one of their full names or emails, or
    holds one as a whole ("홍길동", "hong@example.com", "홍길동 환불"), case and spacing aside."""
    return person.search(_normalized(typed)) is not None


def forget_person(conn: sa.Connection, names, emails, *, customer_id: int, chat_ids=(), ticket_ids=()) -> int:
    """고객 정보 삭제 (services.privacy.erase_customer), in the erasure's transaction: the audit log
    keeps no trace of the person, and no entry that is not about them changes. A 채팅 기록 export
    whose 고객 or 검색어 names them (`_names_them`) has those blanked (their keys listed under
    "erased") and their names in its reason starred; an entry about the customer, one of their
    chats or tickets has their names starred in its reason. Only full names and emails count
    (`_person`). The entries themselves stay: who exported or erased what, when, from where and
    why (PIPA keeps access records for a year and more). Returns how many entries were changed."""
    person = _person(names, emails)
    if person is None:
        return 0
    table = AuditLog.__table__
    about_them = [sa.and_(table.c.target_type == "customer", table.c.target_id == customer_id)]
    if chat_ids:
        about_them.append(sa.and_(table.c.target_type == "chat", table.c.target_id.in_(list(chat_ids))))
    if ticket_ids:
        about_them.append(sa.and_(table.c.target_type == "ticket", table.c.target_id.in_(list(ticket_ids))))
    rows = conn.execute(sa.select(table.c.id, table.c.action, table.c.reason, table.c.detail, sa.or_(*about_them).label("theirs"))
                        .where(sa.or_(table.c.action == EXPORT_HISTORY, *about_them))).all()
    changed = 0
    for row in rows:
        reason, detail = row.reason, row.detail
        if row.action == EXPORT_HISTORY:
            detail = _without_typed(row.detail, person)
        if row.theirs or detail != row.detail:  # an export that named them is about them
            reason = _star(row.reason, person)
        if (reason, detail) != (row.reason, row.detail):
            conn.execute(sa.update(table).where(table.c.id == row.id).values(reason=reason, detail=detail))
            changed += 1
    return changed


def _without_typed(detail: str, person: re.Pattern) -> str:
    """An export's detail with the typed conditions that name the person blanked."""
    try:
        data = json.loads(detail)
    except (TypeError, ValueError):
        return _star(detail, person)  # not what an export writes (cut short): star what it holds
    conditions = data.get("conditions") if isinstance(data, dict) else None
    if not isinstance(conditions, dict):
        return detail
    erased = [key for key in TYPED_CONDITIONS if _names_them(conditions.get(key), person)]
    if not erased:
        return detail
    for key in erased:
        conditions[key] = ""
    data["erased"] = ", ".join(sorted({*str(data.get("erased", "")).split(", "), *erased} - {""}))
    return json.dumps(data, ensure_ascii=False)
