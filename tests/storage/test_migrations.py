"""The migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import upgrade


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diffs == []


def test_upgrade_is_idempotent(engine):
    upgrade(engine)  # the fixture already upgraded once
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None
