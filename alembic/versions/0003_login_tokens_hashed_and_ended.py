"""login tokens stored as SHA-256 only; a login records when and why it ended

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 11:00:00

"""
import hashlib
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("authsession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authsession_token"))
        batch_op.alter_column(
            "token", new_column_name="token_hash",
            existing_type=sa.String(length=128), type_=sa.String(length=64),
        )
        batch_op.add_column(sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default=""))
    # Logins made before keep working: the browser still holds the token, the row its hash now.
    conn = op.get_bind()
    rows = sa.table("authsession", sa.column("id", sa.Integer), sa.column("token_hash", sa.String))
    for row_id, token in conn.execute(sa.select(rows.c.id, rows.c.token_hash)).all():
        digest = hashlib.sha256(token.encode()).hexdigest()
        conn.execute(sa.update(rows).where(rows.c.id == row_id).values(token_hash=digest))
    with op.batch_alter_table("authsession", schema=None) as batch_op:
        batch_op.alter_column("ip", server_default=None)
        batch_op.alter_column("end_reason", server_default=None)
        batch_op.create_index(batch_op.f("ix_authsession_token_hash"), ["token_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_authsession_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    # The tokens cannot be recovered from their hashes: every login ends.
    op.execute("DELETE FROM authsession")
    with op.batch_alter_table("authsession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authsession_expires_at"))
        batch_op.drop_index(batch_op.f("ix_authsession_token_hash"))
        batch_op.drop_column("end_reason")
        batch_op.drop_column("ended_at")
        batch_op.drop_column("ip")
        batch_op.alter_column(
            "token_hash", new_column_name="token",
            existing_type=sa.String(length=64), type_=sa.String(length=128),
        )
    with op.batch_alter_table("authsession", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authsession_token"), ["token"], unique=True)
