"""the demo LMS keeps its own database: its tables leave the tool's schema

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 11:00:00

The demo LMS now runs as an app of its own on another site, with its own database, as a real LMS
does; the tool's schema never held anything but empty copies of its tables outside the demo.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

DEMO_TABLES = ('demo_scores', 'demo_line_items', 'demo_resource_links', 'demo_tool_registrations', 'demo_keys')


def upgrade():
    for table in DEMO_TABLES:
        op.drop_table(table)


def downgrade():
    op.create_table('demo_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('private_key_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_keys')),
    sa.UniqueConstraint('kid', name=op.f('uq_demo_keys_kid'))
    )
    op.create_table('demo_line_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('resource_link_id', sa.String(length=64), nullable=True),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('score_maximum', sa.Float(), nullable=False),
    sa.Column('resource_id', sa.String(length=255), nullable=True),
    sa.Column('tag', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_line_items'))
    )
    op.create_table('demo_resource_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('link_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('url', sa.String(length=1024), nullable=True),
    sa.Column('custom', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_resource_links')),
    sa.UniqueConstraint('link_id', name=op.f('uq_demo_resource_links_link_id'))
    )
    op.create_table('demo_tool_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('deployment_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('login_url', sa.String(length=1024), nullable=False),
    sa.Column('redirect_uris', sa.JSON(), nullable=False),
    sa.Column('jwks_url', sa.String(length=1024), nullable=False),
    sa.Column('target_link_uri', sa.String(length=1024), nullable=False),
    sa.Column('deep_link_url', sa.String(length=1024), nullable=True),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_tool_registrations')),
    sa.UniqueConstraint('client_id', name=op.f('uq_demo_tool_registrations_client_id'))
    )
    op.create_table('demo_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('score_given', sa.Float(), nullable=True),
    sa.Column('score_maximum', sa.Float(), nullable=True),
    sa.Column('activity_progress', sa.String(length=32), nullable=False),
    sa.Column('grading_progress', sa.String(length=32), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['line_item_id'], ['demo_line_items.id'], name=op.f('fk_demo_scores_line_item_id_demo_line_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_scores')),
    sa.UniqueConstraint('line_item_id', 'user_id', name=op.f('uq_demo_scores_line_item_id'))
    )
