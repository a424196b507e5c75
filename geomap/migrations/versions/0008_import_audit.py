"""Re-file old import audit entries about licences and inspections under their establishment

Revision ID: 0008_import_audit
Revises: 0001

Imports used to write one audit entry per licence or inspection under the licence or
inspection itself (``entity_type`` ``licence`` / ``inspection``, ``entity_id`` its id), so
they never showed in the establishment's history, which reads
``entity_type = 'establishment'``. Imports now file them under the establishment and name
the record in ``licence_id`` / ``inspection_id`` (as the edit services do). This moves the
old entries to that shape: the establishment is the one the entry recorded (an inserted
record's ``after.establishment_id``), else the one the licence or inspection belongs to.
``before`` and ``after`` are kept as written, with ``licence_id`` / ``inspection_id``
added. An entry whose establishment cannot be found (an updated record deleted since) is
left as it is. Only ``action = 'import'`` entries are touched: nothing else wrote these
entity types.
"""
from __future__ import annotations

from alembic import op

revision = "0008_import_audit"
down_revision = "0001"
branch_labels = None
depends_on = None

#: old entity_type -> (its table, the key naming it in the new shape)
KINDS = (("licence", "licence", "licence_id"), ("inspection", "inspection", "inspection_id"))


def upgrade() -> None:
    for entity_type, table, key in KINDS:
        op.execute(f"""
            UPDATE audit_log a SET
                entity_type = 'establishment',
                entity_id = s.establishment_id,
                before = CASE WHEN a.before IS NULL THEN NULL
                              ELSE a.before || jsonb_build_object('{key}', a.entity_id) END,
                after = CASE WHEN a.after IS NULL THEN jsonb_build_object('{key}', a.entity_id)
                             ELSE a.after || jsonb_build_object('{key}', a.entity_id) END
            FROM (
                SELECT o.id, COALESCE(
                    CASE WHEN jsonb_typeof(o.after) = 'object' AND o.after->>'establishment_id' ~ '^[0-9]+$'
                         THEN (o.after->>'establishment_id')::bigint END,
                    r.establishment_id) AS establishment_id
                FROM audit_log o LEFT JOIN {table} r ON r.id = o.entity_id
                WHERE o.action = 'import' AND o.entity_type = '{entity_type}'
            ) s
            WHERE a.id = s.id AND s.establishment_id IS NOT NULL
              AND (a.before IS NULL OR jsonb_typeof(a.before) = 'object')
              AND (a.after IS NULL OR jsonb_typeof(a.after) = 'object')""")


def downgrade() -> None:
    # Nothing to undo: the entries now read as the importer writes them, and the old shape is
    # not wanted back (it hid them from the establishment's history). Kept as a no-op so the
    # schema can still be downgraded past this revision.
    pass
