"""Sending a changed room or desk to the other tabs linked to it.

Reflex 0.10.1's SharedState reaches each other linked tab with a full ``app.modify_state`` of
that tab: its lock, its state tree, the lock and patching of every shared state the tab is
linked to, and a delta resolved over the whole tree (router data included) -- and it does so
after every event of any linked tab, whether a shared state changed or not
(``_modify_linked_states`` counts every linked SharedState as affected, because
``_previous_dirty_vars`` is never None for them). An agent typing a memo thus touched the
customer's tab on every keystroke, and a chat message cost the other side a whole tree.

Here, for the shared states of this app:
- nothing is sent when no shared field changed;
- a changed room (or desk) is read once, under its own lock, and its changed fields (and the
  computed vars that depend on them) go as one small delta to every connected linked tab. The
  emits happen while the lock is held, so a tab never receives an older value after a newer
  one. The tab that made the change gets it in its own event's delta.

No tab's own state holds a copy of a shared state (the link makes every tab read the room's one
instance), so sending the delta is all a linked tab needs. ``install()`` puts this in place of
Reflex's per-tab fan-out; shared states of other classes keep Reflex's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import reflex as rx
from reflex.istate import shared as reflex_shared
from reflex.state import BaseState, StateUpdate
from reflex_base.constants.state import FIELD_MARKER
from reflex_base.registry import RegistrationContext

logger = logging.getLogger(__name__)

_TASKS: set[asyncio.Task] = set()
# The shared state classes whose changes this module sends (ChatRoom, AgentDesk).
_HANDLED: dict[str, type[BaseState]] = {}


@dataclass(frozen=True)
class _LinkScope:
    """What the fan-out needs to know about the event that changed a linked state."""

    links: dict[str, str]  # shared state full name -> shared token, for the tab's links
    token: str  # the tab's own token, or the shared token when it is modified directly
    # Shared states linked when the event began, by full name -> whether another tab is linked
    # to them (read under their locks, which the event holds).
    others_linked: dict[str, bool] = field(default_factory=dict)


_SCOPE: contextvars.ContextVar[_LinkScope | None] = contextvars.ContextVar("oc_link_scope", default=None)


def _app():
    return RegistrationContext.get().app


def changed_fields(state: BaseState, names: Iterable[str]) -> dict:
    """The delta entries of `state` for the vars `names` and the computed vars depending on them."""
    own = state.get_full_name()
    wanted = set(names)
    for name in list(wanted):
        wanted.update(cvar for owner, cvar in state._var_dependencies.get(name, ()) if owner == own)
    fields = {}
    for name in wanted:
        cvar = state.computed_vars.get(name)
        if cvar is not None:
            cvar.mark_dirty(instance=state)  # computed fresh, never from a stale cache
            fields[name + FIELD_MARKER] = getattr(state, name)
        elif name in state.get_fields() and not name.startswith("_"):
            fields[name + FIELD_MARKER] = state.get_value(name)
    return fields


async def send_to_linked(shared: BaseState, names: Iterable[str], exclude: str = "") -> int:
    """Emit the changed fields of a shared state to every connected tab linked to it, except
    `exclude`. Call it with the shared state's lock held. Returns the number of tabs reached."""
    receivers = [t for t in getattr(shared, "_linked_from", ()) if t and t != exclude]
    if not receivers:
        return 0
    fields = changed_fields(shared, names)
    if not fields:
        return 0
    app = _app()
    namespace = app.event_namespace
    update = StateUpdate(delta={shared.get_full_name(): fields})
    sent = 0
    for token in receivers:
        if await namespace._token_manager.is_token_connected(token):
            await namespace.emit_update(update=update, token=token)
            sent += 1
    return sent


async def modify_shared(token: str, cls: type[BaseState], change: Callable[[BaseState], None]) -> None:
    """Change a shared state by its own token and send what changed to its linked tabs, all
    under the shared state's lock (one lock, whatever the number of tabs)."""
    app = _app()
    async with app.state_manager.modify_state(rx.BaseStateToken(ident=token, cls=cls)) as root:
        shared = await root.get_state(cls)
        change(shared)
        dirty = set(shared.dirty_vars)
        root._clean()
        if dirty:
            await send_to_linked(shared, dirty)


async def _send_after_event(token: str, cls: type[BaseState], names: set[str], exclude: str) -> None:
    app = _app()
    async with app.state_manager.modify_state(rx.BaseStateToken(ident=token, cls=cls)) as root:
        await send_to_linked(await root.get_state(cls), names, exclude=exclude)


def spawn(coro) -> asyncio.Task:
    """Run a fan-out in its own task (never inline in the event holding the locks it needs)."""
    task = asyncio.get_running_loop().create_task(coro)
    _TASKS.add(task)

    def _done(t: asyncio.Task) -> None:
        _TASKS.discard(t)
        if not t.cancelled() and t.exception() is not None:
            logger.warning("realtime fan-out failed: %r", t.exception())

    task.add_done_callback(_done)
    return task


def _do_update_other_tokens(affected_tokens, previous_dirty_vars, state_type):
    """Replaces Reflex's per-tab fan-out, called once an event that touched linked states ends."""
    scope = _SCOPE.get()
    tasks: list[asyncio.Task] = []
    others: dict[str, set[str]] = {}
    for name, dirty in previous_dirty_vars.items():
        if not dirty:
            continue  # linked but unchanged: nobody needs anything
        cls = _HANDLED.get(name)
        shared_token = (scope.links.get(name) or scope.token) if scope is not None else ""
        if cls is None or not shared_token:
            others[name] = dirty
            continue
        if not scope.others_linked.get(name, True):
            continue  # only the tab that changed it is linked: it has the change already
        exclude = scope.token if name in scope.links else ""
        tasks.append(spawn(_send_after_event(shared_token, cls, set(dirty), exclude)))
    if others:
        tasks += _REFLEX_FAN_OUT(affected_tokens, others, state_type)
    return tasks


_REFLEX_FAN_OUT = reflex_shared._do_update_other_tokens
_REFLEX_MODIFY_LINKED = reflex_shared.SharedStateBaseInternal._modify_linked_states


@contextlib.asynccontextmanager
async def _modify_linked_states(self, previous_dirty_vars=None):
    """Reflex's own, with the tab's links and token kept for the fan-out above.

    A shared state's `_previous_dirty_vars` is reset only when the state is cleaned, that is
    when it changed: left alone it would still hold the last change at the next event of any
    linked tab, and that change would be sent again. It is emptied here, once the event holds
    the links, so that it names only what this event changes.
    """
    root = self._get_root_state()
    scope = _LinkScope(links=root._reflex_internal_links or {}, token=root.rx_router_session.client_token)
    reset = _SCOPE.set(scope)
    try:
        async with _REFLEX_MODIFY_LINKED(self, previous_dirty_vars):
            for linked in self._held_locks_linked_states():
                name = linked.get_full_name()
                if name in _HANDLED and linked._previous_dirty_vars is not None:
                    linked._previous_dirty_vars.clear()
                    scope.others_linked[name] = any(t and t != scope.token for t in linked._linked_from)
            yield
    finally:
        _SCOPE.reset(reset)


def install(*classes: type[BaseState]) -> None:
    """Send changes of these shared state classes with this module instead of Reflex's fan-out."""
    for cls in classes:
        _HANDLED[cls.get_full_name()] = cls
    reflex_shared._do_update_other_tokens = _do_update_other_tokens
    reflex_shared.SharedStateBaseInternal._modify_linked_states = _modify_linked_states
