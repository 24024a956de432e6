"""A company's register of employees: add, edit, erase at the company's request, list (the CSV import is in
:mod:`employee_import`).

Personal data is kept to the minimum (no social security number) and never copied into the audit trail,
which cannot be erased: audit events name the employee by id and list the fields changed, not their values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select

from marketplace.extensions import db
from marketplace.models import (
    Company,
    ContractType,
    Employee,
    EmployeeCategory,
    Enrolment,
    EnrolmentStatus,
    User,
    utcnow,
)
from marketplace.services import audit
from marketplace.services.errors import Collect, DomainError, InvalidForm
from marketplace.services.pagination import paginate
from marketplace.services.search import clean_text
from marketplace.services.text import has_control

NAME_MAX = 100
JOB_TITLE_MAX = 150
EMAIL_MAX = 254
PER_PAGE = 25
ERASED_PLACEHOLDER = "—"


@dataclass
class EmployeeInput:
    last_name: str = ""
    first_name: str = ""
    email: str = ""
    job_title: str = ""
    contract_type: str = "cdi"
    category: str = "employe"


# --- Validation ------------------------------------------------------------------------------------------


def _printable(value: str, field_name: str, what: str) -> str:
    """Control characters (NUL…) are no part of a name: refused here rather than by the database."""
    if has_control(value):
        raise DomainError(f"{what} contient des caractères non autorisés.", field=field_name)
    return value


def _clean_name(raw: str | None, field_name: str, what: str) -> str:
    value = " ".join((raw or "").split())
    if not value:
        raise DomainError(f"Indiquez le {what} du salarié.", field=field_name)
    if len(value) > NAME_MAX:
        raise DomainError(f"Le {what} ne peut pas dépasser {NAME_MAX} caractères.", field=field_name)
    return _printable(value, field_name, f"Le {what}")


def clean_email(raw: str | None) -> str:
    value = (raw or "").strip()
    if not value:
        return ""
    try:
        value = validate_email(value, check_deliverability=False, test_environment=True).normalized.lower()
    except EmailNotValidError:
        raise DomainError(
            "Saisissez une adresse e-mail professionnelle valide, par exemple prenom.nom@entreprise.fr, "
            "ou laissez le champ vide.",
            field="email",
        ) from None
    if len(value) > EMAIL_MAX:
        raise DomainError(f"L'adresse e-mail ne peut pas dépasser {EMAIL_MAX} caractères.", field="email")
    return value


def clean_input(data: EmployeeInput) -> EmployeeInput:
    """The same rules for the form and for every line of an import; returns trimmed, normalised values.
    Every wrong field is reported at once (``InvalidForm``; an import line shows them all)."""
    checks = Collect()
    job_title = " ".join((data.job_title or "").split())
    if len(job_title) > JOB_TITLE_MAX:
        checks.errors["job_title"] = f"La fonction ne peut pas dépasser {JOB_TITLE_MAX} caractères."
    else:
        checks.run(_printable, job_title, "job_title", "La fonction")
    if data.contract_type not in ContractType.LABELS:
        checks.errors["contract_type"] = (
            "Choisissez un type de contrat parmi : " + ", ".join(ContractType.LABELS.values()) + "."
        )
    if data.category not in EmployeeCategory.LABELS:
        checks.errors["category"] = (
            "Choisissez une catégorie parmi : " + ", ".join(EmployeeCategory.LABELS.values()) + "."
        )
    last_name = checks.run(_clean_name, data.last_name, "last_name", "nom")
    first_name = checks.run(_clean_name, data.first_name, "first_name", "prénom")
    email = checks.run(clean_email, data.email)
    if checks.failed:
        errors = dict(checks.errors)
        # One message naming every problem, for an import line; the form shows each at its field.
        refusal = InvalidForm(errors)
        refusal.message = " ".join(errors.values())
        raise refusal
    return EmployeeInput(
        last_name=last_name,
        first_name=first_name,
        email=email,
        job_title=job_title,
        contract_type=data.contract_type,
        category=data.category,
    )


def _duplicate_email_error(email: str) -> DomainError:
    return DomainError(
        f"Un autre salarié du registre a déjà l'adresse {email}. Chaque adresse ne peut servir qu'une fois.",
        field="email",
    )


def _check_email_free(company_id: int, email: str, exclude_id: int | None = None) -> None:
    if not email:
        return
    query = select(Employee.id).where(
        Employee.company_id == company_id, Employee.erased_at.is_(None), func.lower(Employee.email) == email
    )
    if exclude_id is not None:
        query = query.where(Employee.id != exclude_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise _duplicate_email_error(email)


_FIELDS = ("last_name", "first_name", "email", "job_title", "contract_type", "category")


def apply_changes(employee: Employee, clean: EmployeeInput) -> list[str]:
    """Copy the cleaned values; return the names of the fields that changed (for the audit trail)."""
    changed = []
    for name in _FIELDS:
        value = getattr(clean, name)
        if getattr(employee, name, None) != value:
            setattr(employee, name, value)
            changed.append(name)
    return changed


# --- One employee ----------------------------------------------------------------------------------------


def create_employee(company: Company, data: EmployeeInput, actor: User | None) -> Employee:
    """Add an employee to the register; the professional email, when given, is unique in the register."""
    clean = clean_input(data)
    _check_email_free(company.id, clean.email)
    employee = Employee(company_id=company.id)
    apply_changes(employee, clean)
    db.session.add(employee)
    db.session.flush()
    audit.record("employee.created", organisation_id=company.id, actor=actor, obj=employee)
    return employee


def update_employee(employee: Employee, data: EmployeeInput, actor: User | None) -> Employee:
    """Change an employee's details with the same rules as on creation; an erased employee cannot be edited."""
    if employee.erased_at is not None:
        raise DomainError("Ce salarié a été supprimé du registre : sa fiche ne peut plus être modifiée.")
    clean = clean_input(data)
    _check_email_free(employee.company_id, clean.email, exclude_id=employee.id)
    changed = apply_changes(employee, clean)
    if changed:
        db.session.flush()
        audit.record(
            "employee.updated",
            organisation_id=employee.company_id,
            actor=actor,
            obj=employee,
            data={"champs": ", ".join(FIELD_LABELS[name] for name in changed)},
        )
    return employee


