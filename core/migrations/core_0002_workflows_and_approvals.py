"""Workflows and approvals: narrowed transitions, policies, requests, decisions, delegations, emailed links

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-12-05 00:09:55.930340
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0002'
down_revision = 'core_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('core_approval_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('fields', sa.Text(), nullable=False),
    sa.Column('self_approval', sa.Boolean(), nullable=False),
    sa.Column('addon', sa.String(length=64), nullable=True),
    sa.Column('key', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_approval_policy')),
    sa.UniqueConstraint('addon', 'key', name=op.f('uq_core_approval_policy_addon'))
    )
    with op.batch_alter_table('core_approval_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_approval_policy_model'), ['model'], unique=False)

    op.create_table('core_transition_right',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('transition', sa.String(length=64), nullable=False),
    sa.Column('groups', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_transition_right')),
    sa.UniqueConstraint('model', 'transition', name=op.f('uq_core_transition_right_model'))
    )
    op.create_table('core_approval_condition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('operator', sa.String(length=2), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['core_approval_policy.id'], name=op.f('fk_core_approval_condition_policy_id_core_approval_policy'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_approval_condition'))
    )
    with op.batch_alter_table('core_approval_condition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_approval_condition_policy_id'), ['policy_id'], unique=False)

    op.create_table('core_approval_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=True),
    sa.Column('policy_name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('steps', sa.Text(), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('step_started_at', sa.DateTime(), nullable=False),
    sa.Column('escalated_step', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['core_approval_policy.id'], name=op.f('fk_core_approval_request_policy_id_core_approval_policy'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['core_user.id'], name=op.f('fk_core_approval_request_submitted_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_approval_request'))
    )
    with op.batch_alter_table('core_approval_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_approval_request_policy_id'), ['policy_id'], unique=False)
        batch_op.create_index('ix_core_approval_request_record', ['model', 'record_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_approval_request_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_approval_request_submitted_by_id'), ['submitted_by_id'], unique=False)

    op.create_table('core_approval_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('approver', sa.String(length=16), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('rule', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('deadline_hours', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['core_group.id'], name=op.f('fk_core_approval_step_group_id_core_group'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['policy_id'], ['core_approval_policy.id'], name=op.f('fk_core_approval_step_policy_id_core_approval_policy'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_approval_step_user_id_core_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_approval_step'))
    )
    with op.batch_alter_table('core_approval_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_approval_step_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_approval_step_policy_id'), ['policy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_approval_step_user_id'), ['user_id'], unique=False)

    op.create_table('core_delegation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('delegate_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['delegate_id'], ['core_user.id'], name=op.f('fk_core_delegation_delegate_id_core_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_delegation_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_delegation'))
    )
    with op.batch_alter_table('core_delegation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_delegation_delegate_id'), ['delegate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_delegation_user_id'), ['user_id'], unique=False)

    op.create_table('core_approval_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('via', sa.String(length=8), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['approver_id'], ['core_user.id'], name=op.f('fk_core_approval_decision_approver_id_core_user')),
    sa.ForeignKeyConstraint(['request_id'], ['core_approval_request.id'], name=op.f('fk_core_approval_decision_request_id_core_approval_request'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_approval_decision_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_approval_decision')),
    sa.UniqueConstraint('request_id', 'step', 'approver_id', name=op.f('uq_core_approval_decision_request_id'))
    )
    with op.batch_alter_table('core_approval_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_approval_decision_approver_id'), ['approver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_approval_decision_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_approval_decision_user_id'), ['user_id'], unique=False)

    op.create_table('core_approval_link',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['core_approval_request.id'], name=op.f('fk_core_approval_link_request_id_core_approval_request'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_approval_link_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_approval_link'))
    )
    with op.batch_alter_table('core_approval_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_approval_link_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_approval_link_user_id'), ['user_id'], unique=False)

    op.create_table('core_approval_seat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['core_approval_request.id'], name=op.f('fk_core_approval_seat_request_id_core_approval_request'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_approval_seat_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_approval_seat')),
    sa.UniqueConstraint('request_id', 'step', 'user_id', name=op.f('uq_core_approval_seat_request_id'))
    )
    with op.batch_alter_table('core_approval_seat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_approval_seat_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_approval_seat_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('core_approval_seat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_approval_seat_user_id'))
        batch_op.drop_index(batch_op.f('ix_core_approval_seat_request_id'))

    op.drop_table('core_approval_seat')
    with op.batch_alter_table('core_approval_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_approval_link_user_id'))
        batch_op.drop_index(batch_op.f('ix_core_approval_link_request_id'))

    op.drop_table('core_approval_link')
    with op.batch_alter_table('core_approval_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_approval_decision_user_id'))
        batch_op.drop_index(batch_op.f('ix_core_approval_decision_request_id'))
        batch_op.drop_index(batch_op.f('ix_core_approval_decision_approver_id'))

    op.drop_table('core_approval_decision')
    with op.batch_alter_table('core_delegation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_delegation_user_id'))
        batch_op.drop_index(batch_op.f('ix_core_delegation_delegate_id'))

    op.drop_table('core_delegation')
    with op.batch_alter_table('core_approval_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_approval_step_user_id'))
        batch_op.drop_index(batch_op.f('ix_core_approval_step_policy_id'))
        batch_op.drop_index(batch_op.f('ix_core_approval_step_group_id'))

    op.drop_table('core_approval_step')
    with op.batch_alter_table('core_approval_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_approval_request_submitted_by_id'))
        batch_op.drop_index(batch_op.f('ix_core_approval_request_state'))
        batch_op.drop_index('ix_core_approval_request_record')
        batch_op.drop_index(batch_op.f('ix_core_approval_request_policy_id'))

    op.drop_table('core_approval_request')
    with op.batch_alter_table('core_approval_condition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_approval_condition_policy_id'))

    op.drop_table('core_approval_condition')
    op.drop_table('core_transition_right')
    with op.batch_alter_table('core_approval_policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_approval_policy_model'))

    op.drop_table('core_approval_policy')
