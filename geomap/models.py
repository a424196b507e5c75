"""The domain schema: SQLAlchemy 2 / GeoAlchemy2 models.

Geometry is stored in WGS84 (EPSG:4326); measuring happens in the ward's local VN-2000
grid. Every geometry column has a GiST index. Enumerations are short text codes guarded
by CHECK constraints (easier to extend in a migration than PostgreSQL enums); their
Vietnamese and English labels live in :mod:`geomap.i18n`. Personal data (owner name, ID
number, phone, reporter contact) sits in clearly named columns that the layer registry
never marks public.

Schema changes go through Alembic (``geomap/migrations``); never ``create_all``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SRID = 4326

BUSINESS_TYPES = ("household", "enterprise", "cooperative", "market_stall")
OPERATING_STATUSES = ("active", "suspended", "closed")
LICENCE_KINDS = ("business_registration", "food_safety_certificate", "food_safety_commitment", "other")
INSPECTION_KINDS = ("periodic", "unannounced", "complaint", "follow_up")
INSPECTION_RESULTS = ("pass", "violation", "closed", "not_found")
#: how an inspection was recorded (0011_field_visits): the inspector's phone, the staff app, or later from paper
INSPECTION_MADE_VIA = ("field_app", "staff_app", "paper")
#: what became of a field-app submission (0011_field_visits); ``pending`` only inside the transaction applying it
SUBMISSION_STATUSES = ("pending", "applied", "conflict", "refused")
PAYMENT_METHODS = ("qr_bank", "pos_card", "e_wallet", "bank_transfer")
#: digital platforms an establishment sells or takes orders on (``establishment.digital_platforms``)
DIGITAL_PLATFORMS = ("shopee", "lazada", "tiktok_shop", "grabfood", "shopeefood", "be", "zalo", "facebook",
                     "website", "other")
#: an establishment added in survey mode waits for a data officer's review (0012_survey)
REVIEW_STATUSES = ("pending", "approved", "rejected")
INFRASTRUCTURE_KINDS = ("street_light", "drain", "camera", "sensor", "loudspeaker", "led_screen", "wifi")
CONDITIONS = ("working", "faulty")
FACILITY_KINDS = ("school", "health_station", "ward_office", "cultural_house", "market_board", "police")
REPORT_CATEGORIES = ("garbage", "infrastructure", "urban_order", "sanitation", "food_safety", "other")
REPORT_CHANNELS = ("qr", "web", "app", "hotline", "officer", "open311")
REPORT_STATUSES = (
    "new", "received", "assigned", "in_progress", "resolved", "closed", "duplicate", "not_ward",
)
#: whether a report's description, free-text address and photos are public (0016_edge_limits)
REPORT_MODERATION = ("pending", "approved", "withheld")
#: the database default of ``public_id`` (migration 0007_public_ids): 16 random hex digits, not
#: derived from the id, the public feature id of layers without a public code of their own
PUBLIC_ID_DEFAULT = "left(replace(gen_random_uuid()::text, '-', ''), 16)"
#: staff roles; "city" (migration 0022_city_role) reads every ward and changes nothing
ROLES = ("inspector", "data_officer", "ward_manager", "admin", "city")
QR_TARGETS = ("establishment", "stall")
#: outcomes of a scan counted in qr_scan_day (0018_qr_scans)
QR_SCAN_OUTCOMES = ("valid", "revoked", "unknown", "malformed")
#: a hotspot cell's class and trend (0025_hotspot_layer_ratings; :mod:`geomap.field_reports.hotspots`)
HOTSPOT_CLASSES = ("hot", "cold", "not_significant")
HOTSPOT_TRENDS = ("rising", "falling", "stable", "new")
#: group-level indicators the ward imports per period (geomap.dashboard.group_indicators)
GROUP_INDICATORS = ("vneid_activation", "digital_skills", "digital_family", "digital_group")


def _check_in(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=name)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONB, list[str]: ARRAY(sa.Text)}


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now()
    )


# --- Territory ---------------------------------------------------------------------------


class Ward(Base):
    """A ward (phường) or commune (xã) with its boundary and local VN-2000 grid."""

    __tablename__ = "ward"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.Text)
    province: Mapped[str] = mapped_column(sa.Text)
    local_srid: Mapped[int] = mapped_column(sa.Integer)
    official_area_km2: Mapped[float | None] = mapped_column(sa.Float)
    population: Mapped[int | None] = mapped_column(sa.Integer)
    osm_relation_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: a ward set up by ``geomap ward create``: its profile (targets, deadlines...) and boundary source (0014)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)


class FormerWardZone(Base):
    """The area of one of the wards merged into today's ward (2025 reorganisation)."""

    __tablename__ = "former_ward_zone"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: random public feature id (OGC API): never the sequential id (0007_public_ids)
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True, index=True,
                                           server_default=sa.text(PUBLIC_ID_DEFAULT))
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.Text)
    is_synthetic: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)


