"""(in progress)"""

from marketplace.blueprints.provider.routes import bp  # noqa: F401
