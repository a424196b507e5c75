"""Digital tools of an establishment (e-invoice, sales/management software); how an inspection was recorded

Revision ID: 0017_indicators
Revises: 0001

The plan's target "businesses using digital platforms (management, sales, payment, e-invoice)"
(Hòa Cường plan, Appendix 1) counts an establishment that has any of:

- ``establishment.uses_e_invoice``       issues e-invoices (hóa đơn điện tử), new here;
- ``establishment.uses_sales_software``  uses sales / management software (phần mềm bán hàng, quản lý), new here;
- ``establishment.digital_platforms``    an e-commerce account (0009_location_quality: Shopee, Zalo, ...);
- ``establishment.digital_payment``      a cashless payment method (0001).

``inspection.made_via`` ('field_app' | 'staff_app' | 'paper') says how an inspection was recorded,
for the city's digital-inspection target. The field-visit work adds the same column in its
0011_field_visits; both add it only if it is missing, so either may run first.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_indicators"
down_revision = "0001"
branch_labels = None
depends_on = ("0011_field_visits",)


def upgrade() -> None:
    op.add_column("establishment", sa.Column("uses_e_invoice", sa.Boolean, server_default=sa.false(), nullable=False))
    op.add_column("establishment", sa.Column("uses_sales_software", sa.Boolean, server_default=sa.false(),
                                             nullable=False))
    op.execute("ALTER TABLE inspection ADD COLUMN IF NOT EXISTS made_via varchar(16) NOT NULL DEFAULT 'staff_app'")
    op.execute("""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'ck_inspection_made_via') THEN
            ALTER TABLE inspection ADD CONSTRAINT ck_inspection_made_via
              CHECK (made_via IN ('field_app', 'staff_app', 'paper'));
          END IF;
        END $$""")
    op.execute("CREATE INDEX IF NOT EXISTS ix_inspection_made_via_date ON inspection (made_via, inspected_on)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_inspection_made_via_date")
    op.execute("ALTER TABLE inspection DROP CONSTRAINT IF EXISTS ck_inspection_made_via")
    op.execute("ALTER TABLE inspection DROP COLUMN IF EXISTS made_via")
    op.drop_column("establishment", "uses_sales_software")
    op.drop_column("establishment", "uses_e_invoice")
