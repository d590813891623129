"""설정 › 카테고리 관리: the 처리유형 tree. Each change is saved at once (with a dialog's 저장 for
names) and reaches the agents' open cascades without a reload."""

from __future__ import annotations

import reflex as rx

from online_contact.models.agent import ROLE_ADMIN
from online_contact.models.category import MAX_DEPTH
from online_contact.services import categories as category_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError
from online_contact.services.text import as_text, parse_id

from .auth import AuthState
from .guard import require_role
from .lang import tr, tr_error


class CategoryAdminState(AuthState):
    nodes: list[dict] = []
    notice: str = ""
    error: str = ""
    # The dialog: add (under parent_id, '' = top level), rename or move (node_id).
    dialog: str = ""
    dialog_node: int = 0
    dialog_parent: str = ""
    dialog_name: str = ""
    dialog_error: str = ""

    def _forget_screen(self) -> None:
        self.nodes, self.dialog, self.notice, self.error = [], "", "", ""

    @rx.var
    def parents(self) -> list[dict]:
        """Where a node may be put: the top level and every category above the last level."""
        return [{"id": str(n["id"]), "path": n["path"]} for n in self.nodes if n["depth"] < MAX_DEPTH]

    def _reload(self, session) -> None:
        self.nodes = category_service.admin_tree(session)

    def _changed(self, session) -> None:
        """After a change: the admin's tree again."""
        self._reload(session)

    async def _done(self, key: str) -> None:
        """Confirm, and tell every agent's page: their cascades read the categories again."""
        from online_contact.realtime.wire import AGENTS_ROOM, WIRE

        self.error, self.notice = "", await tr(self, key)
        await WIRE.announce("categories", {"changed": True}, AGENTS_ROOM)

    @rx.event
    @require_role(ROLE_ADMIN)
    def load_categories(self):
        """on_load of /settings/categories."""
        with session_scope() as session:
            self._reload(session)
        self.notice = self.error = ""
        self.dialog = ""

    # ---- the dialog ----------------------------------------------------------------------
    @rx.event
    @require_role(ROLE_ADMIN)
    def open_add(self, parent_id: int = 0):
        self.dialog, self.dialog_parent, self.dialog_node = "add", str(parse_id(parent_id) or ""), 0
        self.dialog_name = self.dialog_error = ""

    @rx.event
    @require_role(ROLE_ADMIN)
    def open_rename(self, node_id: int = 0):
        node = next((n for n in self.nodes if n["id"] == parse_id(node_id)), None)
        if node is None:
            return
        self.dialog, self.dialog_node, self.dialog_name, self.dialog_error = "rename", node["id"], node["name"], ""

    @rx.event
    @require_role(ROLE_ADMIN)
    def open_move(self, node_id: int = 0):
        node = next((n for n in self.nodes if n["id"] == parse_id(node_id)), None)
        if node is None:
            return
        self.dialog, self.dialog_node, self.dialog_error = "move", node["id"], ""
        self.dialog_parent = str(node["parent_id"] or "")

    @rx.event
    @require_role(ROLE_ADMIN)
    async def set_dialog_name(self, value: str = ""):
        text = as_text(value, category_service.MAX_NAME + 1)
        if len(text) > category_service.MAX_NAME:
            self.dialog_error = await tr(self, "error.category_name_too_long", max=category_service.MAX_NAME)
            return
        self.dialog_name, self.dialog_error = text, ""

    @rx.event
    @require_role(ROLE_ADMIN)
    def set_dialog_parent(self, value: str = ""):
        self.dialog_parent = str(parse_id(value) or "")

    @rx.event
    @require_role(ROLE_ADMIN)
    def close_dialog(self):
        self.dialog = ""

    @rx.event
    @require_role(ROLE_ADMIN)
    async def save_dialog(self):
        """저장 of the dialog: add, rename or move."""
        ip = self.router.session.client_ip or ""
        parent = parse_id(self.dialog_parent) or None
        try:
            with session_scope() as session:
                if self.dialog == "add":
                    category_service.add_category(session, self.dialog_name, parent, actor_id=self.agent_id, ip=ip)
                elif self.dialog == "rename":
                    category_service.rename(session, self.agent_id, self.dialog_node, self.dialog_name, ip)
                elif self.dialog == "move":
                    category_service.reparent(session, self.agent_id, self.dialog_node, parent, ip)
                else:
                    return
                self._changed(session)
        except ServiceError as exc:
            self.dialog_error = await tr_error(self, exc)
            return
        self.dialog = ""
        await self._done("category_saved")

    # ---- the row's buttons ---------------------------------------------------------------
    async def _act(self, action, *args, key: str = "category_saved"):
        try:
            with session_scope() as session:
                action(session, self.agent_id, *args, self.router.session.client_ip or "")
                self._changed(session)
        except ServiceError as exc:
            self.notice, self.error = "", await tr_error(self, exc)
            return
        await self._done(key)

    @rx.event
    @require_role(ROLE_ADMIN)
    async def move_up(self, node_id: int = 0):
        await self._act(category_service.move, parse_id(node_id), "up")

    @rx.event
    @require_role(ROLE_ADMIN)
    async def move_down(self, node_id: int = 0):
        await self._act(category_service.move, parse_id(node_id), "down")

    @rx.event
    @require_role(ROLE_ADMIN)
    async def toggle_active(self, node_id: int = 0):
        node = next((n for n in self.nodes if n["id"] == parse_id(node_id)), None)
        if node is not None:
            await self._act(category_service.set_active, node["id"], not node["active"])

    @rx.event
    @require_role(ROLE_ADMIN)
    async def delete(self, node_id: int = 0):
        await self._act(category_service.delete, parse_id(node_id), key="category_deleted")
