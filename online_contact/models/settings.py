"""Chat settings of a service (help center)."""

from sqlmodel import Field, SQLModel

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


class ChatSettingsText(SQLModel, table=True):
    """The greeting (인사말) and satisfaction guide (만족도 안내 메시지) in one language."""

    id: int | None = Field(default=None, primary_key=True)
    settings_id: int = Field(foreign_key="chatsettings.id", index=True)
    language: str = Field(max_length=8)
    greeting: str = Field(default="", max_length=1000)
    satisfaction_guide: str = Field(default="", max_length=1000)
