"""The demo workspace that `make run` creates on an empty database.

Its accounts have published passwords, so it is made only where nobody can mistake it for a
real deployment: on the default SQLite file of `make run`. With a DATABASE_URL of its own it is
off unless OC_DEMO=1 (OC_DEMO=0 turns it off everywhere), and while the demo accounts exist the
server log says so loudly at start and every hour.
"""

from __future__ import annotations

import asyncio
import logging
import os

from sqlmodel import Session, func, select

from online_contact.models import Agent
from online_contact.models.agent import ROLE_ADMIN, ROLE_AGENT

from .auth import create_agent
from .categories import add_category
from .db import session_scope
from .settings import get_settings, set_texts

DEMO_ACCOUNTS = (
    ("admin@example.com", "관리자", "admin1234", ROLE_ADMIN),
    ("agent1@example.com", "상담원1", "agent1234", ROLE_AGENT),
    ("agent2@example.com", "상담원2", "agent1234", ROLE_AGENT),
)

DEMO_CATEGORIES = {
    "주문": {"배송": ["배송지연", "배송지 변경", "파손"], "결제": ["결제 오류", "영수증"]},
    "환불/취소": {"환불": ["환불 요청", "환불 지연"], "취소": ["주문 취소"]},
    "계정": {"로그인": ["비밀번호 찾기", "계정 잠김"]},
}

GREETING = {
    "ko": "안녕하세요, 고객센터입니다. 무엇을 도와드릴까요?",
    "en": "Hello, this is customer support. How can we help you?",
}
SATISFACTION = {
    "ko": "상담은 만족스러우셨나요? 아래에서 평가를 남겨 주세요.",
    "en": "Were you satisfied with this chat? Please leave a rating below.",
}


logger = logging.getLogger("online_contact.security")
DEMO_WARNING_EVERY = 3600.0  # seconds


def demo_wanted(env: dict | None = None) -> bool:
    """Whether `manage seed` creates the demo workspace (see the module docstring)."""
    env = os.environ if env is None else env
    setting = env.get("OC_DEMO", "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    return not (env.get("DATABASE_URL") or env.get("REFLEX_DB_URL"))


def demo_accounts_present(session: Session) -> list[str]:
    """The demo accounts (published passwords) that exist and are active."""
    emails = [email for email, *_ in DEMO_ACCOUNTS]
    return list(session.exec(select(Agent.email).where(Agent.email.in_(emails), Agent.active.is_(True))))


def warn_if_demo(url: str | None = None) -> list[str]:
    """Log a loud warning when the demo accounts exist; returns them."""
    with session_scope(url) as session:
        present = demo_accounts_present(session)
    if present:
        logger.warning(
            "\n%s\nDEMO ACCOUNTS ARE ACTIVE (%s) with the passwords printed in the README.\n"
            "Anyone can log in as an admin. Do not use this database for real customers:\n"
            "`python -m online_contact.manage deactivate admin@example.com` (and the agents), or\n"
            "start from an empty database with OC_DEMO=0.\n%s",
            "!" * 78, ", ".join(present), "!" * 78,
        )
    return present


async def demo_warning_loop() -> None:
    """Lifespan task: warn_if_demo at start and every hour."""
    while True:
        try:
            await asyncio.to_thread(warn_if_demo)
        except Exception:  # noqa: BLE001 - a warning must not stop the server
            logger.exception("checking for demo accounts failed")
        await asyncio.sleep(DEMO_WARNING_EVERY)


def populate_demo(session: Session) -> None:
    """Add the demo accounts, settings and category tree (the database must be empty)."""
    for email, name, password, role in DEMO_ACCOUNTS:
        create_agent(session, email, name, password, role=role)
    settings = get_settings(session)
    settings.chat_enabled = True
    session.add(settings)
    session.flush()
    for lang in ("ko", "en"):
        set_texts(session, settings, lang, GREETING[lang], SATISFACTION[lang])
    for top, middles in DEMO_CATEGORIES.items():
        top_cat = add_category(session, top)
        for middle, leaves in middles.items():
            middle_cat = add_category(session, middle, top_cat.id)
            for leaf in leaves:
                add_category(session, leaf, middle_cat.id)


def seed_demo(url: str | None = None) -> str:
    """Create the demo workspace when no account exists yet; return what to print."""
    with session_scope(url) as session:
        if session.exec(select(func.count()).select_from(Agent)).one() > 0:
            demo = session.exec(select(Agent).where(Agent.email == DEMO_ACCOUNTS[0][0])).first()
            if demo is None:
                return "Database already has accounts: demo workspace not created."
            return "\n".join(
                ["Demo workspace (already created):"]
                + [f"  {role:5}  {email} / {password}" for email, _n, password, role in DEMO_ACCOUNTS]
            )
        populate_demo(session)
    lines = ["Demo workspace created:"]
    lines += [f"  {role:5}  {email} / {password}" for email, _n, password, role in DEMO_ACCOUNTS]
    return "\n".join(lines)
