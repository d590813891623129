"""A contact center's years of chats, generated: for the 채팅 기록 benchmark (100,000 chats and
1,000,000 messages) and, small, for the tests that check search results by brute force.

Korean and English text with the words customers use (환불, 부분환불, 배송지연, refund …), one
topic per chat, a
spread of agents, 처리유형 at every level, channels, ratings and 처리 / 미처리 / 진행중 chats,
written with Core executemany (and the search index rows beside the messages, as the message
path writes them).
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from online_contact.models import Agent, Category, Chat, Customer, Message
from online_contact.models._base import utcnow
from online_contact.models.chat import CHAT_ENDED, CHAT_OPEN
from online_contact.services import search

# A chat is about one topic: most of its lines come from that topic, the rest are the greetings
# and acknowledgements every chat has. So 환불 is in the refund chats (~1 in 6), not in all.
TOPICS = {
    "refund": ["환불 요청합니다", "부분환불 가능한가요?", "환불을 원해요", "환불 처리 기간이 얼마나 걸리나요", "I want a refund",
               "Refunds take how long?"],
    "delivery": ["배송이 늦어요", "배송지연 문의드립니다", "택배가 아직 안 왔어요", "Where is my delivery", "배송지 변경하고 싶어요"],
    "order": ["주문 취소하고 싶어요", "주문번호 알려주시겠어요?", "Order cancelled by mistake", "주문 내역이 안 보여요"],
    "payment": ["결제가 두 번 됐어요", "Payment failed twice", "카드 결제가 안 돼요", "쿠폰이 적용되지 않아요"],
    "exchange": ["교환 신청은 어떻게 하나요", "Can I exchange this item", "사이즈 교환 원해요", "상품이 파손되어 왔어요"],
    "account": ["비밀번호를 잊어버렸어요", "로그인이 안 돼요", "회원 탈퇴하고 싶어요", "I cannot log in"],
    "other": ["재고 있나요", "영수증 발급 부탁드립니다", "매장 영업시간이 궁금해요", "포인트 적립 문의"],
}
COMMON = ["안녕하세요", "감사합니다", "네 확인했습니다", "잠시만 기다려 주세요", "Thanks for your help", "Hello there",
          "확인해 드리겠습니다", "불편을 드려 죄송합니다", "더 궁금하신 점 있으실까요?", "좋은 하루 되세요"]
NAMES = ["김민준", "이서연", "박지훈", "최수아", "정예준", "강하은", "조도윤", "윤지우", "Alex Kim", "Jamie Lee"]
CHANNELS = ["helpcenter", "helpcenter", "https://shop.example.com/products/1", "https://blog.example.co.kr/"]


def _categories(session: Session) -> list[int | None]:
    ids = [c.id for c in session.exec(select(Category))]
    return [None, None, *ids]


def generate(session: Session, chats: int, messages_per_chat: int = 10, seed: int = 1, days: int = 365,
             batch: int = 2000, progress=None) -> None:
    """Add `chats` chats (created over the last `days`, newest today) with about
    `messages_per_chat` messages each. Uses the session's agents and categories."""
    rng = random.Random(seed)
    agents = [a.id for a in session.exec(select(Agent))]
    if not agents:
        raise ValueError("no agents: seed the workspace first")
    categories = _categories(session)
    now = utcnow()
    chat_table, message_table, customer_table = Chat.__table__, Message.__table__, Customer.__table__
    next_chat = (session.exec(select(sa.func.max(Chat.id))).one() or 0) + 1
    next_customer = (session.exec(select(sa.func.max(Customer.id))).one() or 0) + 1
    done = 0
    while done < chats:
        n = min(batch, chats - done)
        customers, rows, messages, index_rows = [], [], [], []
        for i in range(n):
            chat_id, customer_id = next_chat + done + i, next_customer + done + i
            created = now - timedelta(seconds=rng.randint(0, days * 86400))
            name = rng.choice(NAMES) if rng.random() < 0.8 else ""
            email = f"user{customer_id}@example.com" if rng.random() < 0.6 else ""
            customers.append({"id": customer_id, "visitor_key": uuid.UUID(int=rng.getrandbits(128)).hex, "name": name,
                              "email": email, "memo": "", "created_at": created})
            ended = rng.random() < 0.95
            assigned = rng.random() < 0.92
            opened = assigned and rng.random() < 0.95
            replied = opened and rng.random() < 0.9
            count = max(1, int(rng.gauss(messages_per_chat, messages_per_chat / 3)))
            start = created
            reply_at = created + timedelta(seconds=rng.randint(5, 600)) if replied else None
            end_at = created + timedelta(seconds=rng.randint(120, 3600)) if ended else None
            rows.append({
                "id": chat_id, "room_key": uuid.UUID(int=rng.getrandbits(128)).hex, "customer_id": customer_id,
                "status": CHAT_ENDED if ended else CHAT_OPEN, "language": "ko",
                "channel": rng.choice(CHANNELS), "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                "device": "Chrome 131 / Windows 10 (PC)", "user_agent": "", "customer_name": name, "customer_email": email,
                "memo": rng.choice(["", "", "재문의 고객", "=1+1 메모"]), "category_id": rng.choice(categories),
                "consent_id": None, "agent_id": rng.choice(agents) if assigned else None,
                "assignment_reason": "balanced" if assigned else "", "last_seq": count, "created_at": created,
                "assigned_at": created if assigned else None,
                "agent_opened_at": created + timedelta(seconds=3) if opened else None,
                "first_agent_reply_at": reply_at, "customer_ended_at": end_at if ended and rng.random() < 0.5 else None,
                "agent_ended_at": end_at if ended and assigned else None, "last_message_at": end_at or created,
                "rating_requests": 0, "ratings_given": 0, "burst_count": 0,
                "rating_score": rng.choice([None, None, 1, 2, 3, 4, 5, 5]),
            })
            topic = TOPICS[rng.choice(list(TOPICS))]
            for seq in range(1, count + 1):
                author = "customer" if seq % 2 else "agent"
                text = rng.choice(topic if rng.random() < 0.35 else COMMON)
                if rng.random() < 0.2:
                    text += " " + rng.choice(COMMON)
                messages.append({"chat_id": chat_id, "seq": seq, "author": author, "agent_id": None, "text": text,
                                 "client_msg_id": f"g{seq}", "created_at": start + timedelta(seconds=seq * 20)})
                index_rows.append((chat_id, seq, text))
        conn = session.connection()
        conn.execute(sa.insert(customer_table), customers)
        conn.execute(sa.insert(chat_table), rows)
        conn.execute(sa.insert(message_table), messages)
        search.index_many(conn, index_rows)
        session.commit()
        done += n
        if progress:
            progress(done)


def texts_by_chat(session: Session) -> dict[int, list[str]]:
    """Every chat's message texts (the brute-force side of the checks)."""
    out: dict[int, list[str]] = {}
    for chat_id, text in session.exec(select(Message.chat_id, Message.text)):
        out.setdefault(chat_id, []).append(text)
    return out
