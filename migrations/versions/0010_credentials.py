"""credentials: a certificate's study time; Open Badges 3.0 credentials and their signing keys

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 13:30:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('study_minutes', sa.Integer(), nullable=True))

    op.create_table('credential_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('private_key_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_keys')),
    sa.UniqueConstraint('kid', name=op.f('uq_credential_keys_kid'))
    )
    op.create_table('issued_credentials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('programme_id', sa.String(length=64), nullable=False),
    sa.Column('module_id', sa.String(length=64), nullable=True),
    sa.Column('achievement_name', sa.String(length=255), nullable=False),
    sa.Column('holder_name', sa.String(length=255), nullable=True),
    sa.Column('status_index', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('jwt', sa.Text(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_issued_credentials_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_credentials')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_issued_credentials_credential_id')),
    sa.UniqueConstraint('status_index', name=op.f('uq_issued_credentials_status_index'))
    )
    with op.batch_alter_table('issued_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_credentials_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('issued_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issued_credentials_user_id'))
    op.drop_table('issued_credentials')
    op.drop_table('credential_keys')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_column('study_minutes')
