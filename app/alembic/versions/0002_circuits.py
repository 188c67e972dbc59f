"""circuit packages: the circuits table, a run's circuit and hash, an evaluation's design values

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('circuits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('testbench', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'content_hash', name='uq_circuits_name_hash')
    )
    op.create_index('ix_circuits_name', 'circuits', ['name'], unique=False)
    op.create_index('ix_circuits_content_hash', 'circuits', ['content_hash'], unique=False)
    # batch mode: SQLite alters a column's type and adds a foreign key by copying the table
    with op.batch_alter_table('runs') as batch:
        batch.alter_column('topology', existing_type=sa.String(length=16), type_=sa.String(length=64), existing_nullable=False)
        batch.add_column(sa.Column('circuit_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('circuit_hash', sa.String(length=64), nullable=True))
        batch.create_foreign_key('fk_runs_circuit_id', 'circuits', ['circuit_id'], ['id'])
        batch.create_index('ix_runs_circuit_id', ['circuit_id'], unique=False)
    with op.batch_alter_table('evaluations') as batch:
        batch.add_column(sa.Column('design', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('evaluations') as batch:
        batch.drop_column('design')
    with op.batch_alter_table('runs') as batch:
        batch.drop_index('ix_runs_circuit_id')
        batch.drop_constraint('fk_runs_circuit_id', type_='foreignkey')
        batch.drop_column('circuit_hash')
        batch.drop_column('circuit_id')
        batch.alter_column('topology', existing_type=sa.String(length=64), type_=sa.String(length=16), existing_nullable=False)
    op.drop_index('ix_circuits_content_hash', table_name='circuits')
    op.drop_index('ix_circuits_name', table_name='circuits')
    op.drop_table('circuits')
