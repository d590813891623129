"""One page per module; each registers itself with pages.registry.page. Importing this package
registers them all."""

from . import agent, help_center, inquiry, login, tickets, widget  # noqa: F401
from .registry import PAGES, add_pages

__all__ = ["PAGES", "add_pages"]
