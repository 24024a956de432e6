"""Importing a company's employees from a CSV file (French Excel, LibreOffice, payroll exports).

The header is recognised in French or English, with or without accents; the encoding and the separator are
guessed. A line whose email is already in the register updates that employee, other valid lines are added,
invalid lines are reported with their reason and skipped; an unreadable file is refused as a whole.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Company, ContractType, Employee, EmployeeCategory, User
from marketplace.services import audit, employees
from marketplace.services.employees import EmployeeInput
from marketplace.services.errors import DomainError
from marketplace.services.export_writer import csv_chunks

IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_MAX_LINES = 2000
TEMPLATE_FILENAME = "modele-salaries.csv"
TEMPLATE_COLUMNS = ("nom", "prénom", "email", "fonction", "contrat", "catégorie")


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
            email = employees.clean_email(_cell(row, columns, "email"))
            target = by_email.get(email) if email else None
            raw_title = _cell(row, columns, "job_title")
            clean = employees.clean_input(
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
            changed = employees.apply_changes(target, clean)
            message = (
                "Modifié : " + ", ".join(employees.FIELD_LABELS[n] for n in changed) + "."
                if changed
                else "Aucun changement."
            )
            report.lines.append(ImportLine(line_no, "updated", display, message))
            continue
        employee = Employee(company_id=company.id)
        employees.apply_changes(employee, clean)
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
