"""draft versions and rescued drafts: two tabs cannot overwrite each other, an expired page's text is kept

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 13:30:00

`draft_version` counts the saves of a draft, so a save based on an older one is refused (409).
`rescued_draft` holds what a page posted after its launch had expired; the learner's next launch
offers it, beside the saved draft it never overwrites.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activity_states') as batch_op:
        batch_op.add_column(sa.Column('draft_version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('rescued_draft', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('rescued_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('activity_states') as batch_op:
        batch_op.drop_column('rescued_at')
        batch_op.drop_column('rescued_draft')
        batch_op.drop_column('draft_version')
