"""Audit log: who did what to which record, and why (exports require a reason)."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from ._base import utcnow


class AuditLog(SQLModel, table=True):
    """One audited action."""

    id: int | None = Field(default=None, primary_key=True)
    actor_agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    action: str = Field(max_length=64)
    target_type: str = Field(default="", max_length=32)
    target_id: int | None = None
    reason: str = Field(default="", max_length=500)
    detail: str = Field(default="", max_length=2000)
    ip: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, index=True)
