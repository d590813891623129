"""Tickets: from a chat (티켓 만들기) or from the 1:1 inquiry form (문의하기)."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from ._base import utcnow

SOURCE_CHAT = "chat"
SOURCE_INQUIRY = "inquiry"

TICKET_OPEN = "open"
TICKET_CLOSED = "closed"


class Ticket(SQLModel, table=True):
    """A follow-up item for the support team."""

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)
    subject: str = Field(max_length=200)
    body: str = Field(default="", max_length=10000)
    status: str = Field(default=TICKET_OPEN, max_length=16)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    chat_id: int | None = Field(default=None, foreign_key="chat.id", index=True)
    requester_name: str = Field(default="", max_length=100)
    requester_email: str = Field(default="", max_length=254)
    created_by_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = Field(default_factory=utcnow, index=True)
    # Past its retention, or its customer's data erased: subject, body and requester are gone.
    erased_at: datetime | None = None
