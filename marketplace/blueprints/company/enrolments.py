"""(in progress)"""

from marketplace.blueprints.company.routes import bp  # noqa: F401
