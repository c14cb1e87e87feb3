"""The directory schema as first published: the HSDS-shaped tables, every row keyed by its
directory version, and the full-text index (FTS5 on SQLite, a weighted tsvector on PostgreSQL).

The DDL is written out here rather than taken from the models, so that this revision stays
what it was when the models change.

Revision ID: 0001
Revises:
Create Date: 2026-03-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "address",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("address_1", sa.String(), nullable=False),
        sa.Column("city", sa.String(), nullable=False),
        sa.Column("postal_code", sa.String(), nullable=False),
        sa.Column("state_province", sa.String(), nullable=False),
        sa.Column("country", sa.String(), nullable=False),
        sa.Column("address_type", sa.String(), nullable=False),
        sa.Column("street", sa.String(), nullable=True),
        sa.Column("house_number", sa.String(), nullable=True),
        sa.Column("addition", sa.String(), nullable=True),
        sa.Column("municipality", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("directory_version_id", "id"),
    )
    op.create_index(op.f("ix_address_location_id"), "address", ["location_id"], unique=False)
    op.create_table(
        "attribute",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("link_id", sa.String(length=36), nullable=False),
        sa.Column("link_type", sa.String(), nullable=False),
        sa.Column("link_entity", sa.String(), nullable=False),
        sa.Column("taxonomy_term_id", sa.String(length=36), nullable=False),
        sa.Column("value", sa.String(), nullable=True),
        sa.Column("label", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("directory_version_id", "id"),
    )
    op.create_index(op.f("ix_attribute_link_id"), "attribute", ["link_id"], unique=False)
    op.create_table(
        "directory_version",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("services", sa.Integer(), nullable=False),
        sa.Column("inactive_services", sa.Integer(), nullable=False),
        sa.Column("organizations", sa.Integer(), nullable=False),
        sa.Column("source_records", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "directory_version_one_current",
        "directory_version",
        ["is_current"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )
    op.create_index(op.f("ix_directory_version_seq"), "directory_version", ["seq"], unique=True)
    op.create_table(
        "location",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("location_type", sa.String(), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("directory_version_id", "id"),
    )
    op.create_table(
        "organization",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("website", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("directory_version_id", "id"),
    )
    op.create_table(
        "phone",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("extension", sa.String(), nullable=True),
        sa.Column("type", sa.String(), nullable=True),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("directory_version_id", "id"),
    )
    op.create_index(op.f("ix_phone_service_id"), "phone", ["service_id"], unique=False)
    op.create_table(
        "rejected_record",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("directory_version_id", "position"),
    )
    op.create_table(
        "schedule",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("freq", sa.String(), nullable=True),
        sa.Column("byday", sa.String(), nullable=True),
        sa.Column("opens_at", sa.String(), nullable=True),
        sa.Column("closes_at", sa.String(), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("directory_version_id", "id"),
    )
    op.create_index(op.f("ix_schedule_service_id"), "schedule", ["service_id"], unique=False)
    op.create_table(
        "service",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("eligibility_description", sa.String(), nullable=True),
        sa.Column("assured_date", sa.String(), nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inactive_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("municipality", sa.String(), nullable=True),
        sa.Column("language", sa.String(), nullable=True),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("field_lineage", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'inactive', 'defunct', 'temporarily closed')", name="service_status"
        ),
        sa.CheckConstraint("length(name) > 0", name="service_name_not_empty"),
        sa.PrimaryKeyConstraint("directory_version_id", "id"),
    )
    op.create_index(op.f("ix_service_municipality"), "service", ["municipality"], unique=False)
    op.create_table(
        "service_at_location",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("directory_version_id", "id"),
    )
    op.create_index(
        op.f("ix_service_at_location_service_id"), "service_at_location", ["service_id"], unique=False
    )
    op.create_table(
        "service_domain",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("directory_version_id", "service_id", "domain"),
    )
    op.create_table(
        "service_facet",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("taxonomy", sa.String(), nullable=False),
        sa.Column("term", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("directory_version_id", "service_id", "taxonomy", "term"),
    )
    op.create_table(
        "source_record",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("directory_version_id", "service_id", "record_id"),
    )
    op.create_table(
        "synonym_group",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("directory_version_id", "position"),
    )
    op.create_table(
        "taxonomy",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("directory_version_id", "id"),
    )
    op.create_table(
        "taxonomy_term",
        sa.Column("directory_version_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("taxonomy_id", sa.String(length=36), nullable=False),
        sa.Column("taxonomy", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("directory_version_id", "id"),
    )
    if op.get_context().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE service_search USING fts5("
            "name, organization, domains, description, "
            "service_id UNINDEXED, directory_version_id UNINDEXED, prefix='3 5')"
        )
        op.execute("CREATE VIRTUAL TABLE service_search_vocabulary USING fts5vocab(service_search, 'row')")
    else:
        op.execute(
            "CREATE TABLE service_search ("
            "directory_version_id VARCHAR(36) NOT NULL, service_id VARCHAR(36) NOT NULL, "
            "document TSVECTOR NOT NULL, PRIMARY KEY (directory_version_id, service_id))"
        )
        op.execute("CREATE INDEX service_search_document ON service_search USING GIN (document)")