STREET_KINDS = ("street", "alley")


class Street(Base):
    """A named street or alley (kiệt/hẻm) of a ward: its ways merged into one MultiLineString (0013).

    ``street_key``: the base street's folded name ("hoang dieu"); ``alley``: the alley chain below it
    ("242", "64/2"; NULL for the street itself); ``name_key``: both ("k242 hoang dieu"), unique per ward.
    """

    __tablename__ = "street"
    __table_args__ = (
        sa.UniqueConstraint("ward_id", "name_key", name="uq_street_ward_name_key"),
        _check_in("kind", STREET_KINDS, "ck_street_kind"),
        sa.Index("ix_street_ward_street_key", "ward_id", "street_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True, server_default=sa.text(PUBLIC_ID_DEFAULT))
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.Text)
    name_key: Mapped[str] = mapped_column(sa.Text)
    street_key: Mapped[str] = mapped_column(sa.Text)
    alley: Mapped[str | None] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.String(16))
    highway: Mapped[str | None] = mapped_column(sa.Text)
    osm_ids: Mapped[list[int]] = mapped_column(ARRAY(sa.BigInteger), server_default="{}")
    length_m: Mapped[float | None] = mapped_column(sa.Float)
    source: Mapped[str | None] = mapped_column(sa.Text)
    geom = mapped_column(Geometry("MULTILINESTRING", srid=SRID, spatial_index=True), nullable=False)


class ResidentialGroup(Base):
    """A residential group (tổ dân phố)."""

    __tablename__ = "residential_group"
    __table_args__ = (sa.UniqueConstraint("ward_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: random public feature id (OGC API): never the sequential id (0007_public_ids)
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True, index=True,
                                           server_default=sa.text(PUBLIC_ID_DEFAULT))
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.Text)
    population: Mapped[int | None] = mapped_column(sa.Integer)
    households: Mapped[int | None] = mapped_column(sa.Integer)
    is_synthetic: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)


# --- Business ----------------------------------------------------------------------------


class Industry(Base):
    """A VSIC 2018 industry code with the flags the status rules need."""

    __tablename__ = "industry"
    vsic_code: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    name_vi: Mapped[str] = mapped_column(sa.Text)
    name_en: Mapped[str] = mapped_column(sa.Text)
    sector: Mapped[str] = mapped_column(sa.String(32))  # food_drink, retail, accommodation, ...
    food_safety_applicable: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    risk_level: Mapped[int] = mapped_column(sa.SmallInteger, server_default="1")  # 1 low .. 3 high


class Market(Base, TimestampMixin):
    """A market (chợ)."""

    __tablename__ = "market"
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.Text)
    address: Mapped[str | None] = mapped_column(sa.Text)
    is_pilot_smart_market: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    is_synthetic: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    footprint = mapped_column(Geometry("POLYGON", srid=SRID, spatial_index=True))


