"""The audit log: who did what, when, from where (and why, for exports)."""

from __future__ import annotations

from sqlmodel import Session, select

from online_contact.models import AuditLog

LOGIN_SUCCESS = "login.success"
LOGIN_FAILED = "login.failed"
LOGIN_THROTTLED = "login.throttled"


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


def recent(session: Session, action_prefix: str = "", limit: int = 200) -> list[AuditLog]:
    """The newest entries, optionally of one kind of action ("login.")."""
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action_prefix:
        query = query.where(AuditLog.action.startswith(action_prefix))
    return list(session.exec(query))
