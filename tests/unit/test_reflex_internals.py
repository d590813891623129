"""The one module that uses Reflex's private API: its version check, and that what it patches
is what Reflex really calls (an upgrade that renamed or stopped calling them would otherwise
leave the patch silently dead, and every linked tab would get Reflex's full fan-out again)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from reflex.istate import shared as reflex_shared

from online_contact.realtime import reflex_internals as internals

from .pipeline import agent_console, customer_starts_chat, names, only_agent1_online, run

ROOT = Path(__file__).resolve().parents[2]


def test_another_reflex_version_stops_the_app_with_a_clear_error():
    internals.check_reflex_version("0.10.1")
    with pytest.raises(internals.UnsupportedReflexVersion, match=r"reflex_internals.*0\.11\.0 is installed.*reflex==0\.10\.1"):
        internals.check_reflex_version("0.11.0")


def test_the_installed_reflex_is_the_one_the_module_was_written_for():
    from importlib import metadata

    assert metadata.version("reflex") == internals.WRITTEN_FOR


def test_the_patched_functions_are_installed_and_are_what_reflex_calls():
    import online_contact.realtime.publish  # noqa: F401  (installs the fan-out)

    assert reflex_shared._do_update_other_tokens is internals._do_update_other_tokens
    assert reflex_shared.SharedStateBaseInternal._modify_linked_states is internals._modify_linked_states
    # Reflex reaches both through the names patched: the module global, and the method that
    # the state manager looks up on the shared state.
    from reflex.istate import manager

    assert "_do_update_other_tokens(" in inspect.getsource(internals.REFLEX_MODIFY_LINKED)
    assert "._modify_linked_states(" in inspect.getsource(manager)


def test_reflex_calls_the_patches_during_a_real_event(app, db_url, monkeypatch):
    """Spies on the patched functions, then a customer's message through the pipeline."""
    calls = {"modify": 0, "fan_out": 0}
    ours_modify, ours_fan_out = internals._modify_linked_states, internals._do_update_other_tokens

    def modify(self, previous_dirty_vars=None):
        calls["modify"] += 1
        return ours_modify(self, previous_dirty_vars)

    def fan_out(*args, **kwargs):
        calls["fan_out"] += 1
        return ours_fan_out(*args, **kwargs)

    monkeypatch.setattr(reflex_shared.SharedStateBaseInternal, "_modify_linked_states", modify)
    monkeypatch.setattr(reflex_shared, "_do_update_other_tokens", fan_out)
    n, token = names(), only_agent1_online(db_url)

    async def scenario():
        customer, chat = await customer_starts_chat(app, db_url, "스파이")
        tab = await agent_console(app, token)
        await tab.fire(f"{n.agent}.select_chat", chat_id=chat.id)
        calls.update(modify=0, fan_out=0)
        await customer.fire(f"{n.customer}.send", form_data={"text": "안녕하세요", "client_id": "s1"})

    run(app, scenario)
    assert calls["modify"] >= 1 and calls["fan_out"] >= 1


def test_no_other_module_touches_reflex_internals():
    """Private Reflex names appear only in reflex_internals.py (and the page side only in
    assets/reflex_bridge.js)."""
    private = ("_reflex_internal_links", "_linked_from", "_link_to(", "_unlink(", "_token_manager", "reflex_base",
               "reflex.istate", "app_wraps", "manager.rooms", "RegistrationContext")
    offenders = []
    for path in (ROOT / "online_contact").rglob("*.py"):
        if path.name == "reflex_internals.py":
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(ROOT)}: {name}" for name in private if name in text]
    for path in (ROOT / "assets").glob("*.js*"):
        if path.name != "reflex_bridge.js" and "$/utils" in path.read_text():
            offenders.append(f"{path.relative_to(ROOT)}: $/utils")
    assert offenders == []


def test_client_events_named_like_the_connections_own_are_dropped_where_python_socketio_reads_them():
    """refuse_reserved_events wraps the server's _handle_event: python-socketio must still send
    every EVENT and BINARY_EVENT packet through it (an upgrade that did not would leave the guard
    silently dead: tests/security/test_reserved_events.py shows what that allows)."""
    from socketio.async_server import AsyncServer

    import online_contact.online_contact as app_module

    dispatch = inspect.getsource(AsyncServer._handle_eio_message)
    assert dispatch.count("self._handle_event(") == 2  # EVENT, and a BINARY_EVENT once whole
    assert app_module.app.sio._oc_reserved_refused is True
    assert internals.RESERVED_EVENTS >= {"connect", "disconnect"}
