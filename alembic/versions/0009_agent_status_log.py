"""통계: the agents' status history (온라인 / 휴식 시간), starting empty

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 16:40:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "agentstatuslog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agentstatuslog", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agentstatuslog_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agentstatuslog_started_at"), ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agentstatuslog", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agentstatuslog_started_at"))
        batch_op.drop_index(batch_op.f("ix_agentstatuslog_agent_id"))
    op.drop_table("agentstatuslog")