class Establishment(Base, TimestampMixin):
    """A business establishment (cơ sở kinh doanh), market stalls included."""

    __tablename__ = "establishment"
    __table_args__ = (
        _check_in("business_type", BUSINESS_TYPES, "ck_establishment_business_type"),
        _check_in("operating_status", OPERATING_STATUSES, "ck_establishment_operating_status"),
        _check_in("review_status", REVIEW_STATUSES, "ck_establishment_review_status"),
        sa.Index("ix_establishment_unpublished", "ward_id", "id",
                 postgresql_where=sa.text("review_status <> 'approved'")),
        sa.Index("ix_establishment_search_key_trgm", "search_key", postgresql_using="gin",
                 postgresql_ops={"search_key": "gin_trgm_ops"}),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.Text)
    #: name + address folded to lower case without diacritics, for search ("pho" finds "Phở")
    search_key: Mapped[str] = mapped_column(sa.Text, server_default="")
    business_type: Mapped[str] = mapped_column(sa.String(16))
    vsic_code: Mapped[str] = mapped_column(sa.ForeignKey("industry.vsic_code"), index=True)
    operating_status: Mapped[str] = mapped_column(sa.String(16), server_default="active")
    house_number: Mapped[str | None] = mapped_column(sa.Text)
    street: Mapped[str | None] = mapped_column(sa.Text)
    address: Mapped[str | None] = mapped_column(sa.Text)
    residential_group_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("residential_group.id", ondelete="SET NULL"), index=True)
    market_id: Mapped[int | None] = mapped_column(sa.ForeignKey("market.id", ondelete="SET NULL"), index=True)
    tax_code: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    digital_payment: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")
    opening_hours: Mapped[str | None] = mapped_column(sa.Text)  # "06:00-22:00"
    employees: Mapped[int | None] = mapped_column(sa.Integer)
    opened_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    closed_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    # personal data: never public
    owner_name: Mapped[str | None] = mapped_column(sa.Text)
    owner_id_number: Mapped[str | None] = mapped_column(sa.String(20))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    email: Mapped[str | None] = mapped_column(sa.Text)
    is_synthetic: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    # optimistic locking, by hand: geomap/records/edit.py (UPDATE ... WHERE version = :expected)
    version: Mapped[int] = mapped_column(sa.Integer, server_default="1", nullable=False)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))
    #: how the point was obtained: exact | address | street | group; NULL without a point
    #: (kept with geom by a trigger, migration 0009_location_quality)
    location_quality: Mapped[str | None] = mapped_column(sa.String(16))
    #: e-commerce accounts it sells on (shopee, grabfood, zalo, ...): one of the four digital platforms
    #: the plan's ≥50 % target counts (geomap.dashboard.indicators.digital_platform_parts)
    digital_platforms: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")
    #: issues e-invoices; uses sales / management software (0017_indicators)
    uses_e_invoice: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    uses_sales_software: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    #: last checked on site in survey mode, and by whom (0012_survey)
    verified_on: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    verified_by: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    #: approved (public) | pending (added on the street, waiting for a data officer) | rejected (0012_survey)
    review_status: Mapped[str] = mapped_column(sa.String(16), server_default="approved")
    reviewed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    licences: Mapped[list[Licence]] = relationship(back_populates="establishment")
    inspections: Mapped[list[Inspection]] = relationship(back_populates="establishment")


class Stall(Base, TimestampMixin):
    """A stall (quầy/sạp) in a market; its trader is an establishment of type market_stall."""

    __tablename__ = "stall"
    __table_args__ = (sa.UniqueConstraint("market_id", "stall_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    market_id: Mapped[int] = mapped_column(sa.ForeignKey("market.id", ondelete="CASCADE"), index=True)
    stall_no: Mapped[str] = mapped_column(sa.String(16))
    zone: Mapped[str | None] = mapped_column(sa.Text)  # khu hàng tươi sống, khô, ...
    establishment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("establishment.id", ondelete="SET NULL"), index=True)
    accepts_qr_pos: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    #: what the stall sells (0015_base_layers)
    trade: Mapped[str | None] = mapped_column(sa.Text)
    #: the stall holder: personal data, never public (0015_base_layers)
    holder_name: Mapped[str | None] = mapped_column(sa.Text)
    holder_phone: Mapped[str | None] = mapped_column(sa.Text)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))


