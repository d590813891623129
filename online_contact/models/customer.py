"""Customers and their consent to personal data collection."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from ._base import utcnow


class Customer(SQLModel, table=True):
    """A visitor who chats or sends an inquiry. visitor_key lives in the browser's localStorage."""

    id: int | None = Field(default=None, primary_key=True)
    visitor_key: str | None = Field(default=None, index=True, unique=True, max_length=64)
    name: str = Field(default="", max_length=100)
    # Indexed: a 1:1 inquiry finds its customer by email (services.tickets.inquirer).
    email: str = Field(default="", max_length=254, index=True)
    memo: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)
    # 고객 정보 삭제 (or the retention job): the personal data is gone; the chats stay for the counts.
    erased_at: datetime | None = None


class ConsentRecord(SQLModel, table=True):
    """Proof that a customer agreed to the 개인정보 수집 동의 text of a given version."""

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    version: str = Field(max_length=32)
    language: str = Field(default="ko", max_length=8)
    ip: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, index=True)
