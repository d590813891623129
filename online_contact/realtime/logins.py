"""A login that ends, ends everywhere at once.

Logout, "모든 기기에서 로그아웃", deactivation and expiry all come here with the logins that ended
(services.auth.EndedLogin). Within a second or two every push to every tab of those logins stops:
- the message path lets their sockets go, on every worker (wire.end_logins, through Redis);
- every tab linked to the agent's desk whose own login is no longer live is signed out: it is
  unlinked from the desk and from the chat room (so neither the rooms' fan-out nor the desk
  reaches it, and presence no longer counts it), its screen is cleared and it is sent to /login.
  A tab of the same agent with another live login (another browser) is left alone.
- expiry and deactivation done elsewhere (another worker, the command line) are found by
  `login_sweep`, which every worker runs every second (services.auth.close_dead_sessions ends
  each login once, whichever worker gets there first).
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from online_contact import routes
from online_contact.models import Agent
from online_contact.models.agent import STATUS_OFFLINE
from online_contact.models.assignment import RELEASE_EXPIRED
from online_contact.services import agents as agent_service
from online_contact.services import auth as auth_service
from online_contact.services import chats as chat_service
from online_contact.services import limits
from online_contact.services.db import session_scope

from . import reflex_internals as internals
from .publish import desk_token, publish_status_change, room_token
from .rooms import AgentDesk, ChatRoom

logger = logging.getLogger(__name__)
SWEEP_SECONDS = 1.0


async def end_everywhere(ended: list[auth_service.EndedLogin], except_tab: str = "") -> None:
    """Stop every push to the tabs and sockets of these logins (see the module docstring).
    `except_tab` is the tab that is signing itself out in its own event (it cannot be modified
    from here while that event holds its lock)."""
    if not ended:
        return
    from .wire import WIRE

    await WIRE.end_logins([e.login_id for e in ended])
    for agent_id in sorted({e.agent_id for e in ended}):
        logins = {e.login_id for e in ended if e.agent_id == agent_id}
        internals.spawn(sign_out_tabs(agent_id, except_tab, logins))


def _let_go(shared, logins_field: str, login_ids: set[int], found: set[str]) -> None:
    """Under the shared state's lock: take the tabs linked under the ended logins off its list."""
    gone = {token for token, login_id in getattr(shared, logins_field).items() if login_id in login_ids}
    # A room also maps its tabs to their agents (publish.chat_moved).
    internals.let_go_of_tabs(shared, gone, logins_field, "_agent_tabs")
    found.update(gone)


async def sign_out_tabs(agent_id: int, except_tab: str = "", login_ids: set[int] | None = None) -> list[str]:
    """Sign out every tab of the agent whose own login is no longer live. Returns them.

    Two sides, so that neither can keep a tab on: the desk and the rooms of the agent's open
    chats let go of the tabs linked under the ended logins (even a tab whose own state expired),
    and every such tab, and every other tab on the desk, is checked in its own state: unlinked,
    cleared, rehydrated and sent to /login when its login is not live."""
    from online_contact.states.auth import AuthState

    login_ids = login_ids or set()
    found: set[str] = set()
    await internals.modify_shared(
        desk_token(agent_id), AgentDesk, lambda desk: (found.update(internals.linked_tabs(desk)), _let_go(desk, "_tab_logins", login_ids, found))
    )
    if login_ids:
        with session_scope() as session:
            open_chats = [c.id for c in chat_service.chats_of_agent(session, agent_id)]
        for chat_id in open_chats:
            await internals.modify_shared(room_token(chat_id), ChatRoom, lambda room: _let_go(room, "_agent_logins", login_ids, found))
    signed_out = []
    for tab in sorted(found - {except_tab}):
        try:
            async with internals.app().modify_state(rx.BaseStateToken(ident=tab, cls=AuthState)) as root:
                auth = await root.get_state(AuthState)
                with session_scope() as session:
                    still = auth_service.agent_for_token(session, auth.auth_token)
                if still is not None and still.id == agent_id:
                    continue
                events = await auth._sign_out_here()
            signed_out.append(tab)
            await internals.send_events(tab, [*events, rx.redirect(routes.LOGIN)])
        except Exception:  # noqa: BLE001 - one tab's failure must not keep the others signed in
            logger.exception("signing out a tab of agent %s failed", agent_id)
    return signed_out


def _hand_back_if_gone(agent_ids: set[int]) -> list:
    """Agents whose last login expired go Offline; their unopened chats go to someone else."""
    changes = []
    with session_scope() as session:
        for agent_id in sorted(agent_ids):
            agent = session.get(Agent, agent_id)
            if agent is None or auth_service.has_live_login(session, agent_id) or agent.status == STATUS_OFFLINE:
                continue
            changes.append(agent_service.leave_online(session, agent, STATUS_OFFLINE, RELEASE_EXPIRED))
    return changes


async def sweep_once() -> list[auth_service.EndedLogin]:
    """End the logins that expired or whose agent was deactivated, everywhere."""
    with session_scope() as session:
        ended = auth_service.close_dead_sessions(session)
    if ended:
        logger.info("%d login(s) expired or deactivated: signing their tabs out", len(ended))
        await end_everywhere(ended)
        for change in _hand_back_if_gone({e.agent_id for e in ended}):
            publish_status_change(change)
    return ended


PRUNE_EVERY = 600  # sweeps (about ten minutes): the throttles' expired database counters go


async def login_sweep() -> None:
    """Lifespan task of every worker (it also prunes the throttles' expired counters)."""
    passes = 0
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        passes += 1
        try:
            await sweep_once()
            if passes % PRUNE_EVERY == 0:
                limits.prune()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - keep sweeping; say why
            logger.exception("login sweep failed")
