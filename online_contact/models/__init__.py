"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from .agent import Agent, AgentStatusLog, AuthSession
from .assignment import ChatAssignment
from .audit import AuditLog
from .category import Category
from .chat import Chat, Message, Rating
from .customer import ConsentRecord, Customer
from .limits import RateCounter
from .settings import ChatSettings, ChatSettingsText, ConsentText
from .ticket import Ticket

__all__ = [
    "Agent",
    "AgentStatusLog",
    "AuditLog",
    "AuthSession",
    "Category",
    "Chat",
    "ChatAssignment",
    "ChatSettings",
    "ChatSettingsText",
    "ConsentRecord",
    "ConsentText",
    "Customer",
    "Message",
    "RateCounter",
    "Rating",
    "Ticket",
]
