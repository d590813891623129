"""Processing types (처리유형): a tree of depth 1 to 3."""

from sqlmodel import Field, SQLModel

MAX_DEPTH = 3


class Category(SQLModel, table=True):
    """A node of the processing-type tree. Never hard-deleted once used: deactivate instead."""

    id: int | None = Field(default=None, primary_key=True)
    parent_id: int | None = Field(default=None, foreign_key="category.id", index=True)
    name: str = Field(max_length=100)
    depth: int = 1
    position: int = 0
    active: bool = True
