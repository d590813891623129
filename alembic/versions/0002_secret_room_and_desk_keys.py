"""secret keys for the shared rooms and desks (tokens were chat-<id> and agent-<id>)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00

"""
import secrets
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = {"chat": "room_key", "agent": "desk_key"}


def upgrade() -> None:
    conn = op.get_bind()
    for table, column in TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        rows = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.String))
        for (row_id,) in conn.execute(sa.select(rows.c.id)).all():
            conn.execute(sa.update(rows).where(rows.c.id == row_id).values({column: secrets.token_hex(20)}))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=40), nullable=False)
            batch_op.create_unique_constraint(f"uq_{table}_{column}", [column])


def downgrade() -> None:
    for table, column in TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_{column}", type_="unique")
            batch_op.drop_column(column)
