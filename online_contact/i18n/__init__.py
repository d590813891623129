"""Message catalogs: Korean by default, English second."""

from . import en, ko

DEFAULT_LANGUAGE = "ko"
CATALOGS: dict[str, dict[str, str]] = {"ko": ko.MESSAGES, "en": en.MESSAGES}
LANGUAGES = tuple(CATALOGS)


def normalize(lang: str | None) -> str:
    """A supported language code for `lang` ('en-US' → 'en'), else Korean."""
    code = (lang if isinstance(lang, str) else "")[:16].split("-")[0].lower()
    return code if code in CATALOGS else DEFAULT_LANGUAGE


def translate(lang: str, key: str, **params: object) -> str:
    """The text of `key` in `lang` (falling back to Korean, then to the key itself)."""
    text = CATALOGS.get(normalize(lang), {}).get(key) or CATALOGS[DEFAULT_LANGUAGE].get(key) or key
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError):
        return text
