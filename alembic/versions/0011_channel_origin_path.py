"""개인정보 보호: a chat's 채널 is its page's origin + path (stored queries and fragments dropped),
1:1 inquiries linked to their customer by email, and customers found by email

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00

"""
import json
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from online_contact.services import embed

revision: str = "0011"
down_revision: Union[str, None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

HELP_CENTER = "helpcenter"
EXPORT_HISTORY = "export.history"


def _channel(old: str) -> str:
    """The page as chats record it from now on (embed.page_channel: the one definition); a
    value that is no page URL loses its query and fragment all the same."""
    return embed.page_channel(old) or old.split("#", 1)[0].split("?", 1)[0].split(";", 1)[0]


def upgrade() -> None:
    conn = op.get_bind()
    # The page's full URL was kept (…?email=…&reset_token=…), shown in 고객정보, 통계's 채널별 and
    # the export. One pass over the distinct pages, then one indexed update per page that changes
    # (the index lives only as long as this migration).
    chat = sa.table("chat", sa.column("id", sa.Integer), sa.column("channel", sa.String))
    pages = conn.execute(sa.select(chat.c.channel).where(chat.c.channel != HELP_CENTER).distinct()).scalars().all()
    changes = [{"old": old, "new": _channel(old)} for old in pages if old and _channel(old) != old]
    if changes:
        op.create_index("tmp_ix_chat_channel", "chat", ["channel"])
        conn.execute(sa.update(chat).where(chat.c.channel == sa.bindparam("old")).values(channel=sa.bindparam("new")), changes)
        op.drop_index("tmp_ix_chat_channel", table_name="chat")
    # A 채팅 기록 export made from 통계's 채널별 recorded the page in its audit entry's conditions.
    audit = sa.table("auditlog", sa.column("id", sa.Integer), sa.column("action", sa.String), sa.column("detail", sa.String))
    for entry_id, detail in conn.execute(sa.select(audit.c.id, audit.c.detail).where(audit.c.action == EXPORT_HISTORY)).all():
        try:
            data = json.loads(detail)
            conditions = data["conditions"]
            old = conditions["channel"]
        except (TypeError, ValueError, KeyError):
            continue
        if isinstance(old, str) and old not in (HELP_CENTER, "embed") and _channel(old) != old:
            conditions["channel"] = _channel(old)
            conn.execute(sa.update(audit).where(audit.c.id == entry_id).values(detail=json.dumps(data, ensure_ascii=False)))
    # 1:1 inquiries were stored without their customer, so 고객 정보 삭제 missed them. Each is
    # linked to the customer who gave the same email when exactly one did (with several, the
    # email cannot say whose it is: the erasure of any of them takes it by its email anyway).
    op.create_index("ix_customer_email", "customer", ["email"])
    op.execute(
        "UPDATE ticket SET customer_id = (SELECT MIN(c.id) FROM customer c WHERE c.email = ticket.requester_email"
        " AND c.erased_at IS NULL)"
        " WHERE source = 'inquiry' AND customer_id IS NULL AND requester_email <> '' AND erased_at IS NULL"
        " AND (SELECT COUNT(*) FROM customer c WHERE c.email = ticket.requester_email AND c.erased_at IS NULL) = 1"
    )


def downgrade() -> None:
    # The queries dropped from the channels are gone for good (that was the point), and the
    # inquiries keep their customer (0010's schema has the column).
    op.drop_index("ix_customer_email", table_name="customer")
