"""One page per module; each registers itself with pages.registry.page. Importing this package
registers them all."""

from . import (  # noqa: F401
    agent,
    help_center,
    history,
    inquiry,
    login,
    settings_agents,
    settings_assignment,
    settings_audit,
    settings_basic,
    settings_categories,
    settings_embed,
    settings_privacy,
    stats,
    tickets,
    widget,
)
from .registry import PAGES, add_pages

__all__ = ["PAGES", "add_pages"]
