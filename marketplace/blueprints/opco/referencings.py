"""(in progress)"""

from marketplace.blueprints.opco.routes import bp  # noqa: F401
