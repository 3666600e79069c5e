"""background jobs and the stored matching index

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='jobstate', native_enum=False, length=20, create_constraint=False), nullable=False),
    sa.Column('params', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_job_created_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_state'), ['state'], unique=False)
    op.create_table('job_lock',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_job_lock'))
    )
    # indexes on the columns lists filter and sort by
    with op.batch_alter_table('demand', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demand_deadline'), ['deadline'], unique=False)
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.create_index('ix_match_demand_score', ['demand_id', 'score'], unique=False)
        batch_op.create_index('ix_match_status_score', ['status', 'score'], unique=False)
    with op.batch_alter_table('reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reply_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reply_status'))
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.drop_index('ix_match_status_score')
        batch_op.drop_index('ix_match_demand_score')
    with op.batch_alter_table('demand', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demand_deadline'))
    op.drop_table('job_lock')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_state'))
        batch_op.drop_index(batch_op.f('ix_job_kind'))
        batch_op.drop_index(batch_op.f('ix_job_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_job_created_at'))
    op.drop_table('job')