class StallPaymentEvidence(Base):
    """A stall seen accepting and transacting by QR or card: when, by whom, an optional photo
    (0015_base_layers). The pilot target counts stalls with evidence within a period."""

    __tablename__ = "stall_payment_evidence"
    __table_args__ = (
        sa.UniqueConstraint("stall_id", "seen_on", name="uq_stall_payment_evidence_stall_seen"),
        sa.CheckConstraint("method IS NULL OR method IN ('qr_bank', 'pos_card', 'e_wallet', 'bank_transfer')",
                           name="ck_stall_payment_evidence_method"),
        sa.Index("ix_stall_payment_evidence_seen", "stall_id", "seen_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    stall_id: Mapped[int] = mapped_column(sa.ForeignKey("stall.id", ondelete="CASCADE"))
    method: Mapped[str | None] = mapped_column(sa.String(16))
    seen_on: Mapped[dt.date] = mapped_column(sa.Date)
    seen_by: Mapped[str] = mapped_column(sa.Text)
    #: a photo's file name or link, as the officer gave it
    photo: Mapped[str | None] = mapped_column(sa.Text)
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class Licence(Base, TimestampMixin):
    """A licence (giấy phép): registration, food-safety certificate or commitment, other."""

    __tablename__ = "licence"
    __table_args__ = (
        _check_in("kind", LICENCE_KINDS, "ck_licence_kind"),
        sa.CheckConstraint("expires_on IS NULL OR expires_on >= issued_on", name="ck_licence_dates"),
        sa.Index("ix_licence_establishment_kind", "establishment_id", "kind", "issued_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    establishment_id: Mapped[int] = mapped_column(sa.ForeignKey("establishment.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    number: Mapped[str | None] = mapped_column(sa.Text)
    issuer: Mapped[str | None] = mapped_column(sa.Text)
    issued_on: Mapped[dt.date] = mapped_column(sa.Date)
    expires_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    revoked_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.Text)
    establishment: Mapped[Establishment] = relationship(back_populates="licences")


class Inspection(Base, TimestampMixin):
    """An inspection (kiểm tra) and its result."""

    __tablename__ = "inspection"
    __table_args__ = (
        _check_in("kind", INSPECTION_KINDS, "ck_inspection_kind"),
        _check_in("result", INSPECTION_RESULTS, "ck_inspection_result"),
        _check_in("made_via", INSPECTION_MADE_VIA, "ck_inspection_made_via"),
        sa.Index("ix_inspection_made_via_date", "made_via", "inspected_on"),
        sa.Index("ix_inspection_establishment_date", "establishment_id", "inspected_on"),
        sa.UniqueConstraint("client_id", name="uq_inspection_client_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    establishment_id: Mapped[int] = mapped_column(sa.ForeignKey("establishment.id", ondelete="CASCADE"))
    inspected_on: Mapped[dt.date] = mapped_column(sa.Date)
    inspector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    inspector_name: Mapped[str | None] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.String(16))
    result: Mapped[str] = mapped_column(sa.String(16))
    #: [{"code": "ATTP-03", "severity": 1..3, "text": "..."}]
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    notes: Mapped[str | None] = mapped_column(sa.Text)
    follow_up_due: Mapped[dt.date | None] = mapped_column(sa.Date)
    #: field_app | staff_app | paper (0011_field_visits)
    made_via: Mapped[str] = mapped_column(sa.String(16), server_default="staff_app")
    #: the id the phone made for the submission; a replay is applied once
    client_id: Mapped[Any | None] = mapped_column(UUID(as_uuid=True))
    #: where the phone was when the result was saved, its accuracy, and how far that is from the establishment
    phone_geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=True)
    phone_accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    distance_m: Mapped[float | None] = mapped_column(sa.Float)
    #: the phone's clock at saving (audit only; ``created_at``, the server's time, is the record)
    phone_time: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    establishment: Mapped[Establishment] = relationship(back_populates="inspections")


class FieldSubmission(Base):
    """A result the field app sent, whatever became of it: applied, conflict or refused (0011_field_visits)."""

    __tablename__ = "field_submission"
    __table_args__ = (
        _check_in("status", SUBMISSION_STATUSES, "ck_field_submission_status"),
        sa.Index("ix_field_submission_user_date", "user_id", "route_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[Any] = mapped_column(UUID(as_uuid=True), unique=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    ward_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"))
    establishment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("establishment.id", ondelete="SET NULL"))
    route_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(16))
    inspection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inspection.id", ondelete="SET NULL"))
    #: what the phone sent (photos summarised by name and size)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    #: why it was not applied: [{"code", "vi", "en"}]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    received_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class InspectionRoute(Base):
    """One inspector's planned day; the stops are a JSON document the phone reads whole (0005_routes)."""

    __tablename__ = "inspection_route"
    __table_args__ = (
        sa.Index("ix_inspection_route_ward_date", "ward_id", "route_date"),
        sa.Index("ix_inspection_route_inspector_date", "inspector_id", "route_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"))
    route_date: Mapped[dt.date] = mapped_column(sa.Date)
    inspector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    inspector_name: Mapped[str] = mapped_column(sa.Text)
    stops: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class InspectionPhoto(Base):
    """A photo taken on site, stored with its EXIF removed (0005_routes)."""

    __tablename__ = "inspection_photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspection.id", ondelete="CASCADE"), index=True)
    media_type: Mapped[str] = mapped_column(sa.String(32))
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class EstablishmentPhoto(Base):
    """A storefront photo taken in survey mode, stored with its EXIF removed (0012_survey)."""

    __tablename__ = "establishment_photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    establishment_id: Mapped[int] = mapped_column(sa.ForeignKey("establishment.id", ondelete="CASCADE"),
                                                  index=True)
    kind: Mapped[str] = mapped_column(sa.String(16), server_default="storefront")
    media_type: Mapped[str] = mapped_column(sa.String(32))
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    taken_by: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


