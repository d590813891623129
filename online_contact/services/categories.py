"""Processing types (처리유형): a tree of depth 1–3 (대분류 › 중분류 › 소분류) shown to agents as a
cascade of selects, managed by admins in 카테고리 관리.

Rules (each refused with a ServiceError that says why, changing nothing):
- names are required, at most 100 characters, and unique among siblings (case-insensitively);
- a node is at depth 1–3: no fourth level, including by moving a node with children;
- a node cannot move under itself or its own descendants;
- a category any chat uses is never deleted (deactivate it: agents no longer see it, the chats
  that use it still show it); an unused one without children may be deleted.
Every change is audited (before → after)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from online_contact.models import Category, Chat
from online_contact.models.category import MAX_DEPTH

from . import audit
from .errors import ServiceError
from .text import clean

MAX_NAME = 100


def _name(name) -> str:
    value = clean(name if isinstance(name, str) else "").strip()
    if not value:
        raise ServiceError("error.category_name_required")
    if len(value) > MAX_NAME:
        raise ServiceError("error.category_name_too_long", max=MAX_NAME)
    return value


def _siblings(session: Session, parent_id: int | None) -> list[Category]:
    return list(session.exec(select(Category).where(Category.parent_id == parent_id).order_by(Category.position, Category.id)))


def _unique_among_siblings(session: Session, parent_id: int | None, name: str, except_id: int | None = None) -> None:
    if any(c.name.casefold() == name.casefold() and c.id != except_id for c in _siblings(session, parent_id)):
        raise ServiceError("error.category_name_taken", name=name)


def _get(session: Session, category_id) -> Category:
    category = session.get(Category, category_id) if isinstance(category_id, int) and category_id > 0 else None
    if category is None:
        raise ServiceError("error.category_not_found")
    return category


def _snapshot(c: Category) -> dict:
    return {"name": c.name, "parent_id": c.parent_id, "position": c.position, "active": c.active}


def _audit(session: Session, actor_id, category: Category, before: dict, after: dict, ip: str) -> None:
    if actor_id is not None:
        audit.record_change(session, audit.CATEGORY_CHANGED, actor_id=actor_id, target_type="category",
                            target_id=category.id, before=before, after=after, ip=ip)


def add_category(session: Session, name: str, parent_id: int | None = None, actor_id: int | None = None, ip: str = "") -> Category:
    """Append a category under `parent_id` (None for the top level). Commits when an admin adds it."""
    name = _name(name)
    depth = 1
    if parent_id is not None:
        depth = _get(session, parent_id).depth + 1
    if depth > MAX_DEPTH:
        raise ServiceError("error.category_too_deep", max=MAX_DEPTH)
    _unique_among_siblings(session, parent_id, name)
    siblings = _siblings(session, parent_id)
    cat = Category(name=name, parent_id=parent_id, depth=depth, position=(siblings[-1].position + 1) if siblings else 0)
    session.add(cat)
    session.flush()
    if actor_id is not None:
        session.commit()
        _audit(session, actor_id, cat, {}, _snapshot(cat), ip)
    return cat


def rename(session: Session, actor_id: int, category_id: int, name: str, ip: str = "") -> Category:
    cat = _get(session, category_id)
    name = _name(name)
    _unique_among_siblings(session, cat.parent_id, name, except_id=cat.id)
    before = _snapshot(cat)
    cat.name = name
    session.add(cat)
    session.commit()
    _audit(session, actor_id, cat, before, _snapshot(cat), ip)
    return cat


def move(session: Session, actor_id: int, category_id: int, direction: str, ip: str = "") -> Category:
    """Up or down one place among its siblings."""
    cat = _get(session, category_id)
    if direction not in ("up", "down"):
        raise ServiceError("error.value_invalid")
    siblings = _siblings(session, cat.parent_id)
    i = next(n for n, c in enumerate(siblings) if c.id == cat.id)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(siblings):
        return cat  # already first / last
    before = _snapshot(cat)
    siblings[i], siblings[j] = siblings[j], siblings[i]
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            sibling.position = position
            session.add(sibling)
    session.commit()
    _audit(session, actor_id, cat, before, _snapshot(cat), ip)
    return cat


def _descendants(session: Session, category_id: int) -> list[Category]:
    """Everything under a category (a cycle, were one ever stored, ends the walk)."""
    found, todo, seen = [], [category_id], {category_id}
    while todo:
        children = [c for c in session.exec(select(Category).where(Category.parent_id == todo.pop())) if c.id not in seen]
        seen.update(c.id for c in children)
        found += children
        todo += [c.id for c in children]
    return found


def _ancestors(session: Session, category: Category) -> list[int]:
    """The ids above a category, nearest first (bounded: a tree is at most MAX_DEPTH deep)."""
    ids, current = [], category
    while current.parent_id is not None and len(ids) <= MAX_DEPTH:
        ids.append(current.parent_id)
        current = session.get(Category, current.parent_id)
        if current is None:
            break
    return ids


def reparent(session: Session, actor_id: int, category_id: int, parent_id: int | None, ip: str = "") -> Category:
    """Move a category (with its children) under another one, or to the top level."""
    # Locked until the commit (PostgreSQL): two admins moving A under B and B under A at the same
    # moment cannot make a cycle (the second sees the first's move; SQLite has one writer).
    cat = session.exec(select(Category).where(Category.id == category_id).with_for_update()).first() if isinstance(
        category_id, int) else None
    if cat is None:
        raise ServiceError("error.category_not_found")
    subtree = _descendants(session, cat.id)
    new_depth = 1
    if parent_id is not None:
        parent = session.exec(select(Category).where(Category.id == parent_id).with_for_update()).first() if isinstance(
            parent_id, int) else None
        if parent is None:
            raise ServiceError("error.category_not_found")
        if parent.id == cat.id or parent.id in {c.id for c in subtree} or cat.id in _ancestors(session, parent):
            raise ServiceError("error.category_under_itself")
        new_depth = parent.depth + 1
    height = max((c.depth for c in subtree), default=cat.depth) - cat.depth
    if new_depth + height > MAX_DEPTH:
        raise ServiceError("error.category_too_deep", max=MAX_DEPTH)
    if parent_id == cat.parent_id:
        return cat
    _unique_among_siblings(session, parent_id, cat.name)
    before = _snapshot(cat)
    shift = new_depth - cat.depth
    siblings = _siblings(session, parent_id)
    cat.parent_id, cat.depth = parent_id, new_depth
    cat.position = (siblings[-1].position + 1) if siblings else 0
    session.add(cat)
    for child in subtree:
        child.depth += shift
        session.add(child)
    session.commit()
    _audit(session, actor_id, cat, before, _snapshot(cat), ip)
    return cat


def set_active(session: Session, actor_id: int, category_id: int, active: bool, ip: str = "") -> Category:
    """비활성화 / 활성화: an inactive category (and what is under it) is no longer offered to agents."""
    cat = _get(session, category_id)
    if not isinstance(active, bool):
        raise ServiceError("error.value_invalid")
    before = _snapshot(cat)
    cat.active = active
    session.add(cat)
    session.commit()
    _audit(session, actor_id, cat, before, _snapshot(cat), ip)
    return cat


def usage(session: Session) -> dict[int, int]:
    """How many chats use each category (directly)."""
    rows = session.exec(select(Chat.category_id, func.count()).where(Chat.category_id.is_not(None)).group_by(Chat.category_id))
    return {category_id: n for category_id, n in rows}


def delete(session: Session, actor_id: int, category_id: int, ip: str = "") -> None:
    """Delete an unused category without children (a used one is deactivated instead)."""
    cat = _get(session, category_id)
    if _descendants(session, cat.id):
        raise ServiceError("error.category_has_children")
    if usage(session).get(cat.id):
        raise ServiceError("error.category_in_use")
    before = _snapshot(cat)
    session.delete(cat)
    session.commit()
    _audit(session, actor_id, cat, before, {"deleted": True}, ip)


def admin_tree(session: Session, with_usage: bool = True) -> list[dict]:
    """Every category, active or not, in tree order (parents before their children), with its
    path and how many chats use it: what 카테고리 관리 shows."""
    rows = list(session.exec(select(Category).order_by(Category.depth, Category.position, Category.id)))
    used = usage(session) if with_usage else {}
    children: dict[int | None, list[Category]] = {}
    for c in rows:
        children.setdefault(c.parent_id, []).append(c)
    ordered: list[dict] = []

    def walk(parent_id, path, parent_active):
        kids = children.get(parent_id, [])
        for n, c in enumerate(kids):
            label = [*path, c.name]
            ordered.append({
                "id": c.id, "name": c.name, "parent_id": c.parent_id, "depth": c.depth, "active": c.active,
                "offered": c.active and parent_active, "used": used.get(c.id, 0), "path": " › ".join(label),
                "first": n == 0, "last": n == len(kids) - 1,
            })
            walk(c.id, label, c.active and parent_active)

    walk(None, [], True)
    return ordered


def active_tree(session: Session) -> list[dict]:
    """Every active category as {id, name, parent_id, depth}, ordered by position (what agents
    are offered: a child of a deactivated parent is not offered either)."""
    return [
        {"id": c["id"], "name": c["name"], "parent_id": c["parent_id"], "depth": c["depth"]}
        for c in admin_tree(session)
        if c["offered"]
    ]


def selectable(session: Session, category: Category) -> bool:
    """Whether agents may choose `category` now (it and every ancestor active)."""
    current, steps = category, 0
    while current is not None and steps <= MAX_DEPTH:
        if not current.active:
            return False
        current = session.get(Category, current.parent_id) if current.parent_id else None
        steps += 1
    return True


def subtree_ids(session: Session, category_id: int) -> list[int]:
    """The category and everything under it (a 대분류 condition includes its children), from one
    read of the (small) tree."""
    children: dict[int, list[int]] = {}
    for cat_id, parent_id in session.exec(select(Category.id, Category.parent_id)):
        children.setdefault(parent_id, []).append(cat_id)
    found, todo, seen = [category_id], [category_id], {category_id}
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in seen:  # a cycle, were one ever stored, ends the walk
                seen.add(child)
                found.append(child)
                todo.append(child)
    return found


def paths(session: Session) -> dict[int, str]:
    """Every category's path ('주문 › 배송 › 배송지연') by id, in one query (lists and exports)."""
    return {c["id"]: c["path"] for c in admin_tree(session, with_usage=False)}


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
