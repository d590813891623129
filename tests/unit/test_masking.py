"""개인정보 자동 마스킹: a corpus of positive and negative examples (what must be masked, what must
not), precision and recall over it, and the masked forms. `python -m tests.unit.test_masking`
prints the figures the README reports."""

from __future__ import annotations

import random

import pytest

from online_contact.services import masking


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        if masking._luhn(body + check):
            return body + check
    raise AssertionError


def _rrn(rng: random.Random, hyphen: bool = True) -> str:
    year, month, day = rng.randrange(40, 100), rng.randrange(1, 13), rng.randrange(1, 29)
    gender = rng.choice("1256")
    if rng.random() < 0.3:
        year, gender = rng.randrange(0, 24), rng.choice("3478")
    rest = "".join(str(rng.randrange(10)) for _ in range(6))
    return f"{year:02d}{month:02d}{day:02d}{'-' if hyphen else ''}{gender}{rest}"


def corpus() -> list[tuple[str, str | None]]:
    """(text, the kind that must be masked in it, or None: nothing may be masked)."""
    rng = random.Random(15)
    positives: list[tuple[str, str]] = []
    for i in range(40):
        number = _rrn(rng, hyphen=i % 3 != 0)
        template = rng.choice(["주민번호 {}입니다", "제 주민등록번호는 {} 이에요", "{}", "외국인등록번호: {}", "본인확인 {} 맞나요?"])
        positives.append((template.format(number), masking.RRN))
    for i in range(40):
        prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15), ("35", 16), ("62", 16), ("9410", 16), ("6011", 16)])
        number = _luhn_complete(prefix, length, rng)
        if i % 3 == 0:
            shown = number
        elif length == 15:
            shown = f"{number[:4]} {number[4:10]} {number[10:]}"
        else:
            sep = rng.choice([" ", "-"])
            shown = sep.join(number[j:j + 4] for j in range(0, length, 4))
        template = rng.choice(["카드번호 {} 로 결제했어요", "{}", "결제한 카드는 {}", "card {} please refund", "카드 {} 유효기간 12/27"])
        positives.append((template.format(shown), masking.CARD))
    for i in range(50):
        kind = i % 5
        last = f"{rng.randrange(10000):04d}"
        if kind == 0:
            number = f"010-{rng.randrange(1000, 10000)}-{last}"
        elif kind == 1:
            number = f"010{rng.randrange(1000, 10000)}{last}"
        elif kind == 2:
            number = f"02-{rng.randrange(100, 1000)}-{last}"
        elif kind == 3:
            number = f"0{rng.choice(['31', '32', '41', '51', '62', '64'])}-{rng.randrange(100, 10000)}-{last}"
        else:
            number = rng.choice([f"+82 10-{rng.randrange(1000, 10000)}-{last}", f"+82-10-{rng.randrange(1000, 10000)}-{last}",
                                 f"+821{rng.choice('016')}{rng.randrange(1000, 10000)}{last}", f"010.{rng.randrange(1000, 10000)}.{last}"])
        template = rng.choice(["연락처 {} 입니다", "{}로 전화 주세요", "제 번호 {}", "call me at {}", "{} (저녁에만)"])
        positives.append((template.format(number), masking.PHONE))
    for _ in range(35):
        shape = rng.choice([(6, 2, 6), (3, 3, 6), (4, 3, 6), (3, 6, 5), (3, 4, 4, 2), (3, 2, 6), (3, 6, 2, 3)])
        number = "-".join("".join(str(rng.randrange(10)) for _ in range(n)) for n in shape)
        template = rng.choice(["환불 계좌 {} 입니다", "계좌번호 {} (국민)", "{} 로 입금해 주세요", "신한 {}", "account {}"])
        positives.append((template.format(number), masking.ACCOUNT))
    for _ in range(15):
        number = rng.choice("MSRG") + "".join(str(rng.randrange(10)) for _ in range(8))
        positives.append((rng.choice(["여권번호 {}", "passport {}", "{} 여권으로 예약"]).format(number), masking.PASSPORT))

    negatives = [
        # dates and times
        "2024-01-15에 주문했어요", "2024.01.15 도착 예정", "20240115 배송", "2024년 1월 15일", "14:30에 통화 가능", "오후 2시 30분",
        "12/27까지", "2023-12-31 23:59:59", "1990년생입니다", "19900101", "오늘 11월 10일", "2026-11-10 10:00",
        # order, invoice and tracking numbers (not the shapes above)
        "주문번호 2024011512345", "주문번호 20240115-123456", "송장번호 612345678901", "운송장 6092-1234-5678",
        "주문 ORD-2024-000123", "상품코드 A1234-567", "교환번호 E20240115001", "영수증 번호 1234-5678", "접수번호 2024-0001234",
        "모델명 SM-S918N", "쿠폰코드 WELCOME2024", "예약번호 R12345", "티켓 #1234", "채팅 #98765",
        # amounts and quantities
        "1,234,000원 결제", "39,900원", "₩120000", "3개 주문", "총 2,500,000원이요", "12,345,678원", "1234567원",
        "포인트 100000점", "가격 49900", "할부 12개월",
        # postal codes and addresses
        "우편번호 06236", "서울시 강남구 테헤란로 123", "06236 서울", "101동 1203호", "아파트 12층 1201호",
        # other numbers
        "고객센터 1588-1234", "1577-1234로 전화", "버전 10.2.3", "IP 192.168.0.1", "3회 시도", "100% 환불",
        "비밀번호 1234는 말하지 않을게요", "인증번호 482913", "OTP 123456", "24시간", "7일 이내",
        "사이즈 270", "키 175cm", "무게 2.5kg", "010 문의드려요", "02는 서울 지역번호", "카드 끝자리 1234",
        "4111 정도였나", "카드번호 4111 1111 1111 1112", "1234 5678 9012 3456", "0000 0000 0000 0000",
        "계좌 1234567890", "주민번호 앞자리 901010", "901310-1234567", "900230-1234567", "901010-9234567",
        "M1234", "여권 만료 2030", "ABC12345678", "영업시간 09:00-18:00", "1-2-3-4",
        "2024-01-15-001", "12-34-56", "1234-56-78", "9999-9999",
    ]
    for _ in range(20):  # generated: dates, order numbers, amounts, times and postal codes
        y, m, d = rng.randrange(2015, 2027), rng.randrange(1, 13), rng.randrange(1, 29)
        negatives += [
            rng.choice(["{}-{:02d}-{:02d} 주문", "{}.{:02d}.{:02d}", "{}{:02d}{:02d}", "{}/{:02d}/{:02d} 배송"]).format(y, m, d),
            f"주문번호 {y}{m:02d}{d:02d}{rng.randrange(10**5, 10**8)}",
            f"{rng.randrange(1000, 10**7):,}원",
            f"{rng.randrange(24):02d}:{rng.randrange(60):02d} 도착",
            f"우편번호 {rng.randrange(1000, 63700):05d}",
        ]
    return [*positives, *((text, None) for text in negatives)]


