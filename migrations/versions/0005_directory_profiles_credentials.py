"""organisation profiles, credentials, references, bookmarks, notes, profile views

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('organization_key',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_organization_key_organization_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', 'organization_id', name=op.f('pk_organization_key'))
    )
    with op.batch_alter_table('organization_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_key_organization_id'), ['organization_id'], unique=False)

    op.create_table('organization_segment',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('segment_code', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_organization_segment_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_code'], ['segment.code'], name=op.f('fk_organization_segment_segment_code_segment')),
    sa.PrimaryKeyConstraint('organization_id', 'segment_code', name=op.f('pk_organization_segment'))
    )
    with op.batch_alter_table('organization_segment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_segment_segment_code'), ['segment_code'], unique=False)

    op.create_table('organization_theme',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('theme_code', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_organization_theme_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_code'], ['theme.code'], name=op.f('fk_organization_theme_theme_code_theme')),
    sa.PrimaryKeyConstraint('organization_id', 'theme_code', name=op.f('pk_organization_theme'))
    )
    with op.batch_alter_table('organization_theme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_theme_theme_code'), ['theme_code'], unique=False)

    op.create_table('profile_view',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_profile_view_organization_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'week', name=op.f('pk_profile_view'))
    )
    op.create_table('bookmark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_bookmark_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_bookmark_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['organization.id'], name=op.f('fk_bookmark_target_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookmark')),
    sa.UniqueConstraint('organization_id', 'target_id', name=op.f('uq_bookmark_organization_id'))
    )
    with op.batch_alter_table('bookmark', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookmark_target_id'), ['target_id'], unique=False)

    op.create_table('credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('crcc', 'iris', 'iso9001', 'en5012x', 'gb_tb', 'high_tech', 'other', name='credentialtype', native_enum=False, length=20), nullable=False),
    sa.Column('sil_level', sa.SmallInteger(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('number', sa.String(length=100), nullable=True),
    sa.Column('issuer', sa.String(length=200), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('checked_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_illustrative', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checked_by_id'], ['user_account.id'], name=op.f('fk_credential_checked_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_credential_organization_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential'))
    )
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_credential_type_valid', ['type', 'valid_until'], unique=False)

    op.create_table('org_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_org_note_author_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_org_note_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['organization.id'], name=op.f('fk_org_note_target_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_note'))
    )
    with op.batch_alter_table('org_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_note_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_note_target_id'), ['target_id'], unique=False)

    op.create_table('reference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('project', sa.String(length=200), nullable=False),
    sa.Column('client', sa.String(length=200), nullable=True),
    sa.Column('year', sa.SmallInteger(), nullable=True),
    sa.Column('delivered', sa.Text(), nullable=False),
    sa.Column('checked_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_illustrative', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checked_by_id'], ['user_account.id'], name=op.f('fk_reference_checked_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_reference_organization_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference'))
    )
    with op.batch_alter_table('reference', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reference_organization_id'), ['organization_id'], unique=False)

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('district', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('size_band', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('profile_visibility', sa.String(length=10), server_default='members', nullable=False))
        batch_op.add_column(sa.Column('logo_key', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('contact_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('fact_sources', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('profile_updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_organization_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_organization_profile_updated_at'), ['profile_updated_at'], unique=False)

    # ### end Alembic commands ###


def downgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_profile_updated_at'))
        batch_op.drop_index(batch_op.f('ix_organization_district'))
        batch_op.drop_column('profile_updated_at')
        batch_op.drop_column('fact_sources')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_name')
        batch_op.drop_column('logo_key')
        batch_op.drop_column('profile_visibility')
        batch_op.drop_column('size_band')
        batch_op.drop_column('district')

    with op.batch_alter_table('reference', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reference_organization_id'))

    op.drop_table('reference')
    with op.batch_alter_table('org_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_note_target_id'))
        batch_op.drop_index(batch_op.f('ix_org_note_organization_id'))

    op.drop_table('org_note')
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.drop_index('ix_credential_type_valid')
        batch_op.drop_index(batch_op.f('ix_credential_organization_id'))

    op.drop_table('credential')
    with op.batch_alter_table('bookmark', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bookmark_target_id'))

    op.drop_table('bookmark')
    op.drop_table('profile_view')
    with op.batch_alter_table('organization_theme', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_theme_theme_code'))

    op.drop_table('organization_theme')
    with op.batch_alter_table('organization_segment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_segment_segment_code'))

    op.drop_table('organization_segment')
    with op.batch_alter_table('organization_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_key_organization_id'))