FIELD_LABELS = {
    "last_name": "nom",
    "first_name": "prénom",
    "email": "e-mail",
    "job_title": "fonction",
    "contract_type": "contrat",
    "category": "catégorie",
}


def active_enrolment_count(employee: Employee) -> int:
    """Enrolments still alive (awaiting approval, confirmed, on the waiting list, offered a seat)."""
    return int(
        db.session.scalar(
            select(func.count(Enrolment.id)).where(
                Enrolment.employee_id == employee.id, Enrolment.status.in_(EnrolmentStatus.ACTIVE)
            )
        )
        or 0
    )


def erase_employee(employee: Employee, actor: User | None) -> Employee:
    """Erase an employee's personal data at the company's request (RGPD). The row stays, anonymous, so that
    past enrolments remain countable; refused while an enrolment is still alive."""
    if employee.erased_at is not None:
        raise DomainError("Ce salarié a déjà été supprimé du registre.")
    if active_enrolment_count(employee):
        raise DomainError(
            "Ce salarié a des inscriptions en cours : annulez d'abord ses inscriptions en cours, "
            "puis supprimez-le du registre."
        )
    employee.last_name = ERASED_PLACEHOLDER
    employee.first_name = ERASED_PLACEHOLDER
    employee.email = ""
    employee.job_title = ""
    employee.erased_at = utcnow()
    db.session.flush()
    audit.record("employee.erased", organisation_id=employee.company_id, actor=actor, obj=employee)
    return employee


# --- Reading ---------------------------------------------------------------------------------------------


@dataclass
class EmployeeRow:
    employee: Employee
    active_enrolments: int


@dataclass
class EmployeePage:
    rows: list[EmployeeRow]
    total: int
    page: int
    pages: int


def list_employees(
    company: Company,
    q: str | None = None,
    include_erased: bool = False,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> EmployeePage:
    """The register ordered by last name, searched on names and email (every word must match), one page,
    each employee with the number of live enrolments. Two queries whatever the number of rows."""
    query = select(Employee).where(Employee.company_id == company.id)
    if not include_erased:
        query = query.where(Employee.erased_at.is_(None))
    for term in clean_text(q, 200).split()[:5]:
        term = term.lower()
        query = query.where(
            or_(
                func.lower(Employee.last_name).contains(term, autoescape=True),
                func.lower(Employee.first_name).contains(term, autoescape=True),
                func.lower(Employee.email).contains(term, autoescape=True),
            )
        )
    live = (
        select(Enrolment.employee_id, func.count(Enrolment.id).label("n"))
        .where(Enrolment.company_id == company.id, Enrolment.status.in_(EnrolmentStatus.ACTIVE))
        .group_by(Enrolment.employee_id)
        .subquery()
    )
    result = paginate(
        query.add_columns(func.coalesce(live.c.n, 0))
        .outerjoin(live, live.c.employee_id == Employee.id)
        .order_by(
            Employee.erased_at.is_not(None),
            func.lower(Employee.last_name),
            func.lower(Employee.first_name),
            Employee.id,
        ),
        page,
        per_page,
        scalars=False,
    )
    rows = [EmployeeRow(e, int(n)) for e, n in result.items]
    return EmployeePage(rows, result.total, result.page, result.pages)


def employee_choices(company: Company) -> list[Employee]:
    """Employees that may be enrolled: the company's, not erased, ordered by last then first name."""
    return list(
        db.session.scalars(
            select(Employee)
            .where(Employee.company_id == company.id, Employee.erased_at.is_(None))
            .order_by(func.lower(Employee.last_name), func.lower(Employee.first_name), Employee.id)
        )
    )


def employees_by_ids(company: Company, ids: Iterable[int]) -> list[Employee]:
    """Re-check choices posted by a form: every id must be a non-erased employee of ``company``."""
    wanted = {int(i) for i in ids}
    if not wanted:
        return []
    found = list(
        db.session.scalars(
            select(Employee)
            .where(Employee.company_id == company.id, Employee.erased_at.is_(None), Employee.id.in_(wanted))
            .order_by(func.lower(Employee.last_name), func.lower(Employee.first_name), Employee.id)
        )
    )
    if len(found) != len(wanted):
        raise DomainError(
            "Un des salariés choisis n'est pas dans votre registre. Rechargez la page.", field="employees"
        )
    return found


__all__ = [
    "EmployeeInput",
    "EmployeePage",
    "EmployeeRow",
    "active_enrolment_count",
    "create_employee",
    "employee_choices",
    "employees_by_ids",
    "erase_employee",
    "list_employees",
    "update_employee",
]
