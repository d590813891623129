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
def _lowered(values) -> list[str]:
    """The values worth looking for, lower-case, longest first (a name inside an email is starred
    as part of the email)."""
    found = {v.strip().lower() for v in values if isinstance(v, str) and len(v.strip()) >= MIN_PERSONAL}
    return sorted(found, key=len, reverse=True)


def _star(text: str, values: list[str]) -> str:
    """`text` with every occurrence of `values` (any case) starred, the rest as it was."""
    if not text or not values:
        return text
    pattern = re.compile("|".join(re.escape(v) for v in values), re.IGNORECASE)
    return pattern.sub(lambda m: "*" * len(m.group(0)), text)


def _naming(names, emails) -> list[str]:
    """What names the person in free text: each name, each word of a name (a reason may say
    "Chulsoo"), each email."""
    return _lowered([*names, *(word for name in names for word in name.split()), *emails])


def forget_in(reason: str, names, emails) -> str:
    """A reason about to be logged with what names the person starred (an erasure's own reason,
    typed while they were still on the screen)."""
    return _star(reason, _naming(names, emails))


def _names_them(typed, values: list[str], parts: list[str]) -> bool:
    """Whether a typed condition names the person: it holds one of their `values` (`_naming`,
    and an email's part before the @), or it is a part of a name or of that local part — what
    the 고객 condition matches (services.history.where: LIKE %…%)."""
    typed = typed.strip().lower() if isinstance(typed, str) else ""
    return len(typed) >= MIN_PERSONAL and (any(v in typed for v in values) or any(typed in p for p in parts))


def forget_person(conn: sa.Connection, names, emails) -> int:
    """고객 정보 삭제 (services.privacy.erase_customer), in the erasure's transaction: the audit log
    keeps no trace of the person. A 채팅 기록 export's conditions typed as 고객 or 검색어 that name
    them (`_names_them`) are blanked, their keys listed under "erased"; a reason (exports,
    erasures) that names them (`_naming`) has that starred. The entries themselves stay:
    who exported or erased what, when, from where and why (PIPA keeps access records for a year
    and more). Returns how many entries were changed."""
    emails = _lowered(emails)
    named = _naming(names, emails)
    values = _lowered([*named, *(e.split("@", 1)[0] for e in emails)])
    parts = _lowered([*names, *(e.split("@", 1)[0] for e in emails)])
    if not values:
        return 0
    table = AuditLog.__table__
    escaped = [v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for v in named]
    reasons = [sa.func.lower(table.c.reason).like(f"%{v}%", escape="\\") for v in escaped]
    rows = conn.execute(sa.select(table.c.id, table.c.action, table.c.reason, table.c.detail)
                        .where(sa.or_(table.c.action == EXPORT_HISTORY, *reasons))).all()
    changed = 0
    for row in rows:
        reason, detail = _star(row.reason, named), row.detail
        if row.action == EXPORT_HISTORY:
            detail = _without_typed(row.detail, values, parts)
        if (reason, detail) != (row.reason, row.detail):
            conn.execute(sa.update(table).where(table.c.id == row.id).values(reason=reason, detail=detail))
            changed += 1
    return changed


def _without_typed(detail: str, values: list[str], parts: list[str]) -> str:
    """An export's detail with the typed conditions that name the person blanked."""
    try:
        data = json.loads(detail)
    except (TypeError, ValueError):
        return _star(detail, values)  # not what an export writes: star what it holds
    conditions = data.get("conditions") if isinstance(data, dict) else None
    if not isinstance(conditions, dict):
        return detail
    erased = [key for key in TYPED_CONDITIONS if _names_them(conditions.get(key), values, parts)]
    if not erased:
        return detail
    for key in erased:
        conditions[key] = ""
    data["erased"] = ", ".join(sorted({*str(data.get("erased", "")).split(", "), *erased} - {""}))
    return json.dumps(data, ensure_ascii=False)
