"""Login state for agents and admins (the reflex-local-auth pattern)."""

from __future__ import annotations

import asyncio

import reflex as rx
from sqlmodel import Session

from online_contact import routes
from online_contact.models import Agent
from online_contact.models.agent import STATUS_OFFLINE
from online_contact.models.assignment import RELEASE_LOGOUT
from online_contact.services import agents as agent_service
from online_contact.services import auth as auth_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError
from online_contact.services.text import LIMITS, form_text

from .lang import tr, tr_error


class AuthState(rx.State):
    """Who is logged in on this browser. Every privileged handler checks the login again
    (states.guard.require_role, then `_agent`)."""

    auth_token: str = rx.LocalStorage("", name="oc_auth", sync=True)
    agent_id: int = 0
    agent_name: str = ""
    agent_role: str = ""
    # The login (AuthSession id) this tab is under, set by every check of it.
    _login_id: int = 0

    def _agent(self, session: Session) -> Agent | None:
        """The logged-in agent, re-checked against the database (logins end and expire)."""
        token = self.auth_token if isinstance(self.auth_token, str) else ""
        found = auth_service.login_for_token(session, token) if token else None
        if found is None:
            if token != self.auth_token or len(token) > auth_service.MAX_TOKEN_LENGTH:
                self.auth_token = ""  # not a login (a client can store anything): nothing of it is kept
            self.agent_id, self.agent_name, self.agent_role, self._login_id = 0, "", "", 0
            return None
        login, agent = found
        self.agent_id, self.agent_name, self.agent_role, self._login_id = agent.id, agent.name, agent.role, login.id
        return agent

    async def _drop_links(self) -> list:
        """Stop this tab from receiving the agent's desk and chat (e.g. on a shared computer)."""
        from online_contact.realtime import AgentDesk, ChatRoom
        from online_contact.realtime.reflex_internals import unlink

        return await unlink(self, (AgentDesk, ChatRoom))

    async def _sign_out_here(self) -> list:
        """Forget the login in this tab: no desk, no chat, no customer data on its screens.
        Returns the events that rehydrate the tab."""
        self.auth_token = ""
        self.agent_id, self.agent_name, self.agent_role, self._login_id = 0, "", "", 0
        for cls in type(self).get_substates():
            screen = await self.get_state(cls)
            forget = getattr(screen, "_forget_screen", None)
            if forget is not None:
                forget()
        return await self._drop_links()

    async def _end_logins(self, ended: list[auth_service.EndedLogin], change) -> list:
        from online_contact.realtime.logins import end_everywhere
        from online_contact.realtime.publish import publish_status_change

        events = await self._sign_out_here()
        await end_everywhere(ended, except_tab=self.router.session.client_token)
        if change is not None:
            publish_status_change(change)
        return [*events, rx.redirect(routes.LOGIN)]

    async def _log_out(self, everywhere: bool) -> list:
        change, ended = None, []
        with session_scope() as session:
            agent = self._agent(session)
            if agent is not None:
                if everywhere:
                    ended = auth_service.end_all_sessions(session, agent.id)
                else:
                    ended = auth_service.end_session(session, self.auth_token)
                # Nobody should be routed chats after leaving (still logged in elsewhere: stays).
                if not auth_service.has_live_login(session, agent.id):
                    change = agent_service.leave_online(session, agent, STATUS_OFFLINE, RELEASE_LOGOUT)
        return await self._end_logins(ended, change)

    @rx.event
    async def logout(self):
        """로그아웃: this login ends in every tab at once; unopened chats go to someone else."""
        return await self._log_out(everywhere=False)

    @rx.event
    async def logout_everywhere(self):
        """모든 기기에서 로그아웃: every login of this agent ends, in every browser."""
        return await self._log_out(everywhere=True)


class LoginState(AuthState):
    """The /login form."""

    error: str = ""

    @rx.event
    def load_login(self):
        """Skip the form when already logged in."""
        self.error = ""
        with session_scope() as session:
            if self._agent(session) is not None:
                return rx.redirect(routes.AGENT)

    @rx.event
    async def submit(self, form_data: dict | None = None):
        """Check the password and start a session."""
        email = form_text(form_data, "email", LIMITS["email"] + 1)
        password = form_text(form_data, "password", LIMITS["password"])
        ip = self.router.session.client_ip or ""

        def check() -> tuple[Agent, str]:
            with session_scope() as session:
                agent = auth_service.authenticate(session, email, password, ip=ip)
                return agent, auth_service.start_session(session, agent, ip=ip)

        previous = self.auth_token if isinstance(self.auth_token, str) else ""
        try:
            # bcrypt takes ~0.2 s: off the event loop, so other tabs are not held up.
            agent, token = await asyncio.to_thread(check)
            self.agent_id, self.agent_name, self.agent_role = agent.id, agent.name, agent.role
        except ServiceError as exc:
            self.error = await tr_error(self, exc)
            return
        self.error = ""
        if previous:
            # A new login in this browser replaces the one it had: that one ends, everywhere.
            with session_scope() as session:
                ended = auth_service.end_session(session, previous)
            if ended:
                from online_contact.realtime.logins import end_everywhere

                events = await self._drop_links()
                await end_everywhere(ended, except_tab=self.router.session.client_token)
                self.auth_token = token
                return [*events, rx.redirect(routes.AGENT)]
        self.auth_token = token
        return rx.redirect(routes.AGENT)

    @rx.event
    async def expired(self):
        self.error = await tr(self, "session_expired")
