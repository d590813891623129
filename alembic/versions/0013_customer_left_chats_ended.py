"""A chat its customer left has ended (issue 23): the chats the customer left before this rule
(still 'open' until their agent pressed 대화 종료) end now, and each agent's open-chat count under
최대 동시 상담 수 is counted again from the chats that still hold a slot

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 02:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: Union[str, None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

chat = sa.table("chat", sa.column("id", sa.Integer), sa.column("status", sa.String),
                sa.column("agent_id", sa.Integer), sa.column("customer_ended_at", sa.DateTime))
agent = sa.table("agent", sa.column("id", sa.Integer), sa.column("open_chat_count", sa.Integer))


def upgrade() -> None:
    # They stay on their agent's screen (routing.ON_AN_AGENTS_SCREEN: not ended by the agent) until
    # the agent has finished their information; 통계 and 채팅 기록 count them as ended from the
    # customer's end, as they do every chat the customer leaves from now on.
    op.execute(chat.update().where(chat.c.status == "open", chat.c.customer_ended_at.is_not(None)).values(status="ended"))
    # A slot is held by an assigned chat still open on both sides (the invariant the services keep:
    # routing.try_claim takes one, either end or a hand-back gives it back once).
    holding = (sa.select(sa.func.count()).select_from(chat)
               .where(chat.c.agent_id == agent.c.id, chat.c.status == "open").scalar_subquery())
    op.execute(agent.update().values(open_chat_count=holding))


def downgrade() -> None:
    # Nothing to undo: before this rule such a chat was ended by its agent's 대화 종료, which still
    # ends it (and gives back no slot it no longer holds).
    pass
