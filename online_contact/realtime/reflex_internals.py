"""Every use of Reflex's private functions and attributes, in one place.

Written for Reflex 0.10.1 and checked when this module is imported: another version stops the
app with a clear error instead of misbehaving quietly (Reflex changes these internals between
releases). ``tests/unit/test_reflex_internals.py`` checks that what is patched here is what
Reflex calls. The page side's counterpart is ``assets/reflex_bridge.js`` (the only file that
imports Reflex's ``$/utils/...`` modules).

What lives here:
- the app and its connections (whether a tab's socket is connected, sending a tab an update);
- links between a tab and a shared state (read, link, unlink, which tabs are linked);
- the fan-out of ChatRoom and AgentDesk, in place of Reflex's own (see below);
- the connection guard: a websocket whose client token is not one a browser makes is refused
  before any state is loaded (shared states' tokens can never be claimed by a tab);
- Reflex's English connection toast, removed (pages show the localized banner);
- python-socketio's room table (which sockets of the message path are in a room).

The fan-out: Reflex 0.10.1's SharedState reaches each other linked tab with a full
``app.modify_state`` of that tab: its lock, its state tree, the lock and patching of every shared
state the tab is linked to, and a delta resolved over the whole tree (router data included) --
and it does so after every event of any linked tab, whether a shared state changed or not
(``_modify_linked_states`` counts every linked SharedState as affected, because
``_previous_dirty_vars`` is never None for them). An agent typing a memo thus touched the
customer's tab on every keystroke, and a chat message cost the other side a whole tree. Here, for
the shared states of this app, nothing is sent when no shared field changed, and a changed room
(or desk) is read once, under its own lock, and its changed fields (and the computed vars that
depend on them) go as one small delta to every connected linked tab. The emits happen while the
lock is held, so a tab never receives an older value after a newer one. The tab that made the
change gets it in its own event's delta.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata

import reflex as rx

WRITTEN_FOR = "0.10.1"


class UnsupportedReflexVersion(RuntimeError):
    """The installed Reflex is not the version whose internals this module uses."""


def check_reflex_version(installed: str | None = None) -> None:
    """Refuse to run on a Reflex other than WRITTEN_FOR (its private API may differ)."""
    installed = installed or metadata.version("reflex")
    if installed != WRITTEN_FOR:
        raise UnsupportedReflexVersion(
            f"online_contact uses Reflex {WRITTEN_FOR}'s internals (online_contact/realtime/"
            f"reflex_internals.py), but Reflex {installed} is installed. Install reflex=={WRITTEN_FOR} "
            "(pyproject.toml pins it), or port that module and assets/reflex_bridge.js to the new version."
        )


check_reflex_version()

# Imported only after the check: on another version these may not exist at all.
from reflex.istate import shared as reflex_shared  # noqa: E402
from reflex.istate.proxy import StateProxy  # noqa: E402
from reflex.state import BaseState, StateUpdate  # noqa: E402
from reflex_base.constants.state import FIELD_MARKER  # noqa: E402
from reflex_base.event import Event  # noqa: E402
from reflex_base.registry import RegistrationContext  # noqa: E402
from socketio.exceptions import ConnectionRefusedError as SocketRefused  # noqa: E402

logger = logging.getLogger(__name__)


# ---- the app and its connections -----------------------------------------------------------


def app():
    """The running Reflex app (without importing the app module: no import cycle)."""
    return RegistrationContext.get().app


async def token_connected(token: str) -> bool:
    """Whether the tab `token` has a live socket, on any worker."""
    return bool(token) and await app().event_namespace._token_manager.is_token_connected(token)


async def send_events(token: str, events) -> None:
    """Send frontend events (e.g. ``rx.redirect``) to one tab outside of its own event."""
    update = StateUpdate(events=Event.from_event_type(events))
    await app().event_namespace.emit_update(update=update, token=token)


# ---- links between a tab and a shared state ------------------------------------------------


def linked_token(state: BaseState, cls: type[BaseState]) -> str | None:
    """The shared token the tab handling this event links `cls` to (read from the tab's links,
    without loading the shared state), or None."""
    links = state._get_root_state()._reflex_internal_links or {}
    return links.get(cls.get_full_name())


async def link(state: BaseState, cls: type[BaseState], token: str):
    """Link the tab's `cls` to the shared `token`; returns the linked instance (mutate that one)."""
    return await (await state.get_state(cls))._link_to(token)


