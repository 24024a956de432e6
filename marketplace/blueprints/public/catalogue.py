"""(in progress)"""

from marketplace.blueprints.public.routes import bp  # noqa: F401
