"""Alembic environment: runs on the connection caremap hands over (see caremap.store.migrate)."""

from alembic import context

from caremap.model import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
