"""Login state for agents and admins (the reflex-local-auth pattern)."""

from __future__ import annotations

import asyncio

import reflex as rx
from sqlmodel import Session

from online_contact import routes
from online_contact.models import Agent
from online_contact.models.agent import STATUS_OFFLINE
from online_contact.services import agents as agent_service
from online_contact.services import auth as auth_service
from online_contact.services.db import session_scope
from online_contact.services.errors import ServiceError

from .lang import tr, tr_error


class AuthState(rx.State):
    """Who is logged in on this browser. Every privileged handler calls `_agent` again."""

    auth_token: str = rx.LocalStorage("", name="oc_auth", sync=True)
    agent_id: int = 0
    agent_name: str = ""
    agent_role: str = ""

    def _agent(self, session: Session) -> Agent | None:
        """The logged-in agent, re-checked against the database (sessions expire)."""
        agent = auth_service.agent_for_token(session, self.auth_token) if self.auth_token else None
        if agent is None:
            self.agent_id, self.agent_name, self.agent_role = 0, "", ""
            return None
        self.agent_id, self.agent_name, self.agent_role = agent.id, agent.name, agent.role
        return agent

    async def _drop_links(self) -> list:
        """Stop this tab from receiving the agent's desk and chat (e.g. on a shared computer)."""
        from online_contact.realtime import AgentDesk, ChatRoom
        from online_contact.realtime.reflex_internals import unlink

        return await unlink(self, (AgentDesk, ChatRoom))

    @rx.event
    async def logout(self):
        """End the session on the server and in the browser."""
        with session_scope() as session:
            agent = self._agent(session)
            if agent is not None:
                # Nobody should be routed chats after leaving.
                agent_service.set_status(session, agent, STATUS_OFFLINE)
                auth_service.end_session(session, self.auth_token)
        self.auth_token = ""
        self.agent_id, self.agent_name, self.agent_role = 0, "", ""
        return [*(await self._drop_links()), rx.redirect(routes.LOGIN)]


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
    async def submit(self, form_data: dict):
        """Check the password and start a session."""
        email = str(form_data.get("email", ""))
        password = str(form_data.get("password", ""))

        def check() -> tuple[Agent, str]:
            with session_scope() as session:
                agent = auth_service.authenticate(session, email, password)
                return agent, auth_service.start_session(session, agent)

        try:
            # bcrypt takes ~0.2 s: off the event loop, so other tabs are not held up.
            agent, token = await asyncio.to_thread(check)
            self.agent_id, self.agent_name, self.agent_role = agent.id, agent.name, agent.role
        except ServiceError as exc:
            self.error = await tr_error(self, exc)
            return
        self.error = ""
        self.auth_token = token
        return rx.redirect(routes.AGENT)

    @rx.event
    async def expired(self):
        self.error = await tr(self, "session_expired")
