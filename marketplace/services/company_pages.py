"""Read models of the company's own pages: what its dashboard shows and the choices of the catalogue search.

Kept out of the views so that a page's figures are one service call (and testable without a request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today, sorted_fr
from marketplace.models import Company, Employee, IdccBranch, Membership, OpcoReference
from marketplace.services import dashboards, reference_lists


@dataclass
class DashboardPage:
    branch: IdccBranch | None  # the company's IDCC, when known to the reference tables
    reference_opco: OpcoReference | None  # the OPCO its branch belongs to, even if not on the platform yet
    members: int  # people in the company's team (to suggest inviting a colleague)
    board: dashboards.CompanyDashboard
    employees: int  # employees in the register, erased ones excluded


def dashboard_page(company: Company, now: datetime) -> DashboardPage:
    """The company's dashboard: its OPCO attachment, enrolment figures and what to do next."""
    branch = db.session.get(IdccBranch, company.idcc) if company.idcc else None
    reference_opco = db.session.get(OpcoReference, branch.opco_code) if branch else None
    members = db.session.scalar(
        select(func.count(Membership.id)).where(Membership.organisation_id == company.id)
    )
    employees = db.session.scalar(
        select(func.count(Employee.id)).where(Employee.company_id == company.id, Employee.erased_at.is_(None))
    )
    return DashboardPage(
        branch=branch,
        reference_opco=reference_opco,
        members=int(members or 0),
        board=dashboards.company_dashboard(company.id, paris_today(now), now),
        employees=int(employees or 0),
    )


@dataclass
class CatalogueChoices:
    themes: list[tuple[str, str]]  # (code, label) by label
    regions: list[tuple[str, str]]  # (code, name) by name


def catalogue_choices() -> CatalogueChoices:
    """The themes and regions offered by the catalogue search form."""
    themes = sorted_fr(reference_lists.themes(), key=lambda t: t.label)
    return CatalogueChoices(
        [(t.code, t.label) for t in themes], [tuple(r) for r in reference_lists.regions()]
    )
