"""설정 › 상담원 관리: the agents and admins; add, edit, 비밀번호 초기화, 비활성화 / 활성화."""

from __future__ import annotations

import reflex as rx

from online_contact.config import local_time
from online_contact.models.agent import ROLE_ADMIN
from online_contact.services import accounts
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError
from online_contact.services.text import LIMITS, parse_id

from .admin_form import AdminFormMixin
from .auth import AuthState
from .guard import require_role
from .lang import tr, tr_error

# Which form field a service error belongs next to.
_ERROR_FIELD = {
    "error.email_invalid": "email", "error.email_taken": "email", "error.email_too_long": "email",
    "error.name_required": "name", "error.name_too_long": "name",
    "error.password_short": "password", "error.password_long": "password", "error.password_is_email": "password",
    "error.role_invalid": "role", "error.limit_invalid": "max_open_chats",
    "error.cannot_demote_self": "role", "error.last_admin": "role",
}


class AgentAdminState(AdminFormMixin, AuthState):
    """The list, and one dialog: 상담원 추가 (editing = 0) or editing one account."""

    accounts: list[dict] = []
    editing: int = -1  # -1: no dialog; 0: 상담원 추가; an id: that account
    error: str = ""
    # A generated password, shown once (after 상담원 추가 without one, or 비밀번호 초기화).
    shown_password: str = ""
    shown_password_for: str = ""
    # An action asked for and waiting for 확인: "reset" or "deactivate", of account confirm_id.
    confirm: str = ""
    confirm_id: int = 0

    def _forget_screen(self) -> None:
        super()._forget_screen()
        self.accounts, self.editing, self.error = [], -1, ""
        self.shown_password = self.shown_password_for = ""
        self.confirm, self.confirm_id = "", 0

    def _fields(self) -> dict[str, int]:
        return {"name": LIMITS["name"], "email": LIMITS["email"], "role": 8, "password": 128, "can_chat": 1, "max_open_chats": 4}

    def _reload(self, session) -> None:
        self.accounts = [
            {**a, "max_open_chats": "" if a["max_open_chats"] is None else str(a["max_open_chats"]),
             "last_login_at": local_time(a["last_login_at"], "%Y-%m-%d %H:%M") if a["last_login_at"] else ""}
            for a in accounts.list_accounts(session)
        ]

    @rx.event
    @require_role(ROLE_ADMIN)
    def load_agents(self):
        """on_load of /settings/agents."""
        with session_scope() as session:
            self._reload(session)
        self.editing, self.notice, self.error = -1, "", ""
        self.shown_password = self.shown_password_for = ""
        self.confirm, self.confirm_id = "", 0

    @rx.event
    @require_role(ROLE_ADMIN)
    def open_new(self):
        self.editing = 0
        self._fill({"name": "", "email": "", "role": "agent", "password": "", "can_chat": "1", "max_open_chats": ""})

    @rx.event
    @require_role(ROLE_ADMIN)
    def open_edit(self, agent_id: int = 0):
        row = next((a for a in self.accounts if a["id"] == parse_id(agent_id)), None)
        if row is None:
            return
        self.editing = row["id"]
        self._fill({"name": row["name"], "email": row["email"], "role": row["role"], "password": "",
                    "can_chat": "1" if row["can_chat"] else "0", "max_open_chats": row["max_open_chats"]})

    @rx.event
    @require_role(ROLE_ADMIN)
    def close_dialog(self):
        self.editing = -1

    @rx.event
    @require_role(ROLE_ADMIN)
    def close_password(self):
        self.shown_password = self.shown_password_for = ""

    async def _refused(self, exc: ServiceError) -> None:
        field = _ERROR_FIELD.get(exc.code, "form")
        self.errors = {field: await tr_error(self, exc)}
        self.notice = ""

    @rx.event
    @require_role(ROLE_ADMIN)
    async def save(self):
        """저장 of the dialog: 상담원 추가, or the edits of one account."""
        form, ip = self.form, self.router.session.client_ip or ""
        created = change = None
        try:
            with session_scope() as session:
                if self.editing == 0:
                    created = accounts.create_account(
                        session, self.agent_id, name=form.get("name", ""), email=form.get("email", ""),
                        role=form.get("role", ""), password=form.get("password", ""), ip=ip,
                    )
                elif self.editing > 0:
                    change = accounts.update_account(
                        session, self.agent_id, self.editing, name=form.get("name", ""), role=form.get("role", ""),
                        can_chat=form.get("can_chat") == "1", max_open_chats=form.get("max_open_chats", ""), ip=ip,
                    )
                else:
                    return
                self._reload(session)
        except ServiceError as exc:
            await self._refused(exc)
            return
        if created is not None and created.password:
            self.shown_password, self.shown_password_for = created.password, form.get("email", "").strip().lower()
        self.editing = -1
        self._fill({})  # a typed password is not kept in the tab
        self.notice = await tr(self, "account_saved")
        if change is not None:
            from online_contact.realtime.publish import publish_status_change

            publish_status_change(change)

    @rx.event
    @require_role(ROLE_ADMIN)
    def ask(self, action: str = "", agent_id: int = 0):
        """비밀번호 초기화 and 비활성화 ask first (확인 / 취소)."""
        if action in ("reset", "deactivate") and any(a["id"] == parse_id(agent_id) for a in self.accounts):
            self.confirm, self.confirm_id = action, parse_id(agent_id)

    @rx.event
    @require_role(ROLE_ADMIN)
    def cancel_confirm(self):
        self.confirm, self.confirm_id = "", 0

    @rx.event
    @require_role(ROLE_ADMIN)
    async def confirm_yes(self):
        action, agent_id = self.confirm, self.confirm_id
        self.confirm, self.confirm_id = "", 0
        if action == "reset":
            await self._reset_password(agent_id)
        elif action == "deactivate":
            await self._set_active(agent_id, False)

    @rx.event
    @require_role(ROLE_ADMIN)
    async def activate(self, agent_id: int = 0):
        """활성화: the account may log in again (and take chats)."""
        await self._set_active(parse_id(agent_id), True)

    async def _reset_password(self, agent_id: int):
        """비밀번호 초기화: a new password, shown once; the account's logins end everywhere."""
        try:
            with session_scope() as session:
                password, ended = accounts.reset_password(session, self.agent_id, parse_id(agent_id), self.router.session.client_ip or "")
                email = next((a["email"] for a in self.accounts if a["id"] == parse_id(agent_id)), "")
        except ServiceError as exc:
            self.error = await tr_error(self, exc)
            return
        from online_contact.realtime.logins import end_everywhere

        await end_everywhere(ended, except_tab=self.router.session.client_token)
        self.shown_password, self.shown_password_for, self.error = password, email, ""

    async def _set_active(self, agent_id: int, active: bool):
        """비활성화 (their logins end at once, unopened chats go to someone else) / 활성화."""
        try:
            with session_scope() as session:
                change = accounts.set_active(session, self.agent_id, parse_id(agent_id), active, self.router.session.client_ip or "")
                self._reload(session)
        except ServiceError as exc:
            self.error, self.notice = await tr_error(self, exc), ""
            return
        self.error = ""
        self.notice = await tr(self, "account_deactivated" if not active else "account_activated")
        if change is not None:
            from online_contact.realtime.logins import sweep_once
            from online_contact.realtime.publish import publish_status_change

            if not active:
                await sweep_once()
            publish_status_change(change)
