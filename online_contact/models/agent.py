"""Agents and admins, and their login sessions."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from ._base import new_secret_key, utcnow

ROLE_ADMIN = "admin"
ROLE_AGENT = "agent"

STATUS_ONLINE = "online"
STATUS_BREAK = "break"
STATUS_OFFLINE = "offline"
STATUSES = (STATUS_ONLINE, STATUS_BREAK, STATUS_OFFLINE)


class Agent(SQLModel, table=True):
    """A person who logs in: an agent (상담원) or an admin. Admins may also take chats."""

    id: int | None = Field(default=None, primary_key=True)
    # The secret behind the agent's shared desk token (realtime.publish.desk_token).
    desk_key: str = Field(default_factory=new_secret_key, unique=True, max_length=40)
    email: str = Field(index=True, unique=True, max_length=254)
    name: str = Field(max_length=100)
    role: str = Field(default=ROLE_AGENT, max_length=16)
    password_hash: str = Field(max_length=200)
    active: bool = True
    status: str = Field(default=STATUS_OFFLINE, max_length=16)
    status_changed_at: datetime = Field(default_factory=utcnow)
    can_chat: bool = True
    # None = no limit of open chats.
    max_open_chats: int | None = None
    # Denormalised count of chats assigned and not yet ended (by the agent or the customer:
    # a chat the customer left no longer takes a slot); only changed by conditional UPDATEs
    # (services.routing, services.chats) so that the limit holds under concurrency.
    open_chat_count: int = 0
    last_assigned_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    # 알림 설정: a sound, and a browser notification while the tab is hidden.
    notify_sound: bool = True
    notify_desktop: bool = False


LOGIN_ENDS = ("logout", "logout_all", "expired", "deactivated", "password_reset")


class AuthSession(SQLModel, table=True):
    """A login. The browser keeps the token (localStorage); the database keeps only its SHA-256,
    so a copy of the database logs nobody in. Valid until expires_at, unless it ended earlier
    (ended_at, end_reason: one of LOGIN_ENDS)."""

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    ip: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    ended_at: datetime | None = None
    end_reason: str = Field(default="", max_length=16)


class AgentStatusLog(SQLModel, table=True):
    """An agent's status over time (통계's 온라인 / 휴식 시간): one row per stretch of one status,
    open (ended_at None) while it lasts. Written by every status change (services.agents)."""

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    status: str = Field(max_length=16)
    started_at: datetime = Field(default_factory=utcnow, index=True)
    ended_at: datetime | None = None
