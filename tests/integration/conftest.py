"""Integration tests on the engines a larger team deploys: PostgreSQL (127.0.0.1:5432, database
`test`) and Redis (127.0.0.1:6379), which run on every developer machine and in CI.

Each run works in its own PostgreSQL schema and its own (empty) Redis database number, and
removes both afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_HOST = "127.0.0.1"


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A fresh schema in database `test`, dropped at the end."""
    schema = f"oc_it_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def schema_url(schema: str) -> str:
    """SQLAlchemy URL whose connections use `schema` (search_path) in database `test`."""
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def pg_url(pg_schema) -> str:
    """The migrated schema with the demo workspace."""
    from online_contact.manage import migrate
    from online_contact.services.seed import seed_demo

    url = schema_url(pg_schema)
    migrate(url)
    seed_demo(url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """An empty Redis database number (1–15), flushed at the end."""
    for db in range(15, 0, -1):
        client = redis.Redis(host=REDIS_HOST, port=6379, db=db)
        if client.dbsize() == 0:
            break
    else:  # pragma: no cover - a machine whose 15 databases are all in use
        pytest.fail("no empty Redis database number 1-15 for the integration tests")
    try:
        yield f"redis://{REDIS_HOST}:6379/{db}"
    finally:
        client.flushdb()
        client.close()


def reset_workspace(url: str) -> None:
    """All agents Offline with no chats, as after a fresh seed."""
    from sqlalchemy import update

    from online_contact.models import Agent, Chat
    from online_contact.models._base import utcnow
    from online_contact.services.db import session_scope

    with session_scope(url) as s:
        s.exec(update(Agent).values(status="offline", open_chat_count=0, max_open_chats=None))
        # Off every agent's screen too (a chat the customer left is ended but stays there).
        s.exec(update(Chat).where((Chat.status != "ended") | (Chat.agent_id.is_not(None) & Chat.agent_ended_at.is_(None))).values(status="ended", agent_ended_at=utcnow()))


def start_customer_chat(session, visitor_key: str, name: str):
    """A new customer (this visitor key) who consented and started a chat; returns the chat."""
    from online_contact.services import chats as chat_service
    from online_contact.services import customers as customer_service

    customer = customer_service.customer_for_visitor(session, visitor_key, create=True)
    consent = customer_service.record_consent(session, customer, True, "127.0.0.1")
    return chat_service.start_chat(session, customer, consent, name=name)
