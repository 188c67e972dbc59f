"""Alembic environment: migrations run programmatically (``app.db.upgrade``) or by ``gmopt db upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool, text

from app.models import Base

MIGRATION_LOCK_ID = 746_601  # any constant: serialises concurrent start-ups on one PostgreSQL database


def run_migrations_online() -> None:
    config = context.config
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": MIGRATION_LOCK_ID})
            context.run_migrations()


run_migrations_online()
