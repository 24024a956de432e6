"""A company's register of employees: add, edit, erase at the company's request, list, and import from CSV.

Personal data is kept to the minimum (no social security number) and never copied into the audit trail,
which cannot be erased: audit events name the employee by id and list the fields changed, not their values.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

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
from marketplace.services.export_writer import csv_chunks
from marketplace.services.pagination import paginate
from marketplace.services.search import clean_text
from marketplace.services.text import has_control

NAME_MAX = 100
JOB_TITLE_MAX = 150
EMAIL_MAX = 254
PER_PAGE = 25
ERASED_PLACEHOLDER = "—"

IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_MAX_LINES = 2000
TEMPLATE_FILENAME = "modele-salaries.csv"
TEMPLATE_COLUMNS = ("nom", "prénom", "email", "fonction", "contrat", "catégorie")


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


def _clean_email(raw: str | None) -> str:
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


def _clean(data: EmployeeInput) -> EmployeeInput:
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
    email = checks.run(_clean_email, data.email)
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


def _apply(employee: Employee, clean: EmployeeInput) -> list[str]:
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
    clean = _clean(data)
    _check_email_free(company.id, clean.email)
    employee = Employee(company_id=company.id)
    _apply(employee, clean)
    db.session.add(employee)
    db.session.flush()
    audit.record("employee.created", organisation_id=company.id, actor=actor, obj=employee)
    return employee


def update_employee(employee: Employee, data: EmployeeInput, actor: User | None) -> Employee:
    """Change an employee's details with the same rules as on creation; an erased employee cannot be edited."""
    if employee.erased_at is not None:
        raise DomainError("Ce salarié a été supprimé du registre : sa fiche ne peut plus être modifiée.")
    clean = _clean(data)
    _check_email_free(employee.company_id, clean.email, exclude_id=employee.id)
    changed = _apply(employee, clean)
    if changed:
        db.session.flush()
        audit.record(
            "employee.updated",
            organisation_id=employee.company_id,
            actor=actor,
            obj=employee,
            data={"champs": ", ".join(_FIELD_LABELS[name] for name in changed)},
        )
    return employee


