"""Chat settings of a service (help center)."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ._base import utcnow

ASSIGN_RANDOM = "random"
ASSIGN_BALANCED = "balanced"

DEFAULT_SERVICE = "default"


class ChatSettings(SQLModel, table=True):
    """How chat behaves for one service."""

    id: int | None = Field(default=None, primary_key=True)
    service_key: str = Field(default=DEFAULT_SERVICE, unique=True, max_length=64)
    chat_enabled: bool = True
    prefer_recent_agent: bool = True
    assignment_method: str = Field(default=ASSIGN_BALANCED, max_length=16)
    # 최대 동시 상담 수 of every agent without one of their own (None = no limit).
    default_max_open_chats: int | None = None
    # 대기 시간 제한: a chat queued longer than this many minutes leaves the queue and its customer
    # is offered the 1:1 문의 (services.chats.end_overdue_waiting; 0 = never).
    queue_timeout_minutes: int = 10
    # 데이터 추출 (채팅 기록's Excel export) only with a file password.
    export_password_required: bool = False
    # 채팅화면 삽입 코드: the sites allowed to embed the chat (origins, one per line; empty = any
    # site), and whether the launcher hides while no agent is Online.
    embed_origins: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    embed_hide_when_offline: bool = False
    # 설정 › 개인정보: which personal numbers are masked automatically (services.masking), and how
    # many months chats (with their messages), consent records, inquiries and the audit log are
    # kept (services.privacy; the defaults and their legal basis are in the README).
    mask_rrn: bool = True
    mask_card: bool = True
    mask_phone: bool = True
    mask_account: bool = True
    mask_passport: bool = True
    keep_chats_months: int = 36
    keep_consents_months: int = 36
    keep_inquiries_months: int = 36
    keep_audit_months: int = 24


class ChatSettingsText(SQLModel, table=True):
    """The greeting (인사말) and satisfaction guide (만족도 안내 메시지) in one language."""

    id: int | None = Field(default=None, primary_key=True)
    settings_id: int = Field(foreign_key="chatsettings.id", index=True)
    language: str = Field(max_length=8)
    greeting: str = Field(default="", max_length=1000)
    satisfaction_guide: str = Field(default="", max_length=1000)


class ConsentText(SQLModel, table=True):
    """One version of the 개인정보 수집 동의 text in one language: saving a change adds a version,
    and a consent record names the version the customer was shown. One line per item (purpose,
    items collected, retention, the right to refuse)."""

    __table_args__ = (sa.UniqueConstraint("language", "version", name="uq_consenttext_language_version"),)

    id: int | None = Field(default=None, primary_key=True)
    language: str = Field(max_length=8, index=True)
    version: int
    body: str = Field(max_length=4000)
    created_at: datetime = Field(default_factory=utcnow)
    created_by: int | None = Field(default=None, foreign_key="agent.id")
