"""Alembic environment for the monitoring store: migrations run on the connection ``open_store`` passes in."""

from alembic import context

from veganalign.monitor.store import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # run from the alembic command line: connect to sqlalchemy.url
    from sqlalchemy import create_engine

    connection = create_engine(context.config.get_main_option("sqlalchemy.url")).connect()
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