# --- Land, infrastructure, facilities -------------------------------------------------------


class LandParcel(Base):
    """A land parcel (thửa đất)."""

    __tablename__ = "land_parcel"
    __table_args__ = (sa.UniqueConstraint("ward_id", "map_sheet", "parcel_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: random public feature id (OGC API): never the sequential id (0007_public_ids)
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True, index=True,
                                           server_default=sa.text(PUBLIC_ID_DEFAULT))
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"), index=True)
    map_sheet: Mapped[str] = mapped_column(sa.String(16))  # tờ bản đồ
    parcel_no: Mapped[str] = mapped_column(sa.String(16))  # số thửa
    land_use_code: Mapped[str] = mapped_column(sa.String(8))  # ODT, TMD, DGT, ...
    area_m2: Mapped[float] = mapped_column(sa.Float)
    planning_zone: Mapped[str | None] = mapped_column(sa.Text)
    is_synthetic: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    geom = mapped_column(Geometry("POLYGON", srid=SRID, spatial_index=True), nullable=False)


class Infrastructure(Base, TimestampMixin):
    """Urban infrastructure: street lights, drains (lines), cameras, sensors, ..."""

    __tablename__ = "infrastructure"
    __table_args__ = (_check_in("kind", INFRASTRUCTURE_KINDS, "ck_infrastructure_kind"),
                      _check_in("condition", CONDITIONS, "ck_infrastructure_condition"))
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    condition: Mapped[str] = mapped_column(sa.String(16), server_default="working")  # working/faulty
    installed_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    #: when the condition was last checked (0015_base_layers)
    checked_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    is_synthetic: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False)


class PublicFacility(Base):
    """Schools, the health station, the ward office, cultural houses."""

    __tablename__ = "public_facility"
    __table_args__ = (_check_in("kind", FACILITY_KINDS, "ck_public_facility_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: random public feature id (OGC API): never the sequential id (0007_public_ids)
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True, index=True,
                                           server_default=sa.text(PUBLIC_ID_DEFAULT))
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.Text)
    address: Mapped[str | None] = mapped_column(sa.Text)
    is_synthetic: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)


class CommercialStreet(Base, TimestampMixin):
    """A pilot cashless commercial street: a line (its establishments within 30 m) or a polygon
    (those inside) (0015_base_layers; counted in the view ``commercial_street_overview``)."""

    __tablename__ = "commercial_street"
    __table_args__ = (
        sa.UniqueConstraint("ward_id", "code", name="uq_commercial_street_ward_code"),
        sa.CheckConstraint("GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING', 'POLYGON', 'MULTIPOLYGON')",
                           name="ck_commercial_street_geom"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True,
                                           server_default=sa.text(PUBLIC_ID_DEFAULT))
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.Text)
    note: Mapped[str | None] = mapped_column(sa.Text)
    is_synthetic: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False)


# --- Field reports ---------------------------------------------------------------------


