"""Sample objects for the route-walking isolation test, one module per capability.

Each module defines ``add_samples(make, tenant) -> dict[str, int]``: for the tenant (``tenant.kind``,
``tenant.org``, ``tenant.admin``), create objects owned by it and return URL parameter name -> object id
(e.g. ``{"session_id": 3}``). The isolation test then requests every route carrying that parameter with
another tenant's object and expects 404. Modules are discovered automatically.
"""

import importlib
import pkgutil


def sample_modules():
    for info in pkgutil.iter_modules(__path__):
        yield importlib.import_module(f"{__name__}.{info.name}")
