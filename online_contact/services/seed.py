"""The demo workspace that `make run` creates on an empty database."""

from __future__ import annotations

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
