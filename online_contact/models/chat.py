"""The chat aggregate: Chat, its Messages and its Ratings."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ._base import new_secret_key, utcnow

CHAT_WAITING = "waiting"  # created, no agent yet (queued)
CHAT_OPEN = "open"  # assigned, neither side has ended it
# The customer or the agent pressed 대화 종료 (or it closed with no agent). A chat the customer
# left stays on its agent's screen until they end it too (agent_ended_at: routing.ON_AN_AGENTS_SCREEN).
CHAT_ENDED = "ended"

AUTHOR_CUSTOMER = "customer"
AUTHOR_AGENT = "agent"
AUTHOR_SYSTEM = "system"

CHANNEL_HELP_CENTER = "helpcenter"


class Chat(SQLModel, table=True):
    """One conversation between a customer and (at most) one agent."""

    # 채팅 기록 lists newest first and pages by (created_at, id); the other columns its conditions
    # read are in the index too, so the total of a search over years is counted from the index
    # alone (120 ms → 18 ms over 100,000 chats on SQLite).
    __table_args__ = (sa.Index("ix_chat_history", "created_at", "id", "status", "agent_id", "category_id", "rating_score", "agent_opened_at", "first_agent_reply_at", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    # The secret behind the chat's shared room token (realtime.publish.room_token): tabs reach
    # a room only through the server, which links them after checking who they are.
    room_key: str = Field(default_factory=new_secret_key, unique=True, max_length=40)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    status: str = Field(default=CHAT_WAITING, index=True, max_length=16)
    language: str = Field(default="ko", max_length=8)
    # "helpcenter" or the URL of the page that embedded the chat.
    channel: str = Field(default=CHANNEL_HELP_CENTER, max_length=2000)
    ip: str = Field(default="", max_length=64)
    device: str = Field(default="", max_length=200)
    user_agent: str = Field(default="", max_length=1000)
    customer_name: str = Field(default="", max_length=100)
    customer_email: str = Field(default="", max_length=254)
    memo: str = Field(default="", max_length=2000)
    category_id: int | None = Field(default=None, foreign_key="category.id")
    consent_id: int | None = Field(default=None, foreign_key="consentrecord.id")
    agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    assignment_reason: str = Field(default="", max_length=200)
    last_seq: int = 0
    created_at: datetime = Field(default_factory=utcnow, index=True)
    assigned_at: datetime | None = None
    agent_opened_at: datetime | None = None
    first_agent_reply_at: datetime | None = None
    customer_ended_at: datetime | None = None
    agent_ended_at: datetime | None = None
    last_message_at: datetime | None = None
    # Set when the agent presses 평가: the customer is shown the satisfaction guide and rating form.
    rating_requested_at: datetime | None = None
    # When the chat left the queue for having waited longer than 대기 시간 제한 (the customer was
    # offered the 1:1 문의; it ended then, never assigned).
    queue_timeout_at: datetime | None = None
    rating_requested_by: int | None = Field(default=None, foreign_key="agent.id")
    # 평가 requests sent and ratings given: a customer rates once, plus once per request.
    rating_requests: int = 0
    ratings_given: int = 0
    # The latest rating's score (the one that counts), for 채팅 기록's column and 평가 condition.
    rating_score: int | None = None
    # The customer's messages in the current second (OC_LIMIT_MESSAGES_PER_SECOND), counted by
    # the statement that stores the message.
    burst_started_at: datetime | None = None
    burst_count: int = 0
    # Past its retention (services.privacy): the messages and the customer's details are gone,
    # the times and counts stay (통계, 채팅 기록's totals).
    purged_at: datetime | None = None


class Message(SQLModel, table=True):
    """A stored chat line. seq orders a chat; client_msg_id makes resends idempotent."""

    __table_args__ = (
        sa.UniqueConstraint("chat_id", "seq", name="uq_message_chat_seq"),
        sa.UniqueConstraint("chat_id", "client_msg_id", name="uq_message_chat_client_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(foreign_key="chat.id", index=True)
    seq: int
    author: str = Field(max_length=16)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    text: str = Field(max_length=4000)
    client_msg_id: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Rating(SQLModel, table=True):
    """A customer's satisfaction rating of a chat (the latest one counts)."""

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(foreign_key="chat.id", index=True)
    score: int
    comment: str = Field(default="", max_length=1000)
    # The agent whose 평가 request led to this rating; None when the customer rated on their own.
    requested_by_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = Field(default_factory=utcnow)