_FIELD_LABELS = {
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


# --- CSV import ------------------------------------------------------------------------------------------


def _key(text: str) -> str:
    """Lower case, no accents, letters and digits only: « E-mail » and « Catégorie » become email, categorie."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]", "", plain)


_HEADERS = {
    "last_name": ("nom", "nomdefamille", "nomdusalarie", "nomdenaissance", "nomdusage"),
    "first_name": ("prenom", "prenomdusalarie"),
    "email": (
        "email",
        "mail",
        "courriel",
        "adresseemail",
        "adressemail",
        "adressecourriel",
        "emailprofessionnel",
        "mailprofessionnel",
        "courrielprofessionnel",
        "adresseemailprofessionnelle",
    ),
    "job_title": ("fonction", "poste", "intituledeposte", "intituleduposte", "emploi", "metier"),
    "contract_type": ("contrat", "typedecontrat", "naturedecontrat", "natureducontrat"),
    "category": ("categorie", "categorieprofessionnelle", "categoriesocioprofessionnelle", "csp", "statut"),
}
_HEADER_FIELD = {alias: name for name, aliases in _HEADERS.items() for alias in aliases}
_COLUMN_NAMES = {
    "last_name": "nom",
    "first_name": "prénom",
    "email": "email",
    "job_title": "fonction",
    "contract_type": "contrat",
    "category": "catégorie",
}


def _value_map(labels: dict[str, str], aliases: dict[str, str]) -> dict[str, str]:
    mapping = {_key(code): code for code in labels}
    mapping.update({_key(label): code for code, label in labels.items()})
    mapping.update({_key(alias): code for alias, code in aliases.items()})
    return mapping


_CONTRACTS = _value_map(
    ContractType.LABELS,
    {
        "contrat à durée indéterminée": "cdi",
        "contrat à durée déterminée": "cdd",
        "intérimaire": "interim",
        "travail temporaire": "interim",
        "apprenti": "apprentissage",
        "apprentie": "apprentissage",
        "contrat pro": "professionnalisation",
    },
)
_CATEGORIES = _value_map(
    EmployeeCategory.LABELS,
    {
        "ouvrière": "ouvrier",
        "ouvriers": "ouvrier",
        "employée": "employe",
        "employés": "employe",
        "techniciens": "technicien",
        "technicienne": "technicien",
        "agent de maîtrise": "technicien",
        "TAM": "technicien",
        "ETAM": "technicien",
        "cadres": "cadre",
        "ingénieur et cadre": "cadre",
        "ingénieurs et cadres": "cadre",
    },
)


@dataclass
class ImportLine:
    line: int
    status: str  # created, updated, error
    name: str = ""
    message: str = ""

    STATUS_LABELS = {"created": "Ajouté", "updated": "Mis à jour", "error": "Erreur"}

    @property
    def status_label(self) -> str:
        return self.STATUS_LABELS[self.status]


@dataclass
class ImportReport:
    lines: list[ImportLine] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ";"
    ignored_columns: list[str] = field(default_factory=list)

    def _count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)

    @property
    def created(self) -> int:
        return self._count("created")

    @property
    def updated(self) -> int:
        return self._count("updated")

    @property
    def errors(self) -> int:
        return self._count("error")

    @property
    def delimiter_label(self) -> str:
        return {";": "point-virgule", ",": "virgule", "\t": "tabulation"}[self.delimiter]


_UNREADABLE = (
    "Ce fichier n'est pas un fichier CSV lisible. Dans Excel, choisissez « Enregistrer sous » puis "
    "« CSV (séparateur : point-virgule) » ou « CSV UTF-8 », ou partez du modèle à télécharger."
)


def _decode(file_bytes: bytes) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 (French Excel)."""
    if file_bytes.startswith(b"PK\x03\x04"):
        raise DomainError(
            "Ce fichier est un classeur Excel (.xlsx), pas un fichier CSV. Dans Excel, choisissez « Enregistrer "
            "sous » puis « CSV (séparateur : point-virgule) ».",
            field="file",
        )
    if file_bytes.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif file_bytes.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        try:
            file_bytes.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
    try:
        text = file_bytes.decode(encoding)
    except UnicodeDecodeError:
        raise DomainError(_UNREADABLE, field="file") from None
    # Binary content (an image, a PDF, a zip) decodes as cp1252 but is full of control characters.
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t")
    if "\x00" in text or controls > max(3, len(text) // 100):
        raise DomainError(_UNREADABLE, field="file")
    label = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252"}[encoding]
    return text, label


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _map_header(header: list[str]) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        name = _HEADER_FIELD.get(_key(raw))
        if name is None:
            if raw.strip():
                ignored.append(raw.strip())
            continue
        if name in columns:
            raise DomainError(
                f"La colonne « {_COLUMN_NAMES[name]} » apparaît deux fois dans la première ligne : "
                "gardez-en une seule.",
                field="file",
            )
        columns[name] = index
    missing = [_COLUMN_NAMES[name] for name in ("last_name", "first_name") if name not in columns]
    if missing:
        if not columns:
            raise DomainError(
                "La première ligne du fichier doit contenir les intitulés des colonnes : "
                + " ; ".join(TEMPLATE_COLUMNS)
                + ". Partez du modèle à télécharger.",
                field="file",
            )
        raise DomainError(
            "Colonne"
            + ("s" if len(missing) > 1 else "")
            + " obligatoire"
            + ("s" if len(missing) > 1 else "")
            + " absente"
            + ("s" if len(missing) > 1 else "")
            + " : "
            + ", ".join(f"« {m} »" for m in missing)
            + ". Ajoutez-la dans la première ligne du fichier.",
            field="file",
        )
    return columns, ignored


def _read_rows(file_bytes: bytes) -> tuple[dict[str, int], list[tuple[int, list[str]]], ImportReport]:
    """Parse the file or refuse it as a whole (nothing is imported from an unreadable file)."""
    if not file_bytes or not file_bytes.strip():
        raise DomainError("Le fichier est vide.", field="file")
    if len(file_bytes) > IMPORT_MAX_BYTES:
        raise DomainError(
            "Le fichier dépasse 1 Mo. Découpez-le en plusieurs fichiers de 2 000 lignes au plus.",
            field="file",
        )
    text, encoding = _decode(file_bytes)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = _sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    next_start = 1
    try:
        for row in reader:
            start, next_start = next_start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = row
                continue
            rows.append((start, row))
            if len(rows) > IMPORT_MAX_LINES:
                raise DomainError(
                    f"Le fichier contient plus de {IMPORT_MAX_LINES:,} lignes de salariés".replace(
                        ",", "\u202f"
                    )
                    + ". Découpez-le en plusieurs fichiers.",
                    field="file",
                )
    except csv.Error:
        raise DomainError(_UNREADABLE, field="file") from None
    if header is None:
        raise DomainError("Le fichier est vide.", field="file")
    columns, ignored = _map_header(header)
    if not rows:
        raise DomainError(
            "Le fichier ne contient aucune ligne de salarié sous la ligne des intitulés.", field="file"
        )
    report = ImportReport(encoding=encoding, delimiter=delimiter, ignored_columns=ignored)
    return columns, rows, report


def _cell(row: list[str], columns: dict[str, int], name: str) -> str | None:
    """The cell's trimmed text, or None when the column is absent or the cell empty."""
    index = columns.get(name)
    if index is None or index >= len(row):
        return None
    return row[index].strip() or None


def _coded(
    raw: str | None, mapping: dict[str, str], labels: dict[str, str], what: str, field_name: str
) -> str | None:
    if raw is None:
        return None
    code = mapping.get(_key(raw))
    if code is None:
        raise DomainError(
            f"{what} « {raw} » inconnu{'e' if what == 'Catégorie' else ''} : indiquez "
            + ", ".join(labels.values())
            + ".",
            field=field_name,
        )
    return code


def import_employees(company: Company, file_bytes: bytes, actor: User | None) -> ImportReport:
    """Import a CSV register: each line is checked like the form; a line whose email is already in the
    register updates that employee, other valid lines are added, invalid lines are reported and skipped.
    An unreadable file (encoding, header, size) is refused as a whole. Empty cells keep the current value
    (or the default for a new employee)."""
    columns, rows, report = _read_rows(file_bytes)
    existing = list(
        db.session.scalars(
            select(Employee).where(Employee.company_id == company.id, Employee.erased_at.is_(None))
        )
    )
    by_email = {e.email.lower(): e for e in existing if e.email}
    names = {(_key(e.last_name), _key(e.first_name)) for e in existing}
    seen_emails: dict[str, int] = {}
    created: list[Employee] = []
    for line_no, row in rows:
        raw_last, raw_first = _cell(row, columns, "last_name"), _cell(row, columns, "first_name")
        display = " ".join(p for p in ((raw_last or "").upper(), raw_first or "") if p)
        try:
            contract = _coded(
                _cell(row, columns, "contract_type"),
                _CONTRACTS,
                ContractType.LABELS,
                "Contrat",
                "contract_type",
            )
            category = _coded(
                _cell(row, columns, "category"), _CATEGORIES, EmployeeCategory.LABELS, "Catégorie", "category"
            )
            email = _clean_email(_cell(row, columns, "email"))
            target = by_email.get(email) if email else None
            raw_title = _cell(row, columns, "job_title")
            clean = _clean(
                EmployeeInput(
                    last_name=raw_last or "",
                    first_name=raw_first or "",
                    email=email,
                    job_title=raw_title if raw_title is not None else (target.job_title if target else ""),
                    contract_type=contract or (target.contract_type if target else "cdi"),
                    category=category or (target.category if target else "employe"),
                )
            )
            if email and email in seen_emails:
                raise DomainError(
                    f"L'adresse {email} figure déjà à la ligne {seen_emails[email]} du fichier.",
                    field="email",
                )
        except DomainError as error:
            report.lines.append(ImportLine(line_no, "error", display, error.message))
            continue
        if email:
            seen_emails[email] = line_no
        display = f"{clean.last_name.upper()} {clean.first_name}"
        if target is not None:
            changed = _apply(target, clean)
            message = (
                "Modifié : " + ", ".join(_FIELD_LABELS[n] for n in changed) + "."
                if changed
                else "Aucun changement."
            )
            report.lines.append(ImportLine(line_no, "updated", display, message))
            continue
        employee = Employee(company_id=company.id)
        _apply(employee, clean)
        db.session.add(employee)
        created.append(employee)
        if email:
            by_email[email] = employee
        key = (_key(clean.last_name), _key(clean.first_name))
        message = ""
        if key in names:
            message = "Un salarié porte déjà ce nom : vérifiez qu'il ne s'agit pas d'un doublon."
        names.add(key)
        report.lines.append(ImportLine(line_no, "created", display, message))
    db.session.flush()
    audit.record(
        "employee.imported",
        organisation_id=company.id,
        actor=actor,
        data={"ajoutés": report.created, "mis à jour": report.updated, "erreurs": report.errors},
    )
    return report


def template_csv() -> bytes:
    """The import template: header line only, written like every export (``export_writer``: semicolons, a BOM,
    CRLF) so that French Excel opens it correctly."""
    return b"".join(csv_chunks(TEMPLATE_COLUMNS, ()))


__all__ = [
    "EmployeeInput",
    "EmployeePage",
    "EmployeeRow",
    "ImportLine",
    "ImportReport",
    "active_enrolment_count",
    "create_employee",
    "employee_choices",
    "employees_by_ids",
    "erase_employee",
    "import_employees",
    "list_employees",
    "template_csv",
    "update_employee",
]
