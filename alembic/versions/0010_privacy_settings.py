"""개인정보 보호: masking per type, retention periods, and the marks of what was purged or erased

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:10:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: Union[str, None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

MASKS = ("mask_rrn", "mask_card", "mask_phone", "mask_account", "mask_passport")
KEEP = {"keep_chats_months": "36", "keep_consents_months": "36", "keep_inquiries_months": "36", "keep_audit_months": "24"}


def upgrade() -> None:
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        for name in MASKS:
            batch_op.add_column(sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.true()))
        for name, months in KEEP.items():
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default=months))
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        for name in (*MASKS, *KEEP):
            batch_op.alter_column(name, server_default=None)
    for table in ("chat", "customer", "ticket"):
        column = "purged_at" if table == "chat" else "erased_at"
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # The retention job finds what is due by date: tickets and consent records had no index on it.
    op.create_index("ix_ticket_created_at", "ticket", ["created_at"])
    op.create_index("ix_consentrecord_created_at", "consentrecord", ["created_at"])
    # SQLite's search index: marked when text left it (masked, erased, purged) until its
    # segments are merged and the old terms are gone from the file (services.search_upkeep.compact_step).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE message_search_state ADD COLUMN compact INTEGER NOT NULL DEFAULT 0")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE message_search_state DROP COLUMN compact")
    op.drop_index("ix_consentrecord_created_at", table_name="consentrecord")
    op.drop_index("ix_ticket_created_at", table_name="ticket")
    for table in ("ticket", "customer", "chat"):
        column = "purged_at" if table == "chat" else "erased_at"
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        for name in (*reversed(KEEP), *reversed(MASKS)):
            batch_op.drop_column(name)
