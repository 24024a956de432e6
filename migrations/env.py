"""Alembic environment for Flask-Migrate.

One history for SQLite and PostgreSQL:
- the engine is the app's ``db.engine`` (Flask-SQLAlchemy 3; the generated ``get_engine()`` is deprecated);
- ``render_as_batch=True`` so that ALTERs on SQLite are done by copying the table (batch mode);
- the metadata carries the naming convention from ``marketplace.extensions.NAMING_CONVENTION``, so every
  constraint has a stable name that batch mode and downgrades can find on both databases;
- ``compare_type=True`` so a changed column type shows up in the next autogenerate.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config

# Logging from alembic.ini for the command line; the test app keeps pytest's log capture untouched.
if config.config_file_name is not None and not current_app.testing:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
engine = target_db.engine
config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def get_metadata():
    # The model metadata, with the naming convention (see marketplace/extensions.py).
    return target_db.metadata


def _configure_args() -> dict:
    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("render_as_batch", True)
    args.setdefault("compare_type", True)
    # The text-search index (FTS5 tables, trigram indexes) is made by hand in its migration, not by models.
    from marketplace.services.search_index import include_name

    args.setdefault("include_name", include_name)
    return args


def run_migrations_offline():
    """Emit SQL to the script output instead of running it (``flask db upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=get_metadata(),
        literal_binds=True,
        **_configure_args(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        # `flask db migrate` with no model change writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = _configure_args()
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # create_app turns foreign keys on for every SQLite connection. Batch mode rebuilds a table by
            # copy / drop / rename, and dropping a referenced table with enforcement on would delete or
            # refuse rows; the pragma only takes effect outside a transaction, so set it before beginning.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
