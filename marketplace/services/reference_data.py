"""Reference data shipped as CSV files under ``marketplace/reference/`` (loaded by `flask load-reference`).

Loading is an idempotent upsert keyed on each table's code: running it again after a CSV changes updates the
labels and adds the new rows. Rows that disappeared from a file are kept (organisations may point at them).

``idcc.csv`` maps each branch (IDCC) to its OPCO. The authority is France Compétences' correspondence table
(art. L6123-5 du code du travail), which cannot be downloaded from here; the shipped rows each name the public
source their OPCO comes from and its date (``source``, ``source_date``), and an obsolete code names its
successor (``replaced_by``, ``ended_on``: 0650 → 3248 on 1 January 2024). No row is added without a source.
When an operator has France Compétences' file, ``flask load-reference FICHIER`` imports it in place
(:func:`import_france_competences`).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from marketplace.extensions import db
from marketplace.formatting import sorted_fr
from marketplace.models import IdccBranch, OpcoReference, Region, Theme
from marketplace.services.errors import DomainError, InvalidIdentifier
from marketplace.services.identifiers import validate_idcc

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"

# (file, model, key column, columns copied from the file); OPCOs first, branches point at them.
_FILES: list[tuple[str, type, str, tuple[str, ...]]] = [
    ("opcos.csv", OpcoReference, "code", ("name", "sectors")),
    (
        "idcc.csv",
        IdccBranch,
        "idcc",
        ("label", "opco_code", "source", "source_date", "replaced_by", "ended_on"),
    ),
    ("regions.csv", Region, "code", ("name",)),
    ("themes.csv", Theme, "code", ("label", "system")),
]
_DATE_COLUMNS = {"source_date", "ended_on"}
_OPTIONAL_COLUMNS = {"source_date", "replaced_by", "ended_on"}


def read_csv(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _value(column: str, raw: str):
    if column in _OPTIONAL_COLUMNS and not raw:
        return None
    if column in _DATE_COLUMNS:
        return date.fromisoformat(raw)
    return raw


def load_reference_data() -> dict[str, int]:
    """Upsert the four reference files; returns the number of rows per table. The caller commits."""
    counts: dict[str, int] = {}
    for filename, model, key, columns in _FILES:
        rows = read_csv(filename)
        for row in rows:
            obj = db.session.get(model, row[key])
            if obj is None:
                obj = model(**{key: row[key]})
                db.session.add(obj)
            for column in columns:
                if column in row:
                    value = _value(column, row[column])
                    if getattr(obj, column) != value:
                        setattr(obj, column, value)
        db.session.flush()
        counts[model.__tablename__] = len(rows)
    from marketplace.services import reference_lists

    reference_lists.forget()
    return counts


def opco_choices() -> list[tuple[str, str]]:
    """The 11 OPCOs of the reference list, by name (a company states its own when its IDCC gives none)."""
    return sorted_fr(
        [(r.code, r.name) for r in db.session.scalars(db.select(OpcoReference))], key=lambda row: row[1]
    )


# --- France Compétences' correspondence table -------------------------------------------------------------

# Header names accepted for each column (compared without accents, case, spaces, « _ » or « - »).
FC_COLUMNS = {
    "idcc": ("idcc", "codeidcc", "noidcc", "numeroidcc"),
    "opco": ("opco", "operateurdecompetences", "opcoderattachement", "nomopco", "libelleopco"),
    "label": (
        "libelle",
        "intitule",
        "libelleidcc",
        "intituleidcc",
        "libelledelaconvention",
        "intituledelaconvention",
        "intituledelaconventioncollective",
        "conventioncollective",
    ),
}
# OPCO names as France Compétences and the OPCOs write them → the platform's codes (compared the same way).
_OPCO_NAMES = {
    "afdas": "afdas",
    "akto": "akto",
    "opcoentreprisesetsalariesdesservicesaforteintensitedemaindoeuvre": "akto",
    "atlas": "atlas",
    "opcoatlas": "atlas",
    "constructys": "constructys",
    "opcodelaconstruction": "constructys",
    "ocapiat": "ocapiat",
    "opco2i": "opco2i",
    "opcointerindustriel": "opco2i",
    "opcoep": "opcoep",
    "opcoentreprisesdeproximite": "opcoep",
    "opcodesentreprisesdeproximite": "opcoep",
    "opcomobilites": "mobilites",
    "opcomobilite": "mobilites",
    "mobilites": "mobilites",
    "opcosante": "sante",
    "sante": "sante",
    "lopcommerce": "opcommerce",
    "opcommerce": "opcommerce",
    "opcocommerce": "opcommerce",
    "uniformation": "uniformation",
    "uniformationlopcodelacohesionsociale": "uniformation",
}


def _key(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in plain if ch.isalnum())


def opco_code_for_name(name: str) -> str | None:
    """The platform's code of an OPCO named as in France Compétences' table (« OPCO 2i » → « opco2i »)."""
    key = _key(name)
    if key in _OPCO_NAMES:
        return _OPCO_NAMES[key]
    return key if db.session.get(OpcoReference, key) is not None else None


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError("Le fichier n'est ni en UTF-8 ni en Windows-1252.")


def import_france_competences(data: bytes, *, source: str, source_date: date) -> ImportReport:
    """Import France Compétences' IDCC → OPCO correspondence table, in place of the shipped rows it covers.

    Expected file: CSV (separator « ; » or « , », UTF-8 or Windows-1252), one row per branch, with a header
    naming at least the columns ``IDCC`` and ``OPCO`` (the OPCO's name, e.g. « OPCO 2i », « AKTO »,
    « L'Opcommerce ») and optionally the label (``Libellé`` / ``Intitulé`` de la convention). Each imported
    row records ``source`` and ``source_date``. A row whose IDCC or OPCO is not recognised is reported and
    skipped; the rest is imported. Obsolete codes keep their successor. The caller commits.
    """
    text = _decode(data)
    first_line = text.splitlines()[0] if text else ""
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise DomainError("Le fichier est vide.")
    positions: dict[str, int] = {}
    keys = [_key(name) for name in header]
    for column, aliases in FC_COLUMNS.items():
        for index, key in enumerate(keys):
            if key in aliases:
                positions[column] = index
                break
    missing = [name.upper() for name in ("idcc", "opco") if name not in positions]
    if missing:
        raise DomainError(
            f"Colonne(s) absente(s) de l'en-tête : {', '.join(missing)} (en-tête lu : {'; '.join(header)})."
        )

    report = ImportReport()
    for number, row in enumerate(reader, start=2):
        if not any(value.strip() for value in row):
            continue
        values = {name: row[index].strip() if index < len(row) else "" for name, index in positions.items()}
        cell = values.get
        try:
            idcc = validate_idcc(cell("idcc"))
        except InvalidIdentifier as error:
            report.errors.append(f"Ligne {number} : {error.message}")
            continue
        opco_code = opco_code_for_name(cell("opco"))
        if opco_code is None:
            report.errors.append(f"Ligne {number} : OPCO « {values['opco']} » inconnu (IDCC {idcc}).")
            continue
        branch = db.session.get(IdccBranch, idcc)
        label = cell("label", "")
        if branch is None:
            db.session.add(
                IdccBranch(
                    idcc=idcc,
                    label=label or f"IDCC {idcc}",
                    opco_code=opco_code,
                    source=source[:400],
                    source_date=source_date,
                )
            )
            report.added += 1
            continue
        if branch.opco_code == opco_code and (not label or branch.label == label):
            report.unchanged += 1
            continue
        branch.opco_code = opco_code
        if label:
            branch.label = label[:300]
        branch.source, branch.source_date = source[:400], source_date
        report.updated += 1
    db.session.flush()
    return report
