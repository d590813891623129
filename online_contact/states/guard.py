"""The role guard: one decorator for every privileged handler and every privileged page's loader.

A client can send any event with any arguments, whatever the page shows, so the role is checked
inside the handler, on the server, against the database (a login can have ended a second ago):

    class SettingsState(AuthState):
        @rx.event
        @require_role(ROLE_ADMIN)
        async def save(self, form_data: dict): ...

Refused: nothing runs, the attempt is logged, and the tab is sent to /login (not logged in) or to
/agent (logged in without the role). `pages.registry.page` refuses to register a page with a role
whose loader is not guarded for that role.
"""

from __future__ import annotations

import functools
import inspect
import logging

import reflex as rx

from online_contact import routes
from online_contact.models.agent import ROLE_ADMIN, ROLE_AGENT
from online_contact.services.db import session_scope

logger = logging.getLogger("online_contact.security")

# Admins may do everything agents do (they may also take chats).
_RANK = {ROLE_AGENT: 1, ROLE_ADMIN: 2}


def role_allows(required: str, actual: str | None) -> bool:
    """Whether someone with role `actual` may use what needs `required`."""
    return _RANK.get(actual or "", 0) >= _RANK[required]


def require_role(role: str):
    """Run the handler only for a live login whose role allows `role` (see the module docstring).
    Put it under ``@rx.event``. The wrapped function keeps the handler's signature."""
    if role not in _RANK:
        raise ValueError(f"unknown role {role!r}")

    def decorate(fn):
        async def refusal(self):
            """None when the caller may run the handler, else what to send back instead."""
            from .auth import AuthState

            # Any state of the tab: the login is AuthState's (its own substates have it directly).
            auth = self if hasattr(self, "_agent") else await self.get_state(AuthState)
            with session_scope() as session:
                agent = auth._agent(session)
            if agent is not None and role_allows(role, agent.role):
                return None
            logger.warning(
                "refused %s.%s: needs %s, caller is %s",
                type(self).__name__,
                fn.__name__,
                role,
                f"agent {agent.id} ({agent.role})" if agent else "not logged in",
            )
            if agent is None:
                # A tab whose login ended must not stay linked to a desk or a chat (its next
                # event would put it back on their lists): let go of them here too.
                return [*(await auth._drop_links()), rx.redirect(routes.LOGIN)]
            return rx.redirect(routes.AGENT)

        if inspect.isasyncgenfunction(fn):
            # A handler that yields (sends part of its answer before the rest is ready).
            @functools.wraps(fn)
            async def guarded_steps(self, *args, **kwargs):
                refused = await refusal(self)
                if refused is not None:
                    yield refused
                    return
                async for step in fn(self, *args, **kwargs):
                    yield step

            guarded_steps.required_role = role
            return guarded_steps

        @functools.wraps(fn)
        async def guarded(self, *args, **kwargs):
            from online_contact.realtime.reflex_internals import in_background

            if in_background(self):  # a background handler: the state is read under its lock
                async with self:
                    refused = await refusal(self)
            else:
                refused = await refusal(self)
            if refused is not None:
                return refused
            result = fn(self, *args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        guarded.required_role = role
        return guarded

    return decorate


def required_role(handler) -> str | None:
    """The role an event handler (or its function) is guarded for, or None."""
    fn = getattr(handler, "fn", handler)
    return getattr(fn, "required_role", None)
