"""Processing types (처리유형): a tree of depth 1–3 shown as a cascade of selects."""

from __future__ import annotations

from sqlmodel import Session, select

from online_contact.models import Category
from online_contact.models.category import MAX_DEPTH

from .errors import ServiceError


def add_category(session: Session, name: str, parent_id: int | None = None) -> Category:
    """Append a category under `parent_id` (None for the top level)."""
    name = name.strip()
    if not name:
        raise ServiceError("error.category_name_required")
    depth = 1
    if parent_id is not None:
        parent = session.get(Category, parent_id)
        if parent is None:
            raise ServiceError("error.category_not_found")
        depth = parent.depth + 1
    if depth > MAX_DEPTH:
        raise ServiceError("error.category_too_deep", max=MAX_DEPTH)
    siblings = session.exec(select(Category).where(Category.parent_id == parent_id)).all()
    cat = Category(name=name, parent_id=parent_id, depth=depth, position=len(siblings))
    session.add(cat)
    session.flush()
    return cat


def active_tree(session: Session) -> list[dict]:
    """Every active category as {id, name, parent_id, depth}, ordered by position."""
    rows = session.exec(
        select(Category).where(Category.active).order_by(Category.depth, Category.position, Category.id)
    ).all()
    active_ids = {c.id for c in rows}
    # A child of a deactivated parent is not offered either.
    keep: dict[int, Category] = {}
    for c in rows:
        if c.parent_id is None or (c.parent_id in active_ids and c.parent_id in keep):
            keep[c.id] = c
    return [
        {"id": c.id, "name": c.name, "parent_id": c.parent_id, "depth": c.depth} for c in keep.values()
    ]


def path_ids(session: Session, category_id: int | None) -> list[int]:
    """The ids from the root down to `category_id` (empty for None)."""
    path: list[int] = []
    current = session.get(Category, category_id) if category_id else None
    while current is not None and len(path) <= MAX_DEPTH:
        path.insert(0, current.id)
        current = session.get(Category, current.parent_id) if current.parent_id else None
    return path


def path_label(session: Session, category_id: int | None) -> str:
    """'주문 › 배송 › 배송지연' for a category id."""
    return " › ".join(session.get(Category, i).name for i in path_ids(session, category_id))