class FieldReport(Base, TimestampMixin):
    """A field report (phản ánh hiện trường) from a citizen or an officer."""

    __tablename__ = "field_report"
    __table_args__ = (
        _check_in("category", REPORT_CATEGORIES, "ck_field_report_category"),
        _check_in("status", REPORT_STATUSES, "ck_field_report_status"),
        _check_in("channel", REPORT_CHANNELS, "ck_field_report_channel"),
        sa.Index("ix_field_report_ward_reported", "ward_id", "reported_at"),
        # 0004_reports: replay protection, work lists, duplicate search in metres
        sa.Index("ix_field_report_submission_hash", "submission_hash", "reported_at"),
        sa.Index("ix_field_report_ward_status_deadline", "ward_id", "status", "deadline_at"),
        sa.Index("ix_field_report_ward_category_reported", "ward_id", "category", "reported_at"),
        sa.Index("ix_field_report_geog", sa.text("geography(geom)"), postgresql_using="gist"),
        _check_in("moderation", REPORT_MODERATION, "ck_field_report_moderation"),  # 0016_edge_limits
        sa.Index("ix_field_report_ward_moderation", "ward_id", "moderation"),
        _check_in("personal_erased_why", ("retention", "request"), "ck_field_report_personal_erased_why"),  # 0026
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"))
    #: opaque id used in public tracking links (never the sequential id)
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    category: Mapped[str] = mapped_column(sa.String(16))
    description: Mapped[str] = mapped_column(sa.Text)
    channel: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), server_default="new")
    reported_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    deadline_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    establishment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("establishment.id", ondelete="SET NULL"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    duplicate_of_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("field_report.id", ondelete="SET NULL"), index=True)
    # personal data: never public
    reporter_name: Mapped[str | None] = mapped_column(sa.Text)
    reporter_contact: Mapped[str | None] = mapped_column(sa.Text)
    #: free-text address (Open311 address_string, staff intake); the point stays authoritative
    address: Mapped[str | None] = mapped_column(sa.Text)
    #: sha256 of the submission: a replay within a minute finds the report it created
    submission_hash: Mapped[str | None] = mapped_column(sa.String(64))
    api_key_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_key.id", ondelete="SET NULL"))
    is_synthetic: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    # moderation (0016_edge_limits): description, address and photos are public only once approved
    moderation: Mapped[str] = mapped_column(sa.String(16), server_default="pending")
    #: the text the moderator published (the reporter's, perhaps with personal details taken out)
    public_description: Mapped[str | None] = mapped_column(sa.Text)
    photos_public: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    moderated_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    moderated_by: Mapped[int | None] = mapped_column(
        sa.ForeignKey("app_user.id", ondelete="SET NULL", name="fk_field_report_moderated_by"))
    # reporter's consent and the retention limit (0026_report_retention; geomap.field_reports.retention)
    #: when the reporter agreed to the purpose notice (set only when a name or contact was given)
    contact_consent_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    #: the version of the notice they agreed to (retention.NOTICE_VERSION)
    consent_notice: Mapped[str | None] = mapped_column(sa.String(32))
    #: when the name, contact, photos and mail addresses were erased after the retention period
    personal_erased_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    photos_erased: Mapped[int] = mapped_column(sa.SmallInteger, server_default="0")
    #: ``retention`` (the period ran out) or ``request`` (the reporter asked)
    personal_erased_why: Mapped[str | None] = mapped_column(sa.String(16))
    #: the language the reporter used on the form (``vi``/``en``; 0028): their status mails are written in it
    reporter_lang: Mapped[str | None] = mapped_column(sa.String(2))


