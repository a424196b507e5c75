"""Rate limits shared by every worker; report text and photos public only once a moderator says so

Revision ID: 0016_edge_limits
Revises: 0001

``rate_hit`` (UNLOGGED: a crash may lose it, nothing else depends on it, and no WAL is
written for it) counts each client's requests per limiter per fixed window (the window's
start in whole seconds since the epoch, divided by its length), summed across the public
service's worker processes: :mod:`geomap.web.ratelimit`.

``field_report.moderation`` (``pending`` → ``approved`` or ``withheld``): as FixMyStreet
does, a report's description, free-text address and photos reach the public (tracking page,
Open311) only after ward staff approve them; until then the public sees the category, the
location, the status and the public notes. ``public_description`` is the text the moderator
published (the reporter's text, possibly with a name or a phone number taken out),
``photos_public`` whether its photos are shown. Existing reports start ``pending``: they were
published without review, and a moderator decides now.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_edge_limits"
down_revision = "0001"
branch_labels = None
depends_on = None

MODERATION = ("pending", "approved", "withheld")


def upgrade() -> None:
    op.execute("CREATE UNLOGGED TABLE rate_hit (limiter varchar(16) NOT NULL, client text NOT NULL, "
               "win bigint NOT NULL, hits integer NOT NULL DEFAULT 0, PRIMARY KEY (limiter, client, win))")
    op.add_column("field_report", sa.Column("moderation", sa.String(16), server_default="pending", nullable=False))
    op.create_check_constraint("ck_field_report_moderation", "field_report",
                               "moderation IN ('pending', 'approved', 'withheld')")
    op.add_column("field_report", sa.Column("public_description", sa.Text))
    op.add_column("field_report", sa.Column("photos_public", sa.Boolean, server_default=sa.false(), nullable=False))
    op.add_column("field_report", sa.Column("moderated_at", sa.DateTime(timezone=True)))
    op.add_column("field_report", sa.Column("moderated_by", sa.Integer,
                                            sa.ForeignKey("app_user.id", ondelete="SET NULL",
                                                          name="fk_field_report_moderated_by")))
    op.create_index("ix_field_report_ward_moderation", "field_report", ["ward_id", "moderation"])


def downgrade() -> None:
    op.drop_index("ix_field_report_ward_moderation", "field_report")
    for column in ("moderated_by", "moderated_at", "photos_public", "public_description"):
        op.drop_column("field_report", column)
    op.drop_constraint("ck_field_report_moderation", "field_report")
    op.drop_column("field_report", "moderation")
    op.execute("DROP TABLE rate_hit")