def measure() -> dict:
    """Precision and recall over the corpus (a masked negative is a false positive; a positive
    not masked, or masked as another kind, is a miss)."""
    tp = fp = fn = 0
    wrong = []
    for text, kind in corpus():
        result = masking.mask(text)
        if kind is None:
            if result.kinds:
                fp += 1
                wrong.append((text, result.text))
        elif kind in result.kinds:
            tp += 1
        else:
            fn += 1
            wrong.append((text, result.text))
    return {"examples": len(corpus()), "positives": tp + fn, "negatives": len(corpus()) - tp - fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0, "wrong": wrong}


def test_the_corpus_is_large_and_masked_as_it_should_be():
    figures = measure()
    assert figures["examples"] >= 300 and figures["negatives"] >= 150
    assert figures["precision"] == 1.0 and figures["recall"] == 1.0, figures["wrong"]


@pytest.mark.parametrize("text, masked", [
    ("주민번호 901010-1234567 입니다", "주민번호 901010-1****** 입니다"),
    ("9010101234567", "901010-1******"),
    ("카드 4111 1111 1111 1111", "카드 **** **** **** 1111"),
    ("4111111111111111", "**** **** **** 1111"),
    ("010-1234-5678로 연락주세요", "010-****-5678로 연락주세요"),
    ("+82 10-1234-5678", "+82 10-****-5678"),
    ("02-123-4567", "02-***-4567"),
    ("계좌 110-123-456789", "계좌 110-***-**6789"),
    ("여권 M12345678", "여권 M1234****"),
    ("전화 010-1111-2222, 카드 5500-0000-0000-0004", "전화 010-****-2222, 카드 ****-****-****-0004"),
])
def test_what_stays_is_what_an_agent_needs(text, masked):
    assert masking.mask(text).text == masked


def test_nothing_is_masked_twice_and_text_without_numbers_is_untouched():
    once = masking.mask("카드 4111 1111 1111 1111 전화 010-1234-5678").text
    assert masking.mask(once).text == once and masking.mask(once).kinds == ()
    assert masking.mask("안녕하세요, 배송 문의드려요").text == "안녕하세요, 배송 문의드려요"


def test_each_kind_can_be_left_out():
    text = "010-1234-5678 / 4111 1111 1111 1111"
    assert masking.mask(text, kinds=(masking.CARD,)).text == "010-1234-5678 / **** **** **** 1111"
    assert masking.mask(text, kinds=()).text == text


if __name__ == "__main__":
    result = measure()
    print({k: v for k, v in result.items() if k != "wrong"})
    for text, out in result["wrong"]:
        print("  wrong:", text, "->", out)


def test_nothing_unmasked_reaches_the_database_or_the_search_index(session, make):
    from sqlmodel import select

    from online_contact.models import Message, Ticket
    from online_contact.services import messages as message_service
    from online_contact.services import search, tickets
    from online_contact.services.customers import clean_contact

    chat = make.start()
    message_service.post_message(session, chat, "customer", "카드 4111 1111 1111 1111 이고 번호는 010-9876-5432", "m1")
    stored = session.exec(select(Message).where(Message.chat_id == chat.id)).all()[-1]
    assert stored.text == "카드 **** **** **** 1111 이고 번호는 010-****-5432"
    search.bring_up_to_date(session.get_bind())
    session.commit()
    dialect = session.get_bind().dialect.name
    for secret, present in (("9876", False), ("4111", False), ("5432", True)):
        words = search.parse(secret)
        found = {row[0] for row in session.exec(search.chats_with(dialect, words[0]))} if words else set()
        assert (chat.id in found) == present, secret
    # Names, memos and tickets the agent types get the same treatment.
    assert clean_contact("홍길동 010-1234-5678", "")[0] == "홍길동 010-****-5678"
    ticket = tickets.create_from_inquiry(session, "김", "kim@example.com", "환불 계좌", "국민 123456-01-123456 으로 부탁해요")
    assert session.get(Ticket, ticket.id).body == "국민 123456-**-**3456 으로 부탁해요"
