"""Fixtures of the service-layer unit tests.

Every test gets its own SQLite file, copied from a template that the real Alembic migrations built
once per test session (`demo` also holds `seed.populate_demo`). The services' engine cache is keyed by
URL, so a per-test file path gives every test its own engine.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import bcrypt
import pytest
from sqlmodel import Session, create_engine, func, select

from online_contact.manage import migrate
from online_contact.models import Agent, Chat, ChatSettings, Customer
from online_contact.models.agent import ROLE_AGENT, STATUS_ONLINE
from online_contact.models.chat import CHAT_WAITING
from online_contact.services import chats as chat_service
from online_contact.services import customers as customer_service
from online_contact.services import db as db_service
from online_contact.services import settings as settings_service
from online_contact.services.seed import populate_demo

_REAL_GENSALT = bcrypt.gensalt


def _fast_gensalt(rounds: int = 12, prefix: bytes = b"2b") -> bytes:
    """bcrypt with the minimum cost: same algorithm and format, milliseconds instead of ~0.2 s."""
    return _REAL_GENSALT(rounds=4, prefix=prefix)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory) -> dict[str, Path]:
    """Two migrated template files: 'empty' (schema only) and 'demo' (schema + demo workspace)."""
    base = tmp_path_factory.mktemp("db-templates")
    empty = base / "empty.db"
    migrate(sqlite_url(empty))
    demo = base / "demo.db"
    shutil.copy(empty, demo)
    # A private engine without the WAL pragma, disposed at once: the file is complete on its own.
    eng = create_engine(sqlite_url(demo))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bcrypt, "gensalt", _fast_gensalt)
        with Session(eng) as session:
            populate_demo(session)
            session.commit()
    eng.dispose()
    return {"empty": empty, "demo": demo}


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch):
    monkeypatch.setattr(bcrypt, "gensalt", _fast_gensalt)


@pytest.fixture(autouse=True)
def own_export_dir(tmp_path, monkeypatch):
    """Exports, and the mark a masking or an erasure leaves (export.withdraw_history_exports), in
    the test's own directory: never in the one a server of the browser tests uses."""
    monkeypatch.setenv("OC_EXPORT_DIR", str(tmp_path / "exports"))


def _copy_db(template: Path, tmp_path: Path, name: str) -> Iterator[str]:
    path = tmp_path / name
    shutil.copy(template, path)
    url = sqlite_url(path)
    yield url
    db_service.engine(url).dispose()


@pytest.fixture
def db_url(db_templates, tmp_path, monkeypatch) -> Iterator[str]:
    """URL of a fresh copy of the demo database, also the configured one (DATABASE_URL: what
    the services read without a session, e.g. the masking switches, read the test's database)."""
    for url in _copy_db(db_templates["demo"], tmp_path, "demo.db"):
        monkeypatch.setenv("DATABASE_URL", url)
        yield url


@pytest.fixture
def empty_db_url(db_templates, tmp_path, monkeypatch) -> Iterator[str]:
    """URL of a fresh copy of the migrated, empty database (also the configured one)."""
    for url in _copy_db(db_templates["empty"], tmp_path, "empty.db"):
        monkeypatch.setenv("DATABASE_URL", url)
        yield url


@pytest.fixture
def session(db_url) -> Iterator[Session]:
    with db_service.session_scope(db_url) as s:
        yield s


@pytest.fixture
def empty_session(empty_db_url) -> Iterator[Session]:
    with db_service.session_scope(empty_db_url) as s:
        yield s


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def reload(session: Session, model, ident):
    """The row as stored now (bypasses the identity map's possibly stale attributes)."""
    session.commit()
    return session.get(model, ident, populate_existing=True)


class Factory:
    """Builders of test data; each commits so that the services see the rows."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._n = 0

    def count(self, model) -> int:
        return count(self.session, model)

    def reload(self, model, ident):
        return reload(self.session, model, ident)

    def agent(
        self,
        name: str | None = None,
        *,
        status: str = STATUS_ONLINE,
        max_open_chats: int | None = None,
        can_chat: bool = True,
        active: bool = True,
        open_chat_count: int = 0,
        last_assigned_at: datetime | None = None,
        role: str = ROLE_AGENT,
    ) -> Agent:
        self._n += 1
        name = name or f"agent-{self._n}"
        agent = Agent(
            email=f"{name}-{uuid.uuid4().hex[:8]}@test.example",
            name=name,
            role=role,
            password_hash="!",
            status=status,
            max_open_chats=max_open_chats,
            can_chat=can_chat,
            active=active,
            open_chat_count=open_chat_count,
            last_assigned_at=last_assigned_at,
        )
        self.session.add(agent)
        self.session.commit()
        return agent

    def demo_agent(self, email: str) -> Agent:
        return self.session.exec(select(Agent).where(Agent.email == email)).one()

    def offline_demo_agents(self) -> None:
        """The demo accounts start Offline; assert it so routing tests know who can take chats."""
        assert not self.session.exec(select(Agent).where(Agent.status == STATUS_ONLINE)).all()

    def customer(self) -> Customer:
        customer = customer_service.customer_for_visitor(self.session, uuid.uuid4().hex, create=True)
        self.session.commit()
        return customer

    def start(self, customer: Customer | None = None, **kwargs) -> Chat:
        """A chat started the real way: consent, start_chat (greeting + assignment attempt)."""
        customer = customer or self.customer()
        consent = customer_service.record_consent(self.session, customer, True, "127.0.0.1")
        return chat_service.start_chat(self.session, customer, consent, **kwargs)

    def waiting_chat(self, customer: Customer | None = None, created_at: datetime | None = None) -> Chat:
        """A queued chat inserted directly (no greeting, no assignment attempt)."""
        customer = customer or self.customer()
        chat = Chat(customer_id=customer.id, status=CHAT_WAITING)
        if created_at is not None:
            chat.created_at = created_at
        self.session.add(chat)
        self.session.commit()
        return chat

    def settings(self, *, prefer_recent_agent: bool | None = None, method: str | None = None) -> ChatSettings:
        settings = settings_service.get_settings(self.session)
        if prefer_recent_agent is not None:
            settings.prefer_recent_agent = prefer_recent_agent
        if method is not None:
            settings.assignment_method = method
        self.session.add(settings)
        self.session.commit()
        return settings


@pytest.fixture
def make(session) -> Factory:
    return Factory(session)


@pytest.fixture
def make_empty(empty_session) -> Factory:
    return Factory(empty_session)


@pytest.fixture(autouse=True)
def no_message_rate_limit(monkeypatch):
    """Tests post messages back to back; the limits have their own tests (which set them)."""
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_SECOND", "0")
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_VISITOR", "0")
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_IP", "0")


@pytest.fixture
def app(db_url, monkeypatch):
    """The Reflex app on a fresh demo database (for tests through its event pipeline)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    from online_contact.online_contact import app as reflex_app

    return reflex_app
