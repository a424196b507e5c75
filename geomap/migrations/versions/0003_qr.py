"""QR codes: at most one active code per establishment and per stall

Revision ID: 0003_qr
Revises: 0001

Reissuing revokes the old row and inserts a new one; these partial unique indexes make
"one valid sticker per target" a database rule, so two concurrent bulk issues cannot give
a target two live codes (the second insert conflicts and is skipped).
"""
from __future__ import annotations

from alembic import op

revision = "0003_qr"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE UNIQUE INDEX ux_qr_code_active_establishment ON qr_code (establishment_id) "
               "WHERE revoked_at IS NULL AND establishment_id IS NOT NULL")
    op.execute("CREATE UNIQUE INDEX ux_qr_code_active_stall ON qr_code (stall_id) "
               "WHERE revoked_at IS NULL AND stall_id IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ux_qr_code_active_stall")
    op.execute("DROP INDEX IF EXISTS ux_qr_code_active_establishment")