class FieldReportUpdate(Base):
    """One step of a report's history: status change, assignment or note."""

    __tablename__ = "field_report_update"
    __table_args__ = (sa.Index("ix_field_report_update_report_at", "report_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("field_report.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    status_from: Mapped[str | None] = mapped_column(sa.String(16))
    status_to: Mapped[str | None] = mapped_column(sa.String(16))
    note: Mapped[str | None] = mapped_column(sa.Text)
    is_public: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    #: an assignment step: who the report was given to (the pages name them in the reader's language)
    assignee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("app_user.id", ondelete="SET NULL", name="fk_field_report_update_assignee_id"))


class FieldReportPhoto(Base):
    """A photo attached to a report, stored with its EXIF removed."""

    __tablename__ = "field_report_photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("field_report.id", ondelete="CASCADE"), index=True)
    media_type: Mapped[str] = mapped_column(sa.String(32))
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class ReportMail(Base):
    """A message to a reporter about their report's new status: written with the change, sent after it
    (migration 0020_report_mail; :mod:`geomap.field_reports.mail`)."""

    __tablename__ = "report_mail"
    __table_args__ = (sa.Index("ix_report_mail_pending", "id", postgresql_where=sa.text("sent_at IS NULL")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("field_report.id", ondelete="CASCADE"), index=True)
    #: NULL once erased after the retention period (0026_report_retention)
    to_address: Mapped[str | None] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    sent_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class ReportRating(Base):
    """A citizen's one-tap rating of a resolved report on its tracking page: one per report (the key), so a
    replay or a second tap counts nothing (migration 0025_hotspot_layer_ratings)."""

    __tablename__ = "report_rating"
    __table_args__ = (sa.Index("ix_report_rating_rated_at", "rated_at"),)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("field_report.id", ondelete="CASCADE"), primary_key=True)
    satisfied: Mapped[bool] = mapped_column(sa.Boolean)
    rated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class HotspotCell(Base):
    """One cell of the latest hotspot analysis of a ward and window length (``window_days``): the ``hotspots``
    layer (migration 0025_hotspot_layer_ratings). A new analysis of the same ward and window replaces the rows;
    nothing about a report's text or its reporter is kept."""

    __tablename__ = "hotspot_cell"
    __table_args__ = (
        _check_in("hotspot_class", HOTSPOT_CLASSES, "ck_hotspot_cell_class"),
        _check_in("trend", HOTSPOT_TRENDS, "ck_hotspot_cell_trend"),
        sa.CheckConstraint("window_days > 0", name="ck_hotspot_cell_window"),
        sa.Index("ix_hotspot_cell_ward_window", "ward_id", "window_days"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``<cell>-<window>d-w<ward id>``: the public feature id (OGC API)
    public_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"))
    window_days: Mapped[int] = mapped_column(sa.Integer)
    window_start: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    window_end: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    analysed_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    grid: Mapped[str] = mapped_column(sa.Text)
    cell: Mapped[str] = mapped_column(sa.String(40))
    report_count: Mapped[int] = mapped_column(sa.Integer)
    previous_count: Mapped[int] = mapped_column(sa.Integer)
    hotspot_class: Mapped[str] = mapped_column(sa.String(16))
    class_vi: Mapped[str] = mapped_column(sa.Text)
    class_en: Mapped[str] = mapped_column(sa.Text)
    trend: Mapped[str] = mapped_column(sa.String(8))
    z_score: Mapped[float | None] = mapped_column(sa.Float)
    q_value: Mapped[float | None] = mapped_column(sa.Float)
    geom = mapped_column(Geometry("POLYGON", srid=SRID, spatial_index=True), nullable=False)


# --- QR codes ---------------------------------------------------------------------------


class QrCode(Base):
    """An opaque QR code for an establishment or a stall; reissue bumps the version."""

    __tablename__ = "qr_code"
    __table_args__ = (
        _check_in("target_type", QR_TARGETS, "ck_qr_code_target_type"),
        sa.CheckConstraint("(establishment_id IS NOT NULL) <> (stall_id IS NOT NULL)", name="ck_qr_code_one_target"),
        # one active code per target (0003_qr)
        sa.Index("ux_qr_code_active_establishment", "establishment_id", unique=True,
                 postgresql_where=sa.text("revoked_at IS NULL AND establishment_id IS NOT NULL")),
        sa.Index("ux_qr_code_active_stall", "stall_id", unique=True,
                 postgresql_where=sa.text("revoked_at IS NULL AND stall_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(32), unique=True)
    short_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    target_type: Mapped[str] = mapped_column(sa.String(16))
    establishment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("establishment.id", ondelete="CASCADE"), index=True)
    stall_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stall.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    issued_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(sa.Text)


class GroupIndicatorValue(Base):
    """One residential group's value of an imported indicator for one period (0024_group_indicators):
    a numerator and denominator, or a share alone; re-importing the period replaces it (audited)."""

    __tablename__ = "group_indicator_value"
    __table_args__ = (
        sa.UniqueConstraint("residential_group_id", "period", "indicator", name="uq_group_indicator_value"),
        _check_in("indicator", GROUP_INDICATORS, "ck_group_indicator_value_indicator"),
        sa.CheckConstraint("value >= 0 AND value <= 1", name="ck_group_indicator_value_value"),
        sa.CheckConstraint("(numerator IS NULL) = (denominator IS NULL)", name="ck_group_indicator_value_pair"),
        sa.CheckConstraint("numerator >= 0 AND denominator > 0 AND numerator <= denominator",
                           name="ck_group_indicator_value_counts"),
        sa.CheckConstraint("period_start <= period_end", name="ck_group_indicator_value_period"),
        sa.Index("ix_group_indicator_value_ward_end", "ward_id", "period_end"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("ward.id", ondelete="CASCADE"))
    residential_group_id: Mapped[int] = mapped_column(sa.ForeignKey("residential_group.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(sa.String(8))
    period_start: Mapped[dt.date] = mapped_column(sa.Date)
    period_end: Mapped[dt.date] = mapped_column(sa.Date)
    indicator: Mapped[str] = mapped_column(sa.String(32))
    numerator: Mapped[int | None] = mapped_column(sa.Integer)
    denominator: Mapped[int | None] = mapped_column(sa.Integer)
    value: Mapped[float] = mapped_column(sa.Float)
    source_file: Mapped[str | None] = mapped_column(sa.Text)
    imported_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    imported_by: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    imported_by_name: Mapped[str] = mapped_column(sa.Text, server_default="system")


class QrScanDay(Base):
    """Scans of QR codes counted per local day, code and outcome (0018_qr_scans); nothing about who scanned.

    ``code``: the normalised token of a well-formed code (issued or not), ``''`` for a malformed one."""

    __tablename__ = "qr_scan_day"
    __table_args__ = (
        _check_in("outcome", QR_SCAN_OUTCOMES, "ck_qr_scan_day_outcome"),
        sa.CheckConstraint("code ~ '^[a-z2-7]{0,16}$'", name="ck_qr_scan_day_code"),
        sa.CheckConstraint("count >= 0", name="ck_qr_scan_day_count"),
        sa.Index("ix_qr_scan_day_code", "code", "day"),
    )
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), primary_key=True, server_default="")
    outcome: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    count: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")


# --- Users, API keys, audit ------------------------------------------------------------------


class User(Base, TimestampMixin):
    """A staff account. The public has none."""

    __tablename__ = "app_user"
    __table_args__ = (_check_in("role", ROLES, "ck_app_user_role"),
                      # a city account is bound to no ward (0022_city_role)
                      sa.CheckConstraint("role <> 'city' OR ward_id IS NULL", name="ck_app_user_city_no_ward"))
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[str] = mapped_column(sa.Text)
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str] = mapped_column(sa.Text)
    ward_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ward.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    failed_logins: Mapped[int] = mapped_column(sa.Integer, server_default="0")  # migration 0002_accounts
    locked_until: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class UserSession(Base):
    """A sign-in session of the staff app; only the token's SHA-256 is stored (0002_accounts)."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    last_seen_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    #: the per-session CSRF secret the field app's forms and fetches carry back (0010_web_sessions)
    csrf_secret: Mapped[str] = mapped_column(sa.String(64), server_default=sa.text(
        "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')"))
    #: the client address that opened the session (0010_web_sessions)
    client: Mapped[str | None] = mapped_column(sa.Text)


class SignInFailure(Base):
    """One failed sign-in: the per-client throttle and the per-client account lock count these (0010_web_sessions)."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (sa.Index("ix_sign_in_failure_client_at", "client", "at"),
                      sa.Index("ix_sign_in_failure_user_client_at", "user_id", "client", "at"))
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    client: Mapped[str] = mapped_column(sa.Text)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class ApiKey(Base):
    """A key for third-party apps (Open311) and the city's internal API access."""

    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text)
    key_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class AuditLog(Base):
    """Every change: who, when, what, before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity", "entity_type", "entity_id", "at"),)
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    username: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(32))  # create, update, close, import, ...
    entity_type: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(sa.Text)


# --- The public service's shared rate limits (0016_edge_limits) ----------------------------


class RateHit(Base):
    """Requests of one client to one limiter in one fixed window, summed across worker processes
    (UNLOGGED: lost in a crash, which only forgives the current window)."""

    __tablename__ = "rate_hit"
    __table_args__ = {"prefixes": ["UNLOGGED"]}
    limiter: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    client: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    win: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(sa.Integer, server_default="0")


class EstablishmentCell(Base):
    """Establishments counted per vector-tile cell (zoom ``z`` 0..14, cell ``gx``/``gy`` of that zoom's global grid
    of 64·2^z cells a side, published rows or not): number, sums of longitude, of Mercator ordinate and of ids.
    Kept by the ``establishment_cell_*`` triggers on ``establishment`` (migration 0027); read by
    :func:`geomap.layer_reader.read_tile` for clustered tiles."""

    __tablename__ = "establishment_cell"
    z: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    gx: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    gy: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    public: Mapped[bool] = mapped_column(sa.Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(sa.Integer)
    sx: Mapped[float] = mapped_column(sa.Double)
    sy: Mapped[float] = mapped_column(sa.Double)
    sid: Mapped[int] = mapped_column(sa.BigInteger)


class TileChange(Base):
    """One writing statement on ``table_name`` (trigger ``tile_change``, migration 0019): the tile cache's
    change count of a layer is the sum of ``weight`` over the tables its source reads."""

    __tablename__ = "tile_change"
    __table_args__ = (sa.Index("ix_tile_change_table", "table_name", postgresql_include=["weight"]),)
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(sa.Text)
    weight: Mapped[int] = mapped_column(sa.BigInteger, server_default="1")
