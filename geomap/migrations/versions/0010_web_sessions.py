"""One session for both apps: a CSRF secret and the client on each session; sign-in failures per client

Revision ID: 0010_web_sessions
Revises: 0001

- ``user_session.csrf_secret``: the per-session secret every form and fetch of the field app
  carries back (``X-CSRF-Token`` or the ``csrf_token`` field); filled for existing sessions.
- ``user_session.client``: the client address that opened the session (the admin's session list).
- ``sign_in_failure``: one row per failed sign-in (client address, the account when it exists; the
  name typed is not kept: people type passwords into the name field). The per-client throttle (N failures in M minutes from one client, across all names)
  and the per-client account lock read it, in PostgreSQL so every worker of every app sees the
  same counts. Rows older than a day are purged at sign-in.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_web_sessions"
down_revision = "0001"
branch_labels = None
depends_on = ("0002_accounts",)  # user_session and app_user are made there

#: 64 hex characters from PostgreSQL's cryptographic random source (gen_random_uuid, PostgreSQL 13+)
RANDOM_SECRET = "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')"


def upgrade() -> None:
    op.add_column("user_session", sa.Column("csrf_secret", sa.String(64), nullable=False,
                                            server_default=sa.text(RANDOM_SECRET)))
    op.add_column("user_session", sa.Column("client", sa.Text))
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("client", sa.Text, nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("app_user.id", ondelete="CASCADE")),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_sign_in_failure_client_at", "sign_in_failure", ["client", "at"])
    op.create_index("ix_sign_in_failure_user_client_at", "sign_in_failure", ["user_id", "client", "at"])


def downgrade() -> None:
    op.drop_table("sign_in_failure")
    op.drop_column("user_session", "client")
    op.drop_column("user_session", "csrf_secret")
