"""No default admin in production: the demo workspace (published passwords) is made only on the
default SQLite file of `make run`, or on request, and the server log warns while it exists."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from sqlmodel import func, select

from online_contact.models import Agent
from online_contact.services.db import session_scope
from online_contact.services.seed import demo_wanted, warn_if_demo
from tests.support import ROOT


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, True),  # make run on its default SQLite file
        ({"DATABASE_URL": "postgresql+psycopg://db/prod"}, False),
        ({"REFLEX_DB_URL": "sqlite:///elsewhere.db"}, False),
        ({"DATABASE_URL": "postgresql+psycopg://db/staging", "OC_DEMO": "1"}, True),
        ({"OC_DEMO": "0"}, False),
    ],
    ids=["default-sqlite", "own-database", "reflex-db-url", "asked-for", "turned-off"],
)
def test_the_demo_is_made_only_where_it_cannot_be_mistaken_for_production(env, wanted):
    assert demo_wanted(env) is wanted


def _seed(db_url: str, **extra) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("OC_DEMO", "DATABASE_URL", "REFLEX_DB_URL")}
    env.update(DATABASE_URL=db_url, **extra)
    done = subprocess.run([sys.executable, "-m", "online_contact.manage", "seed"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout


def test_manage_seed_on_a_database_of_its_own_creates_no_admin(empty_db_url):
    assert "No demo workspace" in _seed(empty_db_url)
    with session_scope(empty_db_url) as s:
        assert s.exec(select(func.count()).select_from(Agent)).one() == 0
    assert "admin@example.com" in _seed(empty_db_url, OC_DEMO="1")
    with session_scope(empty_db_url) as s:
        assert s.exec(select(func.count()).select_from(Agent)).one() == 3


def test_the_log_warns_loudly_while_the_demo_accounts_exist(db_url, empty_db_url, caplog):
    with caplog.at_level(logging.WARNING, logger="online_contact.security"):
        assert warn_if_demo(db_url) == ["admin@example.com", "agent1@example.com", "agent2@example.com"]
    assert "DEMO ACCOUNTS ARE ACTIVE" in caplog.text and "admin@example.com" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="online_contact.security"):
        assert warn_if_demo(empty_db_url) == []
    assert "DEMO ACCOUNTS" not in caplog.text
