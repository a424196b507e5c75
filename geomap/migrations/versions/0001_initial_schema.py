"""initial schema

Revision ID: 0001
Revises: 
Hand-edited after autogenerate: extensions, VSIC seed, establishment_overview view.
Create Date: 2026-11-22 13:49:05.522867
"""
from __future__ import annotations

import csv
from pathlib import Path

from alembic import op
import sqlalchemy as sa
import geoalchemy2
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('key_hash', sa.String(length=128), nullable=False),
    sa.Column('scopes', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    op.create_table('industry',
    sa.Column('vsic_code', sa.String(length=8), nullable=False),
    sa.Column('name_vi', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=False),
    sa.Column('sector', sa.String(length=32), nullable=False),
    sa.Column('food_safety_applicable', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('risk_level', sa.SmallInteger(), server_default='1', nullable=False),
    sa.PrimaryKeyConstraint('vsic_code')
    )
    op.create_geospatial_table('ward',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('province', sa.Text(), nullable=False),
    sa.Column('local_srid', sa.Integer(), nullable=False),
    sa.Column('official_area_km2', sa.Float(), nullable=True),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('osm_relation_id', sa.BigInteger(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    op.create_geospatial_index('idx_ward_geom', 'ward', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('inspector', 'data_officer', 'ward_manager', 'admin')", name='ck_app_user_role'),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_geospatial_table('former_ward_zone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('is_synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_geospatial_index('idx_former_ward_zone_geom', 'former_ward_zone', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_former_ward_zone_ward_id'), 'former_ward_zone', ['ward_id'], unique=False)
    op.create_geospatial_table('infrastructure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('condition', sa.String(length=16), server_default='working', nullable=False),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('is_synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('geom', Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('street_light', 'drain', 'camera', 'sensor', 'loudspeaker', 'led_screen', 'wifi')", name='ck_infrastructure_kind'),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_infrastructure_geom', 'infrastructure', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_infrastructure_kind'), 'infrastructure', ['kind'], unique=False)
    op.create_index(op.f('ix_infrastructure_ward_id'), 'infrastructure', ['ward_id'], unique=False)
    op.create_geospatial_table('land_parcel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('map_sheet', sa.String(length=16), nullable=False),
    sa.Column('parcel_no', sa.String(length=16), nullable=False),
    sa.Column('land_use_code', sa.String(length=8), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=False),
    sa.Column('planning_zone', sa.Text(), nullable=True),
    sa.Column('is_synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ward_id', 'map_sheet', 'parcel_no')
    )
    op.create_geospatial_index('idx_land_parcel_geom', 'land_parcel', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_land_parcel_ward_id'), 'land_parcel', ['ward_id'], unique=False)
    op.create_geospatial_table('market',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('is_pilot_smart_market', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('footprint', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_market_footprint', 'market', ['footprint'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('idx_market_geom', 'market', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_market_ward_id'), 'market', ['ward_id'], unique=False)
    op.create_geospatial_table('public_facility',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('is_synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("kind IN ('school', 'health_station', 'ward_office', 'cultural_house', 'market_board', 'police')", name='ck_public_facility_kind'),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_geospatial_index('idx_public_facility_geom', 'public_facility', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_public_facility_ward_id'), 'public_facility', ['ward_id'], unique=False)
    op.create_geospatial_table('residential_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('households', sa.Integer(), nullable=True),
    sa.Column('is_synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ward_id', 'code')
    )
    op.create_geospatial_index('idx_residential_group_geom', 'residential_group', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_residential_group_ward_id'), 'residential_group', ['ward_id'], unique=False)
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('entity_type', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.BigInteger(), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_log_entity', 'audit_log', ['entity_type', 'entity_id', 'at'], unique=False)
    op.create_geospatial_table('establishment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('search_key', sa.Text(), server_default='', nullable=False),
    sa.Column('business_type', sa.String(length=16), nullable=False),
    sa.Column('vsic_code', sa.String(length=8), nullable=False),
    sa.Column('operating_status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('house_number', sa.Text(), nullable=True),
    sa.Column('street', sa.Text(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('residential_group_id', sa.Integer(), nullable=True),
    sa.Column('market_id', sa.Integer(), nullable=True),
    sa.Column('tax_code', sa.String(length=20), nullable=True),
    sa.Column('digital_payment', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('opening_hours', sa.Text(), nullable=True),
    sa.Column('employees', sa.Integer(), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('owner_name', sa.Text(), nullable=True),
    sa.Column('owner_id_number', sa.String(length=20), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('is_synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("business_type IN ('household', 'enterprise', 'cooperative', 'market_stall')", name='ck_establishment_business_type'),
    sa.CheckConstraint("operating_status IN ('active', 'suspended', 'closed')", name='ck_establishment_operating_status'),
    sa.ForeignKeyConstraint(['market_id'], ['market.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['residential_group_id'], ['residential_group.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['vsic_code'], ['industry.vsic_code'], ),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_establishment_geom', 'establishment', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_establishment_market_id'), 'establishment', ['market_id'], unique=False)
    op.create_index(op.f('ix_establishment_residential_group_id'), 'establishment', ['residential_group_id'], unique=False)
    op.create_index('ix_establishment_search_key_trgm', 'establishment', ['search_key'], unique=False, postgresql_using='gin', postgresql_ops={'search_key': 'gin_trgm_ops'})
    op.create_index(op.f('ix_establishment_tax_code'), 'establishment', ['tax_code'], unique=False)
    op.create_index(op.f('ix_establishment_vsic_code'), 'establishment', ['vsic_code'], unique=False)
    op.create_index(op.f('ix_establishment_ward_id'), 'establishment', ['ward_id'], unique=False)
    op.create_geospatial_table('field_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='new', nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('establishment_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('reporter_name', sa.Text(), nullable=True),
    sa.Column('reporter_contact', sa.Text(), nullable=True),
    sa.Column('is_synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("category IN ('garbage', 'infrastructure', 'urban_order', 'sanitation', 'food_safety', 'other')", name='ck_field_report_category'),
    sa.CheckConstraint("channel IN ('qr', 'web', 'app', 'hotline', 'officer', 'open311')", name='ck_field_report_channel'),
    sa.CheckConstraint("status IN ('new', 'received', 'assigned', 'in_progress', 'resolved', 'closed', 'duplicate', 'not_ward')", name='ck_field_report_status'),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['field_report.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishment.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id')
    )
    op.create_geospatial_index('idx_field_report_geom', 'field_report', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_field_report_establishment_id'), 'field_report', ['establishment_id'], unique=False)
    op.create_index('ix_field_report_ward_reported', 'field_report', ['ward_id', 'reported_at'], unique=False)
    op.create_table('inspection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('establishment_id', sa.Integer(), nullable=False),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=True),
    sa.Column('inspector_name', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('violations', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('follow_up_due', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('periodic', 'unannounced', 'complaint', 'follow_up')", name='ck_inspection_kind'),
    sa.CheckConstraint("result IN ('pass', 'violation', 'closed', 'not_found')", name='ck_inspection_result'),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inspector_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_inspection_establishment_date', 'inspection', ['establishment_id', 'inspected_on'], unique=False)
    op.create_table('licence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('establishment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('number', sa.Text(), nullable=True),
    sa.Column('issuer', sa.Text(), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('revoked_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('business_registration', 'food_safety_certificate', 'food_safety_commitment', 'other')", name='ck_licence_kind'),
    sa.CheckConstraint('expires_on IS NULL OR expires_on >= issued_on', name='ck_licence_dates'),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishment.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_licence_establishment_kind', 'licence', ['establishment_id', 'kind', 'issued_on'], unique=False)
    op.create_geospatial_table('stall',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('market_id', sa.Integer(), nullable=False),
    sa.Column('stall_no', sa.String(length=16), nullable=False),
    sa.Column('zone', sa.Text(), nullable=True),
    sa.Column('establishment_id', sa.Integer(), nullable=True),
    sa.Column('accepts_qr_pos', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishment.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['market_id'], ['market.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('market_id', 'stall_no')
    )
    op.create_geospatial_index('idx_stall_geom', 'stall', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_stall_establishment_id'), 'stall', ['establishment_id'], unique=False)
    op.create_index(op.f('ix_stall_market_id'), 'stall', ['market_id'], unique=False)
    op.create_table('field_report_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['field_report.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_field_report_photo_report_id'), 'field_report_photo', ['report_id'], unique=False)
    op.create_table('field_report_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('status_from', sa.String(length=16), nullable=True),
    sa.Column('status_to', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('is_public', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['field_report.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_field_report_update_report_id'), 'field_report_update', ['report_id'], unique=False)
    op.create_table('qr_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('short_code', sa.String(length=16), nullable=False),
    sa.Column('target_type', sa.String(length=16), nullable=False),
    sa.Column('establishment_id', sa.Integer(), nullable=True),
    sa.Column('stall_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("target_type IN ('establishment', 'stall')", name='ck_qr_code_target_type'),
    sa.CheckConstraint('(establishment_id IS NOT NULL) <> (stall_id IS NOT NULL)', name='ck_qr_code_one_target'),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stall_id'], ['stall.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('short_code'),
    sa.UniqueConstraint('token')
    )
    op.create_index(op.f('ix_qr_code_establishment_id'), 'qr_code', ['establishment_id'], unique=False)
    op.create_index(op.f('ix_qr_code_stall_id'), 'qr_code', ['stall_id'], unique=False)

    _seed_industries()
    op.execute(ESTABLISHMENT_OVERVIEW)


def _seed_industries() -> None:
    """VSIC 2018 codes the ward uses, from data/vsic2018.csv (reference data)."""
    path = Path(__file__).resolve().parents[3] / "data" / "vsic2018.csv"
    with open(path, encoding="utf-8") as f:
        rows = [
            {**r, "food_safety_applicable": r["food_safety_applicable"] == "true", "risk_level": int(r["risk_level"])}
            for r in csv.DictReader(f)
        ]
    industry = sa.table(
        "industry", sa.column("vsic_code"), sa.column("name_vi"), sa.column("name_en"), sa.column("sector"),
        sa.column("food_safety_applicable", sa.Boolean), sa.column("risk_level", sa.SmallInteger),
    )
    op.bulk_insert(industry, rows)


#: One row per establishment with what the status rules and the map need: its industry,
#: the latest licence of each kind and the last inspection. Statuses are derived from these
#: columns in Python (geomap.status), never stored.
ESTABLISHMENT_OVERVIEW = """
CREATE VIEW establishment_overview AS
SELECT e.id, e.ward_id, e.code, e.name, e.search_key, e.business_type, e.vsic_code,
       i.name_vi AS industry_name_vi, i.name_en AS industry_name_en, i.sector,
       i.food_safety_applicable, i.risk_level,
       e.operating_status, e.house_number, e.street, e.address,
       e.residential_group_id, rg.name AS residential_group, e.market_id, m.name AS market,
       st.stall_no, e.tax_code, e.digital_payment, e.opening_hours, e.employees, e.opened_on,
       e.owner_name, e.owner_id_number, e.phone, e.email, e.is_synthetic, e.updated_at, e.version,
       br.number AS registration_number, br.issued_on AS registration_issued_on,
       br.expires_on AS registration_expires_on, br.revoked_on AS registration_revoked_on,
       fc.number AS fs_certificate_number, fc.issued_on AS fs_certificate_issued_on,
       fc.expires_on AS fs_certificate_expires_on, fc.revoked_on AS fs_certificate_revoked_on,
       cm.number AS fs_commitment_number, cm.issued_on AS fs_commitment_issued_on,
       cm.revoked_on AS fs_commitment_revoked_on,
       li.inspected_on AS last_inspected_on, li.result AS last_inspection_result,
       li.kind AS last_inspection_kind, li.follow_up_due AS last_follow_up_due,
       e.geom
FROM establishment e
JOIN industry i ON i.vsic_code = e.vsic_code
LEFT JOIN residential_group rg ON rg.id = e.residential_group_id
LEFT JOIN market m ON m.id = e.market_id
LEFT JOIN LATERAL (SELECT s.stall_no FROM stall s WHERE s.establishment_id = e.id
                   ORDER BY s.id LIMIT 1) st ON true
LEFT JOIN LATERAL (SELECT l.number, l.issued_on, l.expires_on, l.revoked_on FROM licence l
                   WHERE l.establishment_id = e.id AND l.kind = 'business_registration'
                   ORDER BY l.issued_on DESC, l.id DESC LIMIT 1) br ON true
LEFT JOIN LATERAL (SELECT l.number, l.issued_on, l.expires_on, l.revoked_on FROM licence l
                   WHERE l.establishment_id = e.id AND l.kind = 'food_safety_certificate'
                   ORDER BY l.issued_on DESC, l.id DESC LIMIT 1) fc ON true
LEFT JOIN LATERAL (SELECT l.number, l.issued_on, l.revoked_on FROM licence l
                   WHERE l.establishment_id = e.id AND l.kind = 'food_safety_commitment'
                   ORDER BY l.issued_on DESC, l.id DESC LIMIT 1) cm ON true
LEFT JOIN LATERAL (SELECT n.inspected_on, n.result, n.kind, n.follow_up_due FROM inspection n
                   WHERE n.establishment_id = e.id
                   ORDER BY n.inspected_on DESC, n.id DESC LIMIT 1) li ON true
"""

def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS establishment_overview")
    op.drop_index(op.f('ix_qr_code_stall_id'), table_name='qr_code')
    op.drop_index(op.f('ix_qr_code_establishment_id'), table_name='qr_code')
    op.drop_table('qr_code')
    op.drop_index(op.f('ix_field_report_update_report_id'), table_name='field_report_update')
    op.drop_table('field_report_update')
    op.drop_index(op.f('ix_field_report_photo_report_id'), table_name='field_report_photo')
    op.drop_table('field_report_photo')
    op.drop_index(op.f('ix_stall_market_id'), table_name='stall')
    op.drop_index(op.f('ix_stall_establishment_id'), table_name='stall')
    op.drop_geospatial_index('idx_stall_geom', table_name='stall', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('stall')
    op.drop_index('ix_licence_establishment_kind', table_name='licence')
    op.drop_table('licence')
    op.drop_index('ix_inspection_establishment_date', table_name='inspection')
    op.drop_table('inspection')
    op.drop_index('ix_field_report_ward_reported', table_name='field_report')
    op.drop_index(op.f('ix_field_report_establishment_id'), table_name='field_report')
    op.drop_geospatial_index('idx_field_report_geom', table_name='field_report', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('field_report')
    op.drop_index(op.f('ix_establishment_ward_id'), table_name='establishment')
    op.drop_index(op.f('ix_establishment_vsic_code'), table_name='establishment')
    op.drop_index(op.f('ix_establishment_tax_code'), table_name='establishment')
    op.drop_index('ix_establishment_search_key_trgm', table_name='establishment', postgresql_using='gin', postgresql_ops={'search_key': 'gin_trgm_ops'})
    op.drop_index(op.f('ix_establishment_residential_group_id'), table_name='establishment')
    op.drop_index(op.f('ix_establishment_market_id'), table_name='establishment')
    op.drop_geospatial_index('idx_establishment_geom', table_name='establishment', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('establishment')
    op.drop_index('ix_audit_log_entity', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index(op.f('ix_residential_group_ward_id'), table_name='residential_group')
    op.drop_geospatial_index('idx_residential_group_geom', table_name='residential_group', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('residential_group')
    op.drop_index(op.f('ix_public_facility_ward_id'), table_name='public_facility')
    op.drop_geospatial_index('idx_public_facility_geom', table_name='public_facility', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('public_facility')
    op.drop_index(op.f('ix_market_ward_id'), table_name='market')
    op.drop_geospatial_index('idx_market_geom', table_name='market', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_index('idx_market_footprint', table_name='market', postgresql_using='gist', column_name='footprint')
    op.drop_geospatial_table('market')
    op.drop_index(op.f('ix_land_parcel_ward_id'), table_name='land_parcel')
    op.drop_geospatial_index('idx_land_parcel_geom', table_name='land_parcel', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('land_parcel')
    op.drop_index(op.f('ix_infrastructure_ward_id'), table_name='infrastructure')
    op.drop_index(op.f('ix_infrastructure_kind'), table_name='infrastructure')
    op.drop_geospatial_index('idx_infrastructure_geom', table_name='infrastructure', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('infrastructure')
    op.drop_index(op.f('ix_former_ward_zone_ward_id'), table_name='former_ward_zone')
    op.drop_geospatial_index('idx_former_ward_zone_geom', table_name='former_ward_zone', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('former_ward_zone')
    op.drop_table('app_user')
    op.drop_geospatial_index('idx_ward_geom', table_name='ward', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('ward')
    op.drop_table('industry')
    op.drop_table('api_key')
