"""The role guard (states.guard.require_role): an admin-only handler called by an agent or by an
anonymous tab changes nothing, is logged, and sends the caller away; the right role runs it."""

from __future__ import annotations

import logging

import pytest

from online_contact.models import Agent
from online_contact.models.agent import ROLE_ADMIN, ROLE_AGENT
from online_contact.states.guard import require_role, required_role, role_allows
from tests.support import run_async


class FakeTab:
    """A tab of AuthState's shape whose login is `role` (None: not logged in)."""

    def __init__(self, role: str | None):
        self.role, self.changed = role, []

    def _agent(self, _session):
        return Agent(id=7, email="x@example.com", name="x", role=self.role, password_hash="!") if self.role else None

    async def _drop_links(self):
        self.changed.append("let go of its links")
        return []

    @require_role(ROLE_ADMIN)
    async def change_settings(self, value: str = ""):
        self.changed.append(value)
        return "done"

    @require_role(ROLE_AGENT)
    def take_chat(self, chat_id: int = 0):
        self.changed.append(chat_id)


@pytest.mark.parametrize(("role", "goes_to"), [(None, "/login"), (ROLE_AGENT, "/agent")])
def test_an_admin_handler_refuses_agents_and_visitors_and_logs_it(db_url, monkeypatch, caplog, role, goes_to):
    monkeypatch.setenv("DATABASE_URL", db_url)
    tab = FakeTab(role)
    with caplog.at_level(logging.WARNING, logger="online_contact.security"):
        answer = run_async(tab.change_settings("chat off"))
    # Not logged in: the tab also lets go of any desk or chat it was linked to.
    assert tab.changed == ([] if role else ["let go of its links"])
    assert goes_to in str(answer)
    assert any("refused FakeTab.change_settings: needs admin" in r.getMessage() for r in caplog.records)


def test_the_right_role_runs_the_handler_and_admins_may_do_what_agents_do(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    admin = FakeTab(ROLE_ADMIN)
    assert run_async(admin.change_settings("chat off")) == "done"
    run_async(admin.take_chat(3))
    assert admin.changed == ["chat off", 3]
    agent = FakeTab(ROLE_AGENT)
    run_async(agent.take_chat(4))
    assert agent.changed == [4]


def test_roles_rank_and_the_marker_is_readable():
    assert role_allows(ROLE_AGENT, ROLE_ADMIN) and role_allows(ROLE_AGENT, ROLE_AGENT)
    assert not role_allows(ROLE_ADMIN, ROLE_AGENT) and not role_allows(ROLE_AGENT, None) and not role_allows(ROLE_AGENT, "root")
    assert required_role(FakeTab.change_settings) == ROLE_ADMIN
    with pytest.raises(ValueError):
        require_role("superuser")
