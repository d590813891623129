"""Who had a chat when: one row per assignment, kept when the chat moves on."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from ._base import utcnow

# Why an assigned chat went back to the queue (ChatAssignment.release_reason).
RELEASE_BREAK = "agent_break"  # the agent went 휴식
RELEASE_OFFLINE = "agent_offline"  # the agent went 오프라인
RELEASE_LOGOUT = "agent_logout"
RELEASE_DEACTIVATED = "agent_deactivated"
RELEASE_AWAY = "agent_away"  # presence: no tab of the agent for OC_AWAY_SECONDS
RELEASE_EXPIRED = "login_expired"  # the agent's last login expired
RELEASE_NOT_ALLOWED = "chat_not_allowed"  # an admin took away 채팅 상담 허용


class ChatAssignment(SQLModel, table=True):
    """A chat given to an agent (reason as on Chat.assignment_reason), and, when it went back to
    the queue before the agent opened it, when and why. Chat.agent_id is only the current one."""

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(foreign_key="chat.id", index=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    reason: str = Field(max_length=32)
    assigned_at: datetime = Field(default_factory=utcnow)
    released_at: datetime | None = None
    release_reason: str = Field(default="", max_length=32)
