"""settings screens: versioned consent texts, a default open-chat limit, agents' notification
choices and last login

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "consenttext",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("language", "version", name="uq_consenttext_language_version"),
    )
    with op.batch_alter_table("consenttext", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consenttext_language"), ["language"], unique=False)
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_max_open_chats", sa.Integer(), nullable=True))
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_login_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("notify_sound", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("notify_desktop", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.alter_column("notify_sound", server_default=None)
        batch_op.alter_column("notify_desktop", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_column("notify_desktop")
        batch_op.drop_column("notify_sound")
        batch_op.drop_column("last_login_at")
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        batch_op.drop_column("default_max_open_chats")
    with op.batch_alter_table("consenttext", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consenttext_language"))
    op.drop_table("consenttext")
