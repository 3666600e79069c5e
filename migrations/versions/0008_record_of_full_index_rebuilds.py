"""record of full index rebuilds

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('index_rebuild',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('demands', sa.Integer(), nullable=False),
    sa.Column('capabilities', sa.Integer(), nullable=False),
    sa.Column('lexicon_version', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_rebuild'))
    )
    with op.batch_alter_table('index_rebuild', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_index_rebuild_finished_at'), ['finished_at'], unique=False)


def downgrade():
    with op.batch_alter_table('index_rebuild', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_index_rebuild_finished_at'))

    op.drop_table('index_rebuild')
