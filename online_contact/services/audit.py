"""The audit log: who did what, when, from where, what changed (and why, for exports)."""

from __future__ import annotations

import json

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
