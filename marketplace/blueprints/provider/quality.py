"""Training organisation: « Qualité » (its satisfaction results per action and session, its complaints)."""

from marketplace.blueprints import quality
from marketplace.blueprints.provider.routes import bp
from marketplace.services.roles import Perm

quality.register(bp, "provider", Perm.VIEW_DASHBOARD, Perm.MANAGE_SESSIONS)
