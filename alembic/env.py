"""Alembic environment: the schema is SQLModel.metadata of online_contact.models."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import online_contact.models  # noqa: F401  (registers every table)
from online_contact.config import database_url
from online_contact.services import search

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = config.attributes.get("url") or database_url()
target_metadata = SQLModel.metadata


def include_object(obj, name, type_, reflected, compare_to):
    """The transcript search index is dialect-specific and made by migration 0007, not a model."""
    return not (type_ == "table" and search.is_index_table(name))


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
