"""Web helpers shared by the blueprints: the tenant guard, access markers and template filters."""
