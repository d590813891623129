"""Customers and consent to personal data collection (개인정보 수집 동의)."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from online_contact.config import CONSENT_VERSION
from online_contact.models import ConsentRecord, Customer

from . import privacy
from .errors import ServiceError
from .text import LIMITS, clean

# local@domain.tld, without spaces, quotes, angle brackets or other characters no address needs.
_ADDR = "[^@\\s<>\"'`,;:\\\\()\\[\\]]+"
EMAIL_RE = re.compile(f"^{_ADDR}@{_ADDR}\\.{_ADDR}$")
VISITOR_KEY_RE = re.compile(r"^[A-Za-z0-9-]{16,64}$")
# The keys this app makes (uuid4().hex): the only ones an embedding site may hand back.
MADE_VISITOR_KEY_RE = re.compile(r"[0-9a-f]{32}")


def clean_contact(name: str, email: str) -> tuple[str, str]:
    """Trimmed name and lower-cased email, without unsafe control characters; ServiceError when
    the name is too long or the email malformed or too long."""
    name = clean(name if isinstance(name, str) else "").strip()
    email = clean(email if isinstance(email, str) else "").strip().lower()
    if len(name) > LIMITS["name"]:
        raise ServiceError("error.name_too_long", max=LIMITS["name"])
    if email and (len(email) > LIMITS["email"] or not EMAIL_RE.match(email)):
        raise ServiceError("error.email_invalid")
    return privacy.mask_text(name)[: LIMITS["name"]], email


def customer_for_visitor(session: Session, visitor_key: str, create: bool = False) -> Customer | None:
    """The customer whose browser holds `visitor_key` (created when asked)."""
    if not isinstance(visitor_key, str) or not VISITOR_KEY_RE.match(visitor_key):
        return None
    customer = session.exec(select(Customer).where(Customer.visitor_key == visitor_key)).first()
    if customer is None and create:
        customer = Customer(visitor_key=visitor_key)
        session.add(customer)
        session.flush()
    return customer


def record_consent(
    session: Session, customer: Customer, agreed: bool, ip: str, language: str = "ko", version: str = CONSENT_VERSION
) -> ConsentRecord:
    """Store that the customer agreed to the consent text of `version` (the one they were shown).
    Refusal stores nothing."""
    if not agreed:
        raise ServiceError("consent.required")
    record = ConsentRecord(customer_id=customer.id, version=version[:32], ip=ip[:64], language=language)
    session.add(record)
    session.flush()
    return record
