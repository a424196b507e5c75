"""The city role: a read-only, city-wide staff account

Revision ID: 0022_city_role
Revises: 0001

A city officer sees every loaded ward (the staff app's "Toàn thành phố" page) and changes nothing.
The role is bound to no ward: an account of the role with a ward is refused by the database too.
"""
from __future__ import annotations

from alembic import op

revision = "0022_city_role"
down_revision = "0001"
branch_labels = None
depends_on = ("0002_accounts",)

_OLD = "role IN ('inspector', 'data_officer', 'ward_manager', 'admin')"
_NEW = "role IN ('inspector', 'data_officer', 'ward_manager', 'admin', 'city')"


def upgrade() -> None:
    op.drop_constraint("ck_app_user_role", "app_user", type_="check")
    op.create_check_constraint("ck_app_user_role", "app_user", _NEW)
    op.create_check_constraint("ck_app_user_city_no_ward", "app_user", "role <> 'city' OR ward_id IS NULL")


def downgrade() -> None:
    op.execute("UPDATE app_user SET is_active = false, role = 'inspector' WHERE role = 'city'")
    op.drop_constraint("ck_app_user_city_no_ward", "app_user", type_="check")
    op.drop_constraint("ck_app_user_role", "app_user", type_="check")
    op.create_check_constraint("ck_app_user_role", "app_user", _OLD)
