"""Chat settings: enabled, texts per language, assignment preferences."""

from __future__ import annotations

from sqlmodel import Session, select

from online_contact.models import ChatSettings, ChatSettingsText
from online_contact.models.settings import DEFAULT_SERVICE

FALLBACK_LANGUAGE = "ko"


def get_settings(session: Session, service_key: str = DEFAULT_SERVICE) -> ChatSettings:
    """The settings row of the service, created with defaults on first use."""
    row = session.exec(select(ChatSettings).where(ChatSettings.service_key == service_key)).first()
    if row is None:
        row = ChatSettings(service_key=service_key)
        session.add(row)
        session.flush()
    return row


def texts(session: Session, settings: ChatSettings, language: str) -> ChatSettingsText | None:
    """The greeting and satisfaction guide in `language`, falling back to Korean."""
    rows = {
        t.language: t
        for t in session.exec(
            select(ChatSettingsText).where(ChatSettingsText.settings_id == settings.id)
        )
    }
    return rows.get(language) or rows.get(FALLBACK_LANGUAGE)


def set_texts(
    session: Session, settings: ChatSettings, language: str, greeting: str, satisfaction_guide: str
) -> ChatSettingsText:
    """Create or replace the texts of one language."""
    row = session.exec(
        select(ChatSettingsText).where(
            ChatSettingsText.settings_id == settings.id, ChatSettingsText.language == language
        )
    ).first()
    if row is None:
        row = ChatSettingsText(settings_id=settings.id, language=language)
    row.greeting = greeting.strip()
    row.satisfaction_guide = satisfaction_guide.strip()
    session.add(row)
    session.flush()
    return row
