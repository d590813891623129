"""개인정보 보호: a chat's 채널 is its page's origin + path (stored queries and fragments dropped),
1:1 inquiries linked to their customer by email, and customers found by email

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00

"""
import functools
import json
import re
from typing import Sequence, Union
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: Union[str, None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

HELP_CENTER = "helpcenter"
EXPORT_HISTORY = "export.history"
BATCH = 1000  # chats read and rewritten per statement

# Frozen: online_contact.services.embed.page_channel (with text.clean and MAX_PAGE_URL) as it was
# when this revision was written. A migration must do the same thing whenever it is replayed;
# calling the app's function would make it do whatever that function does by then.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_DEFAULT_PORT = {"http": ":80", "https": ":443"}
MAX_PAGE_URL = 2000


def _page_channel(url) -> str:
    """An http(s) page URL as origin + path (scheme and host lower-case, no user:password@, no
    default port, no query, fragment or ;parameters), '' when it is not one."""
    if not isinstance(url, str):
        return ""
    try:
        parts = urlsplit(_UNSAFE.sub("", url.replace("\r\n", "\n").replace("\r", "\n")).strip()[:MAX_PAGE_URL])
        port = parts.port
    except ValueError:  # a port that is not a number, a malformed IPv6 address
        return ""
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORT or not host:
        return ""
    host = f"[{host}]" if ":" in host else host
    origin = f"{scheme}://{host}" + (f":{port}" if port is not None and f":{port}" != _DEFAULT_PORT[scheme] else "")
    return (origin + (parts.path.split(";", 1)[0] or "/"))[:MAX_PAGE_URL]


@functools.lru_cache(maxsize=4096)  # a few pages make up most chats
def _channel(old: str) -> str:
    """The page as chats record it from now on; a value that is no page URL loses its query and
    fragment all the same."""
    return _page_channel(old) or old.split("#", 1)[0].split("?", 1)[0].split(";", 1)[0]


def upgrade() -> None:
    conn = op.get_bind()
    # The page's full URL was kept (…?email=…&reset_token=…), shown in 고객정보, 통계's 채널별 and
    # the export. The chats in batches by id, each changed row updated by its primary key: no
    # index on the channel, which PostgreSQL's btree could not hold for a long one (/widget?page=
    # took 2,000 characters of any script, 6 KB and more in UTF-8).
    chat = sa.table("chat", sa.column("id", sa.Integer), sa.column("channel", sa.String))
    rewrite = sa.update(chat).where(chat.c.id == sa.bindparam("row_id")).values(channel=sa.bindparam("new"))
    last = 0
    while True:
        rows = conn.execute(sa.select(chat.c.id, chat.c.channel).where(chat.c.id > last, chat.c.channel != HELP_CENTER)
                            .order_by(chat.c.id).limit(BATCH)).all()
        if not rows:
            break
        last = rows[-1].id
        changes = [{"row_id": row_id, "new": _channel(old)} for row_id, old in rows if old and _channel(old) != old]
        if changes:
            conn.execute(rewrite, changes)
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
