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


def test_upgrading_a_database_with_data_keeps_it(engine):
    """A database at the first schema, with a posted digest, upgrades in place."""
    from alembic import command
    from sqlalchemy import text

    from storage.db import alembic_config

    config = alembic_config(engine)
    command.downgrade(config, "0001")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO digest_message (digest_day, owner, page, pages, channel, ts, late, deadline, created_at) "
            "VALUES ('2026-11-27', '大件配送', 0, 1, 'C1', '1.0', false, '2026-11-27 10:00:00', '2026-11-27 00:30:00')"
        ))
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT owner, policy, copied, last_activity_at FROM digest_message")).one()
    assert tuple(row) == ("大件配送", "", "", None)
