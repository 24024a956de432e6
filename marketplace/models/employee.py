"""A company's register of employees (no social security number: data minimisation)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin


class ContractType:
    LABELS = {
        "cdi": "CDI",
        "cdd": "CDD",
        "interim": "Intérim",
        "apprentissage": "Contrat d'apprentissage",
        "professionnalisation": "Contrat de professionnalisation",
        "autre": "Autre",
    }


class EmployeeCategory:
    LABELS = {
        "ouvrier": "Ouvrier",
        "employe": "Employé",
        "technicien": "Technicien / agent de maîtrise",
        "cadre": "Cadre",
    }


class Employee(CreatedAtMixin, db.Model):
    """An employee; once erased at the company's request, the personal fields are blanked but the row stays
    so that enrolment history remains countable."""

    __tablename__ = "employees"
    __table_args__ = (Index("ix_employees_company_name", "company_id", "last_name", "first_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), default="")
    job_title: Mapped[str] = mapped_column(String(150), default="")
    contract_type: Mapped[str] = mapped_column(String(30), default="cdi")
    category: Mapped[str] = mapped_column(String(30), default="employe")
    erased_at: Mapped[datetime | None]

    @property
    def full_name(self) -> str:
        if self.erased_at:
            return "Salarié supprimé"
        return f"{self.first_name} {self.last_name}"

    @property
    def display_name(self) -> str:
        """« NOM Prénom », the usual order on French attendance sheets."""
        if self.erased_at:
            return "Salarié supprimé"
        return f"{self.last_name.upper()} {self.first_name}"