async def unlink(state: BaseState, classes: Iterable[type[BaseState]]) -> list:
    """Unlink the tab from every one of `classes` it is linked to. The tab's next events see its
    own empty copies again and it leaves the shared states' list of tabs. Returns the events
    that rehydrate the tab."""
    events: list = []
    for cls in classes:
        if linked_token(state, cls) is not None:
            events += await (await state.get_state(cls))._unlink()
    return events


def linked_tabs(shared: BaseState) -> set[str]:
    """The tokens of the tabs linked to a shared state (some may be gone: Reflex keeps them)."""
    return {t for t in getattr(shared, "_linked_from", ()) if t}


def forget_tabs(shared: BaseState, tokens: Iterable[str]) -> None:
    """Take tabs off a shared state's list (call it under the shared state's lock): its fan-out
    no longer reaches them, whatever their own state still says (or if it expired). A tab's own
    links are removed by `unlink`, in its own state."""
    for token in tokens:
        shared._linked_from.discard(token)


def let_go_of_tabs(shared: BaseState, gone: set[str], *tab_maps: str) -> None:
    """Under the shared state's lock: take the tabs `gone` off its list (forget_tabs) and out of
    its backend-only maps keyed by tab (`tab_maps`: e.g. a room's tab -> login and tab -> agent)."""
    if not gone:
        return
    forget_tabs(shared, gone)
    for name in tab_maps:
        tagged = getattr(shared, name, None)
        if tagged:
            setattr(shared, name, {t: v for t, v in tagged.items() if t not in gone})


# ---- the fan-out of this app's shared states ----------------------------------------------

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
    receivers = [t for t in linked_tabs(shared) if t != exclude]
    if not receivers:
        return 0
    fields = changed_fields(shared, names)
    if not fields:
        return 0
    namespace = app().event_namespace
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
    async with app().state_manager.modify_state(rx.BaseStateToken(ident=token, cls=cls)) as root:
        shared = await root.get_state(cls)
        change(shared)
        dirty = set(shared.dirty_vars)
        root._clean()
        if dirty:
            await send_to_linked(shared, dirty)


async def read_shared(token: str, cls: type[BaseState], read: Callable[[BaseState], object]):
    """Read a shared state under its lock without changing or sending anything."""
    async with app().state_manager.modify_state(rx.BaseStateToken(ident=token, cls=cls)) as root:
        return read(await root.get_state(cls))


async def _send_after_event(token: str, cls: type[BaseState], names: set[str], exclude: str) -> None:
    async with app().state_manager.modify_state(rx.BaseStateToken(ident=token, cls=cls)) as root:
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
        tasks += REFLEX_FAN_OUT(affected_tokens, others, state_type)
    return tasks


REFLEX_FAN_OUT = reflex_shared._do_update_other_tokens
REFLEX_MODIFY_LINKED = reflex_shared.SharedStateBaseInternal._modify_linked_states


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
        async with REFLEX_MODIFY_LINKED(self, previous_dirty_vars):
            for linked in self._held_locks_linked_states():
                name = linked.get_full_name()
                if name in _HANDLED and linked._previous_dirty_vars is not None:
                    linked._previous_dirty_vars.clear()
                    scope.others_linked[name] = any(t and t != scope.token for t in linked._linked_from)
            yield
    finally:
        _SCOPE.reset(reset)


def install_fanout(*classes: type[BaseState]) -> None:
    """Send changes of these shared state classes with this module instead of Reflex's fan-out."""
    for cls in classes:
        _HANDLED[cls.get_full_name()] = cls
    reflex_shared._do_update_other_tokens = _do_update_other_tokens
    reflex_shared.SharedStateBaseInternal._modify_linked_states = _modify_linked_states


