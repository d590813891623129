"""개인정보 보호: personal numbers masked before a text is stored (issue 15), defined once.

`mask(text)` replaces, in what a customer or an agent writes, the numbers Korean contact centers
must not keep — 주민등록번호 / 외국인등록번호, card numbers, Korean phone numbers, bank account
numbers and passport numbers — by a form that keeps what an agent needs to talk about them
(`901010-1******`, `**** **** **** 1234`, `010-****-5678`, `110-***-**6789`, `M1234****`).
It is called where text enters the product (the message path, names, memos, tickets), so the
unmasked text reaches no database row, no search index, no other tab, no relay and no log.

Precision over recall where a number could be either: dates, order numbers, amounts, times and
postal codes are left alone (the corpus in tests/unit/test_masking.py measures both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

RRN = "rrn"  # 주민등록번호 / 외국인등록번호
CARD = "card"
PHONE = "phone"
ACCOUNT = "account"
PASSPORT = "passport"
KINDS = (RRN, CARD, PHONE, ACCOUNT, PASSPORT)

# A number is never the tail or head of a longer run of digits (or of a word).
_B = r"(?<![0-9A-Za-z])"
_E = r"(?![0-9A-Za-z])"

_RRN = re.compile(_B + r"(\d{2})(\d{2})(\d{2})\s?[-–]?\s?([1-8])(\d{6})" + _E)
_CARD = re.compile(_B + r"(\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,7}|\d{4}[ -]?\d{6}[ -]?\d{4,5})" + _E)
# Card numbers typed without separators must also start as a card does (Visa 4, Mastercard
# 51–55 / 2221–2720, Amex 34 / 37, JCB 35, Discover 6011 / 65, UnionPay 62, Korean domestic 9):
# a long order number is otherwise a card one time in ten (the Luhn check alone).
_CARD_START = re.compile(r"4|5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[457]|6011|65|62|9")
_PHONE = re.compile(
    _B + r"(?:(\+82[ -]?\(?0?\)?[ -]?)|(0))"
    r"(1[016789]|2|[3-6][1-5]|70|50[2-8])"  # mobile, Seoul, regions, internet phones, 050x
    r"([ .-]?)(\d{3,4})\4(\d{4})" + _E
)
# 계좌번호: the grouped forms Korean banks print (a bare run of digits is indistinguishable
# from an order number, so only hyphenated groups of a bank's shape are taken).
_ACCOUNT = re.compile(
    _B + r"(\d{3,6}-\d{2,6}-\d{2,7}(?:-\d{1,3})?)" + _E
)
_ACCOUNT_SHAPES = {
    (6, 2, 6), (3, 2, 6), (3, 3, 6), (4, 3, 6), (3, 6, 5), (3, 4, 4, 2), (3, 2, 4, 3), (3, 6, 2, 3),
    (3, 3, 5), (3, 2, 5), (4, 4, 5), (3, 4, 6), (6, 2, 5), (3, 3, 4, 3), (4, 2, 7), (3, 5, 6),
}
_PASSPORT = re.compile(_B + r"([MSRGD])(\d{3})([A-Z]?\d{4,5})" + _E)


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: tuple[str, ...]  # what was masked (for the note to the customer, and the counts)


def _plausible_birth(yy: str, mm: str, dd: str, gender: str) -> bool:
    century = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}[gender]
    try:
        date(century + int(yy), int(mm), int(dd))
    except ValueError:
        return False
    return True


def _luhn(digits: str) -> bool:
    total, double = 0, False
    for ch in reversed(digits):
        n = int(ch)
        if double:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
        double = not double
    return total % 10 == 0


def _star(text: str, keep_last: int) -> str:
    """Digits (and letters) starred except the last `keep_last`, separators kept."""
    out, seen, count = [], 0, sum(ch.isalnum() for ch in text)
    for ch in text:
        if ch.isalnum():
            seen += 1
            out.append(ch if seen > count - keep_last else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask(text: str, kinds: tuple[str, ...] = KINDS) -> Masked:
    """`text` with the personal numbers of `kinds` masked (see the module docstring)."""
    if not text or not any(ch.isdigit() for ch in text):
        return Masked(text, ())
    found: list[str] = []

    def rrn(m: re.Match) -> str:
        yy, mm, dd, gender, rest = m.groups()
        if not _plausible_birth(yy, mm, dd, gender):
            return m.group(0)
        found.append(RRN)
        return f"{yy}{mm}{dd}-{gender}******"

    def card(m: re.Match) -> str:
        raw = m.group(1)
        digits = re.sub(r"\D", "", raw)
        if not 13 <= len(digits) <= 19 or not _luhn(digits) or len(set(digits)) == 1:
            return raw
        if digits == raw and not _CARD_START.match(digits):
            return raw
        found.append(CARD)
        if digits == raw:  # typed without separators: shown in groups of four, as printed
            raw = " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))
        return _star(raw, 4)

    def phone(m: re.Match) -> str:
        international, zero, area, sep, middle, last = m.groups()
        found.append(PHONE)
        head = (international or "") + (zero or "") + area
        return f"{head}{sep}{'*' * len(middle)}{sep}{last}"

    def account(m: re.Match) -> str:
        raw = m.group(1)
        if tuple(len(part) for part in raw.split("-")) not in _ACCOUNT_SHAPES:
            return raw
        found.append(ACCOUNT)
        head, _, rest = raw.partition("-")
        return head + "-" + _star(rest, 4)

    def passport(m: re.Match) -> str:
        found.append(PASSPORT)
        raw = m.group(0)
        return raw[:-4] + "****"

    out = text
    if RRN in kinds:
        out = _RRN.sub(rrn, out)
    if CARD in kinds:
        out = _CARD.sub(card, out)
    if PHONE in kinds:
        out = _PHONE.sub(phone, out)
    if ACCOUNT in kinds:
        out = _ACCOUNT.sub(account, out)
    if PASSPORT in kinds:
        out = _PASSPORT.sub(passport, out)
    return Masked(out, tuple(dict.fromkeys(found)))
