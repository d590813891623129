"""Pages register here with their route, title, role and loader, in one place:

    @page(route=routes.AGENT, title="상담원", role=ROLE_AGENT, on_load=AgentConsoleState.load_console)
    def agent_home() -> rx.Component: ...

A page with a role shows its content only to a login with that role (the rest see a spinner while
the loader redirects them), and its loader must be guarded for that role (states.guard): the
check that matters is the server's, in the loader and in every handler the page calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import reflex as rx

from online_contact.states.guard import required_role, role_allows


@dataclass(frozen=True)
class Page:
    route: str
    title: str
    role: str | None
    on_load: object
    component: Callable[[], rx.Component]


PAGES: list[Page] = []


def _role_cond(role: str):
    from online_contact.states.auth import AuthState

    allowed = [r for r in ("agent", "admin") if role_allows(role, r)]
    cond = AuthState.agent_role == allowed[0]
    for r in allowed[1:]:
        cond = cond | (AuthState.agent_role == r)
    return cond


def page(route: str, title: str, role: str | None = None, on_load=None):
    """Register a page (see the module docstring)."""

    def register(component: Callable[[], rx.Component]):
        if role is not None and (on_load is None or required_role(on_load) is None or not role_allows(required_role(on_load), role)):
            raise ValueError(f"page {route}: its loader must be guarded with require_role({role!r})")
        if any(p.route == route for p in PAGES):
            raise ValueError(f"page {route} registered twice")
        PAGES.append(Page(route=route, title=title, role=role, on_load=on_load, component=component))
        return component

    return register


def _view(p: Page) -> Callable[[], rx.Component]:
    if p.role is None:
        return p.component

    def guarded() -> rx.Component:
        return rx.cond(_role_cond(p.role), p.component(), rx.center(rx.spinner(), height="100vh"))

    guarded.__name__ = p.component.__name__
    return guarded


def add_pages(app: rx.App) -> None:
    """Add every registered page to the app; each first takes the language its URL asks for
    (LangState.follow_page), then runs its own loader."""
    from online_contact.states.lang import LangState

    for p in PAGES:
        on_load = [LangState.follow_page, p.on_load] if p.on_load is not None else LangState.follow_page
        app.add_page(_view(p), route=p.route, title=p.title, on_load=on_load)