# ---- connections ----------------------------------------------------------------------------

# What Reflex's page makes for a tab (utils/state.js generateUUID: a version-4 UUID whose
# variant digit is 8-f; the token manager's uuid4 for a duplicated tab is 8-b). Shared states'
# tokens ("room-…", "desk-…") never have this shape, so no connection can claim one.
BROWSER_TOKEN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89a-f][0-9a-f]{3}-[0-9a-f]{12}")


def connection_token(environ: dict) -> str:
    """The client token a websocket connection asks for (Reflex reads ``?token=``)."""
    from urllib.parse import parse_qs

    try:
        tokens = parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=20).get("token", [])
    except ValueError:  # more fields than any page sends
        return ""
    return tokens[0] if len(tokens) == 1 else ""


def guard_connections(reflex_app, is_shared_token: Callable[[str], bool]) -> None:
    """Refuse, before anything is loaded, a connection to Reflex's event namespace whose client
    token is not a browser-made UUID or names a shared state (Reflex accepts any token and loads
    or creates the state stored under it)."""
    namespace = reflex_app.event_namespace
    if getattr(namespace, "_oc_guarded", False):
        return
    reflex_on_connect = namespace.on_connect

    async def on_connect(sid: str, environ: dict, auth=None):
        token = connection_token(environ)
        if not BROWSER_TOKEN.fullmatch(token) or is_shared_token(token):
            logger.warning("refused a connection with a client token that no browser makes (%d chars)", len(token))
            raise SocketRefused("invalid_token")
        return await reflex_on_connect(sid, environ, auth)

    namespace.on_connect = on_connect
    namespace._oc_guarded = True
    refuse_reserved_events(reflex_app.sio)


# Names python-socketio gives the connection's own life. A client may send an ordinary EVENT
# packet under any of them, and python-socketio 5.18 hands it to the namespace's on_connect /
# on_disconnect like the real thing, with arguments the client chose: a forged 'connect' on
# Reflex's /_event made Reflex take the connection's client address (and headers) from the
# client's own "environ" — any IP for the login throttles and the per-IP limits —, on /_wire it
# replaced the socket's address, and a forged 'disconnect' reset the socket's allowance of joins.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error"})


def refuse_reserved_events(server) -> None:
    """Drop every client event named like the connection's own events, on every namespace of
    `server` (python-socketio's AsyncServer: its `_handle_event` receives each EVENT and
    BINARY_EVENT packet a client sends, after the socket has connected)."""
    if getattr(server, "_oc_reserved_refused", False):
        return
    handle_event = server._handle_event

    async def _handle_event(eio_sid, namespace, id, data):
        if isinstance(data, list) and data and data[0] in RESERVED_EVENTS:
            logger.warning("refused a client event named %r on %s: that name is the connection's own", data[0], namespace)
            return None
        return await handle_event(eio_sid, namespace, id, data)

    server._handle_event = _handle_event
    server._oc_reserved_refused = True


def drop_connection_overlay(reflex_app) -> None:
    """Reflex's connection toast is English-only; pages show the localized 재연결 중… banner."""
    reflex_app.app_wraps.pop((5, "Overlay"), None)


def built_pages_dir():
    """Where the production build's pages are (what Reflex's frontend mount serves)."""
    from reflex.utils import prerequisites
    from reflex_base import constants

    return prerequisites.get_web_dir() / constants.Dirs.STATIC


# ---- python-socketio's rooms (the message path) --------------------------------------------


def socket_rooms(server, namespace: str) -> dict:
    """Room name -> sids of this worker's sockets in it (python-socketio also keeps a room None
    of every socket and one per socket id)."""
    return server.manager.rooms.get(namespace, {})


def room_members(server, namespace: str, room: str) -> set[str]:
    """The sids of this worker's sockets in `room`."""
    return set(socket_rooms(server, namespace).get(room) or ())


def in_background(state) -> bool:
    """Whether `state` is a background task's view of a state (rx.event(background=True)): it
    may be read or changed only inside ``async with state``."""
    return isinstance(state, StateProxy)
