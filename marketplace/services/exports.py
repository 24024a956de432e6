"""Exports as small classes that yield a header and rows; the base class renders CSV and XLSX.

CSV is written for French Excel: « ; » separator, UTF-8 with a BOM (else Excel reads it as Windows-1252),
CRLF line ends, dates jj/mm/aaaa. Cells that a spreadsheet would run as a formula (starting with = + - @)
are neutralised in both formats.
"""

from __future__ import annotations

import csv
import io
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from marketplace.formatting import date_fr, to_paris
from marketplace.models import EnrolmentStatus, TrainingSession
from marketplace.services.identifiers import format_siret
from marketplace.services.session_pages import Trainees, trainees

CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MAX_WIDTH = 50


class Exporter(ABC):
    """Subclasses set ``title``, ``filename_stem`` and ``columns`` and yield ``rows()``.

    Cell values may be ``str``, ``int``, ``date``, ``datetime`` (shown in Europe/Paris) or ``None``.
    """

    title: str = "Export"
    filename_stem: str = "export"
    columns: Sequence[str] = ()

    @abstractmethod
    def rows(self) -> Iterable[Sequence[object]]:
        """The data rows, in the order of ``columns``."""

    def filename(self, extension: str) -> str:
        return f"{self.filename_stem}.{extension}"

    # --- CSV --------------------------------------------------------------------------------------------

    @staticmethod
    def _csv_value(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            local = to_paris(value)
            return f"{local:%d/%m/%Y %H:%M}"
        if isinstance(value, date):
            return date_fr(value)
        text = str(value)
        if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
            text = "'" + text
        return text

    def to_csv(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(self.columns)
        for row in self.rows():
            writer.writerow([self._csv_value(v) for v in row])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")

    # --- XLSX -------------------------------------------------------------------------------------------

    def to_xlsx(self) -> bytes:
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "".join(c for c in self.title if c not in "[]:*?/\\")[:31] or "Export"
        widths = [len(c) for c in self.columns]
        sheet.append(list(self.columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in self.rows():
            values = []
            for value in row:
                if isinstance(value, datetime):
                    value = to_paris(value).replace(tzinfo=None)
                elif isinstance(value, str):
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)
                values.append(value)
            sheet.append(values)
            for index, cell in enumerate(sheet[sheet.max_row]):
                value = cell.value
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # text, never a formula
                if isinstance(value, datetime):
                    cell.number_format = "DD/MM/YYYY HH:MM"
                    shown = 16
                elif isinstance(value, date):
                    cell.number_format = "DD/MM/YYYY"
                    shown = 10
                else:
                    shown = len(str(value)) if value is not None else 0
                if index < len(widths):
                    widths[index] = max(widths[index], shown)
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = min(width + 2, _MAX_WIDTH)
        sheet.freeze_panes = "A2"
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()


ERASED = "Salarié supprimé"


class SessionTraineesExport(Exporter):
    """The trainees of one session with their company and the state of their enrolment.

    Order: confirmed, awaiting approval, offered a seat, waiting list (in order), then cancelled or refused.
    An employee erased at the company's request appears as « Salarié supprimé », without email.
    """

    columns = (
        "Nom",
        "Prénom",
        "E-mail",
        "Fonction",
        "Entreprise",
        "SIRET",
        "État de l'inscription",
        "Date d'inscription",
    )

    def __init__(self, session: TrainingSession, trainees: Trainees):
        self.session = session
        self.trainees = trainees
        self.title = "Stagiaires"
        self.filename_stem = f"session-{session.id}-stagiaires"

    def rows(self) -> Iterable[Sequence[object]]:
        for enrolment in self.trainees.all:
            employee = enrolment.employee
            company = enrolment.company
            if employee.erased_at is not None:
                identity = (ERASED, "", "", "")
            else:
                identity = (
                    employee.last_name.upper(),
                    employee.first_name,
                    employee.email,
                    employee.job_title,
                )
            yield (
                *identity,
                company.name,
                format_siret(company.siret),
                EnrolmentStatus.LABELS[enrolment.status],
                to_paris(enrolment.created_at).date() if enrolment.created_at else None,
            )


def session_trainees(session: TrainingSession) -> SessionTraineesExport:
    """The trainees' export of one session (its rows read in one query)."""
    return SessionTraineesExport(session, trainees(session))
